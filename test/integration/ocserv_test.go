package integration

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// The ocserv tests log in through a real VPN server: openconnect talks to
// ocserv, which asks radiusmfa through radcli. radcli sends no
// Message-Authenticator, so the client does not require one; it runs in
// challenge (menu) mode, and each Access-Challenge's Reply-Message must
// reach the user as a prompt.

// ocservServerOpts is a radiusmfa whose client 127.0.0.1 is ocserv's radcli.
func ocservServerOpts() serverOpts {
	return serverOpts{RequireMA: "false", Challenge: "challenge", Enforcement: "required"}
}

// Prompts of the dialogue, as radiusmfa words them.
const (
	menuPrompt     = "Choose how to sign in"
	codePrompt     = "Enter the code"
	sentCodePrompt = "Enter the code sent"
)

// TestOcservChallengeMenuTOTP: password, the menu, its passcode option,
// then the authenticator app's code logs in: openconnect prints a cookie,
// and radiusmfa audits the accept through the localhost client with
// ocserv's NAS-Identifier.
func TestOcservChallengeMenuTOTP(t *testing.T) {
	t.Parallel()
	s := startServer(t, ocservServerOpts())
	vpn := startOcserv(t, s.authAddr(t), testSecret)
	a := s.newAccount(t, "ocserv-totp")

	var c totpCode
	res := vpn.authenticate(t, a.Name, []promptStep{
		{Expect: "Password:", Answer: a.Password},
		{Expect: menuPrompt, AnswerFunc: menuChoice("Passcode")},
		{Expect: codePrompt, AnswerFunc: func(string) (string, error) { c = a.code(t); return c.Code, nil }},
	})
	if res.Err != nil || !res.Cookie || res.ExitCode != 0 {
		s.fatalf(t, "openconnect did not log in: %v%s", res, s.stateTruncated(t, a.Name))
	}
	a.accepted(c)
	// Each Access-Challenge's Reply-Message reached the user as a prompt.
	if !strings.Contains(res.Prompts[1], menuPrompt) || !strings.Contains(res.Prompts[1], "1. Passcode (authenticator app)") {
		t.Errorf("menu prompt %q does not offer the authenticator app", res.Prompts[1])
	}
	if !strings.Contains(res.Prompts[2], "Enter the code from your authenticator app") {
		t.Errorf("code prompt %q", res.Prompts[2])
	}

	recs := s.waitAuthRecords(t, a.Name, 3)
	for i, want := range []string{"challenge", "challenge", "accept"} {
		if r := recs[i]; r.Outcome != want || r.Client != "localhost" {
			s.fatalf(t, "audit record %d of %s: %v, want outcome %s through client localhost (all: %v)", i+1, a.Name, r, want, recs)
		}
	}
	if r := recs[2]; r.Reason != "ok" || r.Factor != "totp" {
		s.fatalf(t, "accept: %v, want reason ok, factor totp", r)
	}
	if nas := s.nasIdentifiers(t, a.Name); len(nas) != 3 || slices.ContainsFunc(nas, func(n string) bool { return n != "ocserv-itest" }) {
		s.fatalf(t, "NAS-Identifiers audited for %s: %q, want ocserv's (ocserv-itest) on each", a.Name, nas)
	}
}

// TestOcservWrongCode: the same dialogue with a wrong code gives no cookie;
// openconnect reports the failure and radiusmfa audits a bad passcode.
func TestOcservWrongCode(t *testing.T) {
	t.Parallel()
	s := startServer(t, ocservServerOpts())
	vpn := startOcserv(t, s.authAddr(t), testSecret)
	a := s.newAccount(t, "ocserv-wrong")

	res := vpn.authenticate(t, a.Name, []promptStep{
		{Expect: "Password:", Answer: a.Password},
		{Expect: menuPrompt, AnswerFunc: menuChoice("Passcode")},
		{Expect: codePrompt, Answer: a.wrongCode(t)},
	})
	if res.Err != nil {
		s.fatalf(t, "openconnect: %v%s", res, s.stateTruncated(t, a.Name))
	}
	if res.Cookie || res.ExitCode == 0 || !strings.Contains(res.Stderr, "Failed to complete authentication") {
		s.fatalf(t, "a wrong code logged in, or openconnect did not report the failure: %v", res)
	}
	if hint := s.stateTruncated(t, a.Name); hint != "" {
		s.fatalf(t, "the code was refused for another reason than itself:%s", hint)
	}
	s.expectAudit(t, a.Name, 3, "reject", "bad_passcode")
}

// menuChoice answers the menu prompt with the number of the first option
// whose text contains label ("Passcode", "Push to", "Email to").
func menuChoice(label string) func(prompt string) (string, error) {
	return func(prompt string) (string, error) {
		if n, ok := menuOption(prompt, label); ok {
			return n, nil
		}
		return "", fmt.Errorf("the menu offers no %q", label)
	}
}

// menuItem finds an option's " N. " in radiusmfa's one-line menu ("Choose
// how to sign in: 1. Push to Pixel 8. 2. Passcode (authenticator app).
// Reply with …"): options follow the colon or the previous option's full
// stop, so a label's own "8. " is not one.
var menuItem = regexp.MustCompile(`[:.] (\d+)\. `)

// menuOption returns the number of the first option of the menu in prompt
// whose text contains label.
func menuOption(prompt, label string) (string, bool) {
	items := menuItem.FindAllStringSubmatchIndex(prompt, -1)
	for i, m := range items {
		end := len(prompt)
		if i+1 < len(items) {
			end = items[i+1][0]
		}
		if strings.Contains(prompt[m[1]:end], label) {
			return prompt[m[2]:m[3]], true
		}
	}
	return "", false
}

// sentCodeSteps is the dialogue of a login by a code the server sends, for
// the email-code test to come (TestOcservEmailCode, once sent codes are
// wired into the challenge menu):
//
//	res := vpn.authenticate(t, a.Name, sentCodeSteps(a.Password, "Email to", func() (string, error) {
//		// read the code from the notifytest.StartSMTP server's newest mail
//	}))
//	// want res.Cookie, and "Enter the code sent …" in res.Prompts[2]
//
// password → the menu, answered with the option whose text contains
// choice → the "Enter the code sent …" prompt, answered with what
// fetchCode returns, called only once that prompt shows, that is after
// the server has sent the code.
func sentCodeSteps(password, choice string, fetchCode func() (string, error)) []promptStep {
	return []promptStep{
		{Expect: "Password:", Answer: password},
		{Expect: menuPrompt, AnswerFunc: menuChoice(choice)},
		{Expect: sentCodePrompt, AnswerFunc: func(string) (string, error) { return fetchCode() }},
	}
}

// TestOcservMenuAnswers checks the dialogue helpers on radiusmfa's menu
// wording, sent-code options included (addresses have dots too).
func TestOcservMenuAnswers(t *testing.T) {
	t.Parallel()
	menu := "Choose how to sign in: 1. Push to Pixel 8. 2. Email to a…e@example.com. 3. Passcode (authenticator app, backup code). Reply with the number, or type your code now.\n\nPassword1:"
	for label, want := range map[string]string{"Push to": "1", "Email to": "2", "Passcode": "3", "example.com": "2"} {
		if got, ok := menuOption(menu, label); !ok || got != want {
			t.Errorf("menuOption(%q) = %q, %v; want %q", label, got, ok, want)
		}
	}
	if got, ok := menuOption(menu, "SMS to"); ok {
		t.Errorf("menuOption(SMS to) = %q, want none", got)
	}
	steps := sentCodeSteps("pw", "Email to", func() (string, error) { return "424242", nil })
	if len(steps) != 3 || steps[0].Answer != "pw" {
		t.Fatalf("sentCodeSteps: %+v", steps)
	}
	if n, err := steps[1].AnswerFunc(menu); err != nil || n != "2" {
		t.Errorf("menu answer %q, %v; want 2", n, err)
	}
	if c, err := steps[2].AnswerFunc("Enter the code sent to a…e@example.com (reply r for a new code)\n\nPassword2:"); err != nil || c != "424242" {
		t.Errorf("sent-code answer %q, %v", c, err)
	}
}

// stateTruncated explains a bad_state refusal of user's login through
// ocserv: ocserv 1.1.6 keeps the State as a C string, so it sends back only
// the bytes before the first 0x00 of a binary State.
func (s *server) stateTruncated(t *testing.T, user string) string {
	t.Helper()
	s.settleAudit(t)
	for _, r := range s.authRecords(t, user) {
		if r.Reason == "bad_state" {
			return "\nradiusmfa refused a State as bad_state: ocserv (radcli) truncates the State at its first 0x00 byte, " +
				"so a State with a zero byte cannot be answered through ocserv"
		}
	}
	return ""
}

// nasIdentifiers returns the NAS-Identifier of each auth audit record of
// user, oldest first (auditRecord does not carry it).
func (s *server) nasIdentifiers(t *testing.T, user string) []string {
	t.Helper()
	var out []string
	sc := bufio.NewScanner(strings.NewReader(s.mustCLI(t, "", "audit", "tail", "--json", "-n", "1000")))
	for sc.Scan() {
		var r struct {
			Kind          string `json:"kind"`
			User          string `json:"user"`
			NASIdentifier string `json:"nas_identifier"`
		}
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			s.fatalf(t, "audit tail --json: line %q: %v", sc.Text(), err)
		}
		if r.Kind == "auth" && r.User == user {
			out = append(out, r.NASIdentifier)
		}
	}
	return out
}

// openconnectTimeout bounds one openconnect run, prompts included: a
// prompt that never comes (or an answer never read) fails in seconds.
const openconnectTimeout = 20 * time.Second

// promptStep is one prompt openconnect shows the user and what they type.
type promptStep struct {
	// Expect is a substring of the prompt's text: the form's message (the
	// Access-Challenge's Reply-Message) or the field label ("Password:").
	Expect string
	Answer string
	// AnswerFunc, when set, computes the answer at the moment the prompt
	// appears, from its text: a menu number read from the menu, or a code
	// fetched from a mailbox only once the server has sent it.
	AnswerFunc func(prompt string) (string, error)
}

// openconnectResult is what one `openconnect --authenticate` run showed.
type openconnectResult struct {
	Stdout, Stderr string
	// Prompts holds, per answered step, what openconnect printed since the
	// previous answer: the form's message and its field label.
	Prompts  []string
	Cookie   bool  // a COOKIE= line came out: the login succeeded
	ExitCode int   // -1 when killed
	Err      error // a step's prompt never came, an answer failed, or the run timed out
}

func (r openconnectResult) String() string {
	return fmt.Sprintf("exit %d, cookie %v, err %v\n--- openconnect stdout ---\n%s--- openconnect stderr ---\n%s",
		r.ExitCode, r.Cookie, r.Err, r.Stdout, r.Stderr)
}

var cookieLine = regexp.MustCompile(`(?m)^COOKIE=`)

// authenticate runs `openconnect --authenticate` as user against o and
// plays steps in order: it waits for each prompt (its Expect text, then a
// field label waiting for input), answers it on stdin, and after the last
// one closes stdin, so a further prompt (a refused login asks again) ends
// the run instead of hanging. No --passwd-on-stdin and no --non-inter:
// openconnect, its stdin not a terminal, reads every answer, the password
// included, as a line from stdin when it prompts.
func (o *ocserv) authenticate(t *testing.T, user string, steps []promptStep) openconnectResult {
	t.Helper()
	bin := vpnTool(t, "openconnect")
	ctx, cancel := context.WithTimeout(context.Background(), openconnectTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "--protocol=anyconnect", "--authenticate", "--no-proxy",
		"--servercert", o.Pin, "--user", user, o.URL)
	cmd.Env = append(cleanEnv(), "LC_ALL=C.UTF-8") // English prompts; UTF-8 shows the masks (•••) as sent
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderrPipe, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", bin, err)
	}
	stderr := newPromptReader(stderrPipe)

	var res openconnectResult
	for i, st := range steps {
		prompt, err := stderr.waitPrompt(ctx, st.Expect)
		if err != nil {
			res.Err = fmt.Errorf("step %d: waiting for a prompt with %q: %w", i+1, st.Expect, err)
			break
		}
		res.Prompts = append(res.Prompts, prompt)
		answer := st.Answer
		if st.AnswerFunc != nil {
			if answer, err = st.AnswerFunc(prompt); err != nil {
				res.Err = fmt.Errorf("step %d: answering %q: %w", i+1, prompt, err)
				break
			}
		}
		if _, err := io.WriteString(stdin, answer+"\n"); err != nil {
			res.Err = fmt.Errorf("step %d: writing the answer: %w", i+1, err)
			break
		}
	}
	stdin.Close()
	if res.Err != nil {
		cancel() // openconnect may be waiting for an answer that will not come
	}
	<-stderr.eof // Wait closes the pipe: read it to the end first
	err = cmd.Wait()
	res.Stdout, res.Stderr = stdout.String(), stderr.String()
	res.ExitCode = cmd.ProcessState.ExitCode()
	res.Cookie = cookieLine.MatchString(res.Stdout)
	var exit *exec.ExitError
	if res.Err == nil && ctx.Err() != nil {
		res.Err = fmt.Errorf("openconnect still running after %s: killed", openconnectTimeout)
	} else if res.Err == nil && err != nil && !errors.As(err, &exit) {
		res.Err = err
	}
	return res
}

// promptReader collects openconnect's stderr, where it prints the forms'
// messages and field labels, and tells when a prompt waits for input.
type promptReader struct {
	mu   sync.Mutex
	buf  strings.Builder
	seen int           // end of what the previous prompt consumed
	wake chan struct{} // a read arrived (buffered, coalesced)
	eof  chan struct{} // closed at the end of the stream
}

func newPromptReader(r io.Reader) *promptReader {
	p := &promptReader{wake: make(chan struct{}, 1), eof: make(chan struct{})}
	go func() {
		defer close(p.eof)
		chunk := make([]byte, 4096)
		for {
			n, err := r.Read(chunk)
			p.mu.Lock()
			p.buf.Write(chunk[:n])
			p.mu.Unlock()
			select {
			case p.wake <- struct{}{}:
			default:
			}
			if err != nil {
				return
			}
		}
	}()
	return p
}

// waitPrompt waits until the output since the previous prompt contains
// expect and then ends in a field label ("Password:", "Password1:"): the
// client prints the label without a newline and reads its answer. It
// returns that output.
func (p *promptReader) waitPrompt(ctx context.Context, expect string) (string, error) {
	for {
		ended := closed(p.eof) // before reading: then the buffer below is complete
		p.mu.Lock()
		all := p.buf.String()
		seg := all[p.seen:]
		if i := strings.Index(seg, expect); i >= 0 && endsInLabel(seg[i:]) {
			p.seen = len(all)
			p.mu.Unlock()
			return strings.TrimSpace(seg), nil
		}
		p.mu.Unlock()
		if ended {
			return "", fmt.Errorf("openconnect ended its output first; it printed after the previous answer:\n%s", seg)
		}
		select {
		case <-p.wake:
		case <-p.eof:
		case <-ctx.Done():
			return "", fmt.Errorf("%w; openconnect printed after the previous answer:\n%s", ctx.Err(), seg)
		}
	}
}

// endsInLabel reports whether s ends in a field label waiting for input:
// a last line ending in ':', with no newline after it yet.
func endsInLabel(s string) bool {
	return strings.HasSuffix(strings.TrimRight(s, " "), ":")
}

func closed(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

func (p *promptReader) String() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.buf.String()
}
