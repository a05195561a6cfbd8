package delivery

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// script writes an executable shell script to a temp dir and returns its
// path. Tests here do not run in parallel: a fork while another test's
// script is open for writing would make exec fail with "text file busy".
func script(t *testing.T, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "send.sh")
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"+body), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

func commandFor(t *testing.T, o CommandOptions) *Command {
	t.Helper()
	c, err := NewCommand(o)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestCommandPassesTheCodeOffTheCommandLine: the program gets the code on
// stdin and in its environment, never in its arguments, which every local
// user can read.
func TestCommandPassesTheCodeOffTheCommandLine(t *testing.T) {
	t.Setenv("RADIUSMFA_TEST_INHERITED", "leak")
	out := filepath.Join(t.TempDir(), "out")
	path := script(t, `out=$1; shift
{
  printf 'args:'; for a in "$@"; do printf ' [%s]' "$a"; done; printf '\n'
  printf 'stdin:'; cat; printf '\n'
  printf 'pwd: %s\n' "$(pwd)"
  env
} > "$out"
`)
	c := commandFor(t, CommandOptions{Path: path, Args: []string{out, "--to", "{to}", "--via={channel}", "{subject}"}})
	m := codeMessage(SMS, "+15855550123")
	m.Text += "\nsecond line"
	if err := send(t, c, m); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	got := string(b)
	args, rest, _ := strings.Cut(got, "\n")
	if args != "args: [--to] [+15855550123] [--via=sms] [{subject}]" {
		t.Errorf("%s", args)
	}
	if strings.Contains(args, testCode) {
		t.Errorf("the code is on the command line: %s", args)
	}
	if !strings.HasPrefix(rest, "stdin:"+m.Text+"\n") {
		t.Errorf("stdin is not the message:\n%s", rest)
	}
	for _, want := range []string{
		"pwd: /\n",
		"\nPATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n",
		"\nRADIUSMFA_CHANNEL=sms\n",
		"\nRADIUSMFA_CODE=" + testCode + "\n",
		"\nRADIUSMFA_MESSAGE=" + m.Text + "\n",
		"\nRADIUSMFA_SUBJECT=" + m.Subject + "\n",
		"\nRADIUSMFA_TO=+15855550123\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("no %q in\n%s", want, got)
		}
	}
	if strings.Contains(got, "RADIUSMFA_TEST_INHERITED") || strings.Contains(got, "HOME=") {
		t.Errorf("the server's environment leaked in:\n%s", got)
	}
}

func TestCommandFailure(t *testing.T) {
	path := script(t, `cat >/dev/null
echo >&2
echo "gateway: message '$RADIUSMFA_MESSAGE' with code $RADIUSMFA_CODE refused" >&2
echo "second line" >&2
exit 3
`)
	m := codeMessage(SMS, "+15855550123")
	err := send(t, commandFor(t, CommandOptions{Path: path}), m)
	checkSecretFree(t, err, m)
	for _, want := range []string{"send.sh", "exit status 3", "gateway: message '[message]' with code [code] refused"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%v: no %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "second line") {
		t.Errorf("more than the first line: %v", err)
	}
}

// TestCommandTimeoutKillsTheGroup: at the timeout the program and what it
// started are killed, and Send returns then, not when they would end.
func TestCommandTimeoutKillsTheGroup(t *testing.T) {
	pidFile := filepath.Join(t.TempDir(), "pid")
	path := script(t, `sleep 30 &
echo $! > "$1"
wait
`)
	c := commandFor(t, CommandOptions{Path: path, Args: []string{pidFile}, Timeout: 300 * time.Millisecond})
	start := time.Now()
	m := codeMessage(SMS, "+15855550123")
	err := send(t, c, m)
	checkSecretFree(t, err, m)
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "killed") {
		t.Errorf("%v, want a kill at the deadline", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Send returned after %v", d)
	}
	b, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(3 * time.Second); alive(pid); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
			t.Fatalf("the script's child %d outlived the timeout", pid)
		}
	}
}

// alive reports a process that exists and is not a zombie (a killed
// orphan waits as one until init reaps it).
func alive(pid int) bool {
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	_, after, _ := strings.Cut(string(stat), ") ")
	return !strings.HasPrefix(after, "Z") && !strings.HasPrefix(after, "X")
}

func TestCommandRespectsContext(t *testing.T) {
	c := commandFor(t, CommandOptions{Path: script(t, "exec sleep 30\n")})
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(200*time.Millisecond, cancel)
	start := time.Now()
	err := c.Send(ctx, codeMessage(SMS, "+15855550123"))
	if !errors.Is(err, context.Canceled) || time.Since(start) > 5*time.Second {
		t.Errorf("after %v: %v, want the caller's cancel", time.Since(start), err)
	}
}

func TestCommandRefusesAnOptionAsDestination(t *testing.T) {
	out := filepath.Join(t.TempDir(), "ran")
	c := commandFor(t, CommandOptions{Path: script(t, `touch "$1"`), Args: []string{out, "{to}"}})
	m := codeMessage(Email, "-oProxyCommand=x@example.com")
	if err := send(t, c, m); err == nil {
		t.Error("sent to a destination that reads as an option")
	}
	if _, err := os.Stat(out); err == nil {
		t.Error("the program ran")
	}
}

func TestNewCommandChecks(t *testing.T) {
	dir := t.TempDir()
	exe := script(t, "exit 0\n")
	plain := filepath.Join(dir, "plain")
	if err := os.WriteFile(plain, []byte("#!/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		o    CommandOptions
		want string // "" for success
	}{
		{"ok", CommandOptions{Path: exe, Args: []string{"{to}", "{channel}"}}, ""},
		{"relative", CommandOptions{Path: "send.sh"}, "not absolute"},
		{"missing", CommandOptions{Path: filepath.Join(dir, "nope")}, "no such file"},
		{"not executable", CommandOptions{Path: plain}, "not an executable file"},
		{"directory", CommandOptions{Path: dir}, "not an executable file"},
		{"code in args", CommandOptions{Path: exe, Args: []string{"--code={code}"}}, "argument 1: no {code} placeholder"},
		{"message in args", CommandOptions{Path: exe, Args: []string{"x", "{message}"}}, "argument 2: no {message} placeholder"},
	}
	for _, tt := range tests {
		c, err := NewCommand(tt.o)
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%s: %v", tt.name, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("%s: %v, want an error about %q", tt.name, err, tt.want)
		case tt.name == "ok" && c.o.Timeout != DefaultCommandTimeout:
			t.Errorf("timeout %v", c.o.Timeout)
		}
	}
}
