package delivery

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// DefaultCommandTimeout bounds one run of a Command's program.
const DefaultCommandTimeout = 30 * time.Second

// commandPath is the PATH a Command's program gets: the usual system
// directories, not the server's own environment.
const commandPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// maxStderr bounds what is kept of a program's stderr; only its first
// line is quoted.
const maxStderr = 4 << 10

// CommandOptions configure a Command.
type CommandOptions struct {
	// Path is the program: an absolute path to an executable file.
	Path string
	// Args follow the program's name, with {to} and {channel} replaced.
	// There is no placeholder for the message or the code: every local
	// user can read a command line (/proc/<pid>/cmdline), so those go on
	// stdin and in the environment only.
	Args []string
	// Timeout bounds one run (default DefaultCommandTimeout); the program
	// and everything it started in its process group are killed then.
	Timeout time.Duration
}

// Command runs a local program for each message, for a gateway that
// nothing else here speaks. The program gets m.Text on stdin and, in its
// environment, a minimal PATH and RADIUSMFA_CHANNEL, RADIUSMFA_TO,
// RADIUSMFA_MESSAGE, RADIUSMFA_CODE and RADIUSMFA_SUBJECT; nothing of the
// server's own environment. It runs without a shell, in / and in a
// process group of its own.
type Command struct {
	o CommandOptions
}

var _ Provider = (*Command)(nil)

// NewCommand checks o, and that its program exists and is executable, and
// returns its provider.
func NewCommand(o CommandOptions) (*Command, error) {
	if o.Timeout <= 0 {
		o.Timeout = DefaultCommandTimeout
	}
	var errs []error
	if !filepath.IsAbs(o.Path) {
		errs = append(errs, fmt.Errorf("command: path %q is not absolute", o.Path))
	} else if fi, err := os.Stat(o.Path); err != nil {
		errs = append(errs, fmt.Errorf("command: %w", err))
	} else if !fi.Mode().IsRegular() || fi.Mode().Perm()&0o111 == 0 {
		errs = append(errs, fmt.Errorf("command: %s is not an executable file", o.Path))
	}
	for i, a := range o.Args {
		for _, p := range []string{"{code}", "{message}", "{text}"} {
			if strings.Contains(a, p) {
				errs = append(errs, fmt.Errorf("command: argument %d: no %s placeholder: a command line is readable by every local user; the program reads stdin or RADIUSMFA_MESSAGE and RADIUSMFA_CODE", i+1, p))
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	o.Args = append([]string(nil), o.Args...)
	return &Command{o: o}, nil
}

func (c *Command) Name() string { return "command" }

// Send runs the program once for m. Exit status 0 is success; otherwise
// the error gives the status and the first line of stderr, cleared of the
// code.
func (c *Command) Send(ctx context.Context, m Message) error {
	if err := checkMessage("command", m, SMS, Voice, Email); err != nil {
		return err
	}
	if strings.HasPrefix(m.To, "-") {
		// It would read as an option wherever {to} is an argument.
		return fail(nil, "command: the destination starts with \"-\"")
	}
	ctx, cancel := context.WithTimeout(ctx, c.o.Timeout)
	defer cancel()

	r := strings.NewReplacer("{to}", m.To, "{channel}", string(m.Channel))
	args := make([]string, len(c.o.Args))
	for i, a := range c.o.Args {
		args[i] = r.Replace(a)
	}
	cmd := exec.CommandContext(ctx, c.o.Path, args...)
	cmd.Dir = "/"
	cmd.Env = []string{commandPath,
		"RADIUSMFA_CHANNEL=" + string(m.Channel),
		"RADIUSMFA_TO=" + m.To,
		"RADIUSMFA_MESSAGE=" + m.Text,
		"RADIUSMFA_CODE=" + m.Code,
		"RADIUSMFA_SUBJECT=" + m.Subject,
	}
	cmd.Stdin = strings.NewReader(m.Text)
	var stderr headBuffer
	cmd.Stderr = &stderr
	// Its own process group, so that a timeout kills whatever the program
	// started too, not the program alone.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return killGroup(cmd.Process) }
	// A child left running with our stderr must not hold Wait open.
	cmd.WaitDelay = time.Second

	err := cmd.Run()
	name := filepath.Base(c.o.Path)
	var ee *exec.ExitError
	switch {
	case err == nil, errors.Is(err, exec.ErrWaitDelay):
		return nil // exit status 0; a child may still hold stderr
	case ctx.Err() != nil:
		return fail(ctx.Err(), "command: %s killed: %v", name, ctx.Err())
	case errors.As(err, &ee):
		if line := firstLine(stderr.String()); line != "" {
			return fail(nil, "command: %s: %v: %s", name, ee, quote(line, m))
		}
		return fail(nil, "command: %s: %v", name, ee)
	}
	return fail(nil, "command: %s", quote(err.Error(), m))
}

// killGroup kills p's process group, which Setpgid made p's pid.
func killGroup(p *os.Process) error {
	err := syscall.Kill(-p.Pid, syscall.SIGKILL)
	if errors.Is(err, syscall.ESRCH) {
		return os.ErrProcessDone
	}
	return err
}

// firstLine is the first line of s that is not blank.
func firstLine(s string) string {
	for line := range strings.Lines(s) {
		if line = strings.TrimSpace(line); line != "" {
			return line
		}
	}
	return ""
}

// headBuffer keeps the first maxStderr bytes written to it and drops the
// rest, without failing the writer: a chatty program should not be cut
// off by a broken pipe.
type headBuffer struct {
	b []byte
}

func (h *headBuffer) Write(p []byte) (int, error) {
	if room := maxStderr - len(h.b); room > 0 {
		h.b = append(h.b, p[:min(room, len(p))]...)
	}
	return len(p), nil
}

func (h *headBuffer) String() string { return string(h.b) }
