package integration

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"layeh.com/radius"
)

const totpPeriod = 30 // seconds

// account is a built-in directory user with one authenticator app.
type account struct {
	Name, Password string
	Secret         string   // base32, as `totp enroll --json` printed it
	oathFlags      []string // oathtool flags matching the enrollment
	usedStep       int64    // newest TOTP step the server accepted (0: none)
}

// enrollment is the JSON `radiusmfa totp enroll --json` prints.
type enrollment struct {
	ID     string `json:"id"`
	Secret string `json:"secret"`
	URI    string `json:"uri"`
}

// newAccount adds user name with a password and enrolls an authenticator app
// (extra flags go to `totp enroll`, e.g. --digits 8 --algorithm SHA256).
func (s *server) newAccount(t *testing.T, name string, enrollFlags ...string) *account {
	t.Helper()
	a := &account{Name: name, Password: "pw-" + name + "-Secret9"}
	s.mustCLI(t, a.Password+"\n", "user", "add", name)
	args := append([]string{"totp", "enroll", name, "--json"}, enrollFlags...)
	out := s.mustCLI(t, "", args...)
	var e enrollment
	if err := json.Unmarshal([]byte(out), &e); err != nil || e.Secret == "" || e.ID == "" {
		s.fatalf(t, "totp enroll %s --json printed %q: %v", name, out, err)
	}
	if !strings.HasPrefix(e.URI, "otpauth://totp/") || !strings.Contains(e.URI, "secret="+e.Secret) {
		s.fatalf(t, "totp enroll %s: URI %q does not carry the secret", name, e.URI)
	}
	a.Secret = e.Secret
	a.oathFlags = oathFlags(enrollFlags)
	return a
}

// oathFlags maps `totp enroll` flags to oathtool's.
func oathFlags(enroll []string) []string {
	flags := []string{"--totp"}
	for i := 0; i+1 < len(enroll); i++ {
		switch enroll[i] {
		case "--digits":
			flags = append(flags, "-d", enroll[i+1])
		case "--algorithm":
			flags[0] = "--totp=" + strings.ToLower(enroll[i+1])
		}
	}
	return flags
}

// totpCode is a code and the time step it belongs to.
type totpCode struct {
	Code string
	Step int64
}

// code returns the current code from oathtool. If the server already accepted
// this step's code, it first waits for the next step (at most 30 s, and only
// then): a fresh code is needed and each step's code works once.
func (a *account) code(t *testing.T) totpCode {
	t.Helper()
	now := time.Now()
	if step := now.Unix() / totpPeriod; step <= a.usedStep {
		next := time.Unix((a.usedStep+1)*totpPeriod, 0).Add(50 * time.Millisecond)
		t.Logf("%s: step %d already used; waiting %s for the next TOTP step", a.Name, step, time.Until(next).Round(time.Millisecond))
		time.Sleep(time.Until(next))
		now = time.Now()
	}
	codes := a.oathtool(t, now.Unix(), 0)
	return totpCode{Code: codes[0], Step: now.Unix() / totpPeriod}
}

// accepted records that the server took c, so the next code waits a step.
func (a *account) accepted(c totpCode) { a.usedStep = max(a.usedStep, c.Step) }

// wrongCode returns a well-formed code that is valid in none of the steps the
// server may accept now (the current one and one either side).
func (a *account) wrongCode(t *testing.T) string {
	t.Helper()
	now := time.Now().Unix()
	valid := a.oathtool(t, now-2*totpPeriod, 4) // five steps around now: margin for skew
	n, _ := strconv.Atoi(valid[0])
	width := len(valid[0])
	mod := 1
	for range width {
		mod *= 10
	}
	for i := 1; ; i++ {
		c := fmt.Sprintf("%0*d", width, (n+i*104729)%mod)
		if !slices.Contains(valid, c) {
			return c
		}
	}
}

// oathtool returns the codes of window+1 steps starting at unix time at.
func (a *account) oathtool(t *testing.T, at int64, window int) []string {
	t.Helper()
	args := append(slices.Clone(a.oathFlags), "-w", strconv.Itoa(window), "-N", "@"+strconv.FormatInt(at, 10), "-b", a.Secret)
	out, err := exec.Command("oathtool", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("oathtool %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	codes := strings.Fields(string(out))
	if len(codes) != window+1 {
		t.Fatalf("oathtool %s printed %q", strings.Join(args, " "), out)
	}
	return codes
}

// auditRecord is one line of `radiusmfa audit tail --json`.
type auditRecord struct {
	Seq     uint64 `json:"seq"`
	Kind    string `json:"kind"`
	User    string `json:"user"`
	Client  string `json:"client"`
	Outcome string `json:"outcome"`
	Reason  string `json:"reason"`
	Factor  string `json:"factor"`
	Detail  string `json:"detail"`
}

func (r auditRecord) String() string {
	return fmt.Sprintf("#%d %s user=%q client=%q outcome=%s reason=%s factor=%s detail=%q",
		r.Seq, r.Kind, r.User, r.Client, r.Outcome, r.Reason, r.Factor, r.Detail)
}

// auditTail returns the newest n audit records, oldest first.
func (s *server) auditTail(t *testing.T, n int) []auditRecord {
	t.Helper()
	out := s.mustCLI(t, "", "audit", "tail", "--json", "-n", strconv.Itoa(n))
	var recs []auditRecord
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		var r auditRecord
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			s.fatalf(t, "audit tail --json: line %q: %v", sc.Text(), err)
		}
		recs = append(recs, r)
	}
	return recs
}

// authRecords returns the "auth" audit records of user, oldest first.
func (s *server) authRecords(t *testing.T, user string) []auditRecord {
	t.Helper()
	var out []auditRecord
	for _, r := range s.auditTail(t, 1000) {
		if r.Kind == "auth" && r.User == user {
			out = append(out, r)
		}
	}
	return out
}

// waitAuthRecords polls the audit log (written in the background, in
// batches) until user has at least n auth records, and returns them.
func (s *server) waitAuthRecords(t *testing.T, user string, n int) []auditRecord {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		recs := s.authRecords(t, user)
		if len(recs) >= n {
			return recs
		}
		if time.Now().After(deadline) {
			s.fatalf(t, "audit: %d auth record(s) of %q after 5 s, want %d: %v", len(recs), user, n, recs)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// expectAudit waits for the n-th auth record of user and checks its reason
// and outcome.
func (s *server) expectAudit(t *testing.T, user string, n int, outcome, reason string) {
	t.Helper()
	recs := s.waitAuthRecords(t, user, n)
	r := recs[n-1]
	if !strings.EqualFold(r.Outcome, outcome) || r.Reason != reason {
		s.fatalf(t, "audit record %d of %q: %v; want outcome=%s reason=%s (all: %v)", n, user, r, outcome, reason, recs)
	}
}

// waitAuditKind waits for audit records of kind about user (named in the
// user field or the detail) and returns them.
func (s *server) waitAuditKind(t *testing.T, kind, user string) []auditRecord {
	t.Helper()
	var found []auditRecord
	poll(t, s, fmt.Sprintf("an audit record of kind %s for %s", kind, user), func() bool {
		found = found[:0]
		for _, r := range s.auditTail(t, 1000) {
			if r.Kind == kind && (r.User == user || strings.Contains(r.Detail, user)) {
				found = append(found, r)
			}
		}
		return len(found) > 0
	})
	return found
}

var markers atomic.Int64

// settleAudit returns once every decision made so far is in the audit log:
// it sends a request for a marker user and waits for that record, which the
// single background writer stores after every earlier one.
func (s *server) settleAudit(t *testing.T) {
	t.Helper()
	marker := fmt.Sprintf("audit-marker-%d", markers.Add(1))
	conn := dialUDP(t, s.authAddr(t))
	req := accessRequest(t, radius.CodeAccessRequest, marker, "x,000000")
	s.mustReply(t, req, conn.exchange(t, req))
	s.waitAuthRecords(t, marker, 1)
}

// expectSingleDecision checks that the engine decided for user exactly once,
// with the given outcome and reason.
func (s *server) expectSingleDecision(t *testing.T, user, outcome, reason string) {
	t.Helper()
	s.expectAudit(t, user, 1, outcome, reason)
	s.settleAudit(t)
	if recs := s.authRecords(t, user); len(recs) != 1 {
		s.fatalf(t, "%d audit records of %q, want exactly 1: %v", len(recs), user, recs)
	}
}

// expectNoDecision checks that no request for user reached the engine.
func (s *server) expectNoDecision(t *testing.T, user string) {
	t.Helper()
	s.settleAudit(t)
	if recs := s.authRecords(t, user); len(recs) != 0 {
		s.fatalf(t, "%d audit records of %q, want none (the request should have been dropped): %v", len(recs), user, recs)
	}
}
