// Package integration drives the real radiusmfa binary end to end: it builds
// ./cmd/radiusmfa once, starts servers on loopback with configurations written
// per test, and talks to them with FreeRADIUS's radclient, oathtool and a
// small Go client (radiusd/radiustest to send, its own RFC checks to verify
// replies). No server package is imported: what the binary does on the wire,
// on disk and in its audit log is the subject.
package integration

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"radiusmfa/ldapauth/ldaptest"
)

// binPath is the radiusmfa binary built by TestMain.
var binPath string

// depsHint tells a developer how to get the external tools the tests drive.
const depsHint = "run `make test-deps` (Debian packages freeradius-utils, oathtool, slapd, ldap-utils, samba, chromium, chromium-driver, ocserv, openconnect)"

func TestMain(m *testing.M) {
	code := run(m)
	ldaptest.StopSamba() // the one Samba AD DC of this process, if a test started it
	os.Exit(code)
}

func run(m *testing.M) int {
	for _, tool := range []string{"radclient", "oathtool"} {
		if _, err := exec.LookPath(tool); err != nil {
			fmt.Fprintf(os.Stderr, "integration tests: %s not found in PATH: %s\n", tool, depsHint)
			return 1
		}
	}
	dir, err := os.MkdirTemp("", "radiusmfa-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "integration tests:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	binPath = filepath.Join(dir, "radiusmfa")
	root, err := moduleRoot()
	if err != nil {
		fmt.Fprintln(os.Stderr, "integration tests:", err)
		return 1
	}
	build := exec.Command("go", "build", "-o", binPath, "./cmd/radiusmfa")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "integration tests: building ./cmd/radiusmfa failed: %v\n%s", err, out)
		return 1
	}
	return m.Run()
}

// moduleRoot is the directory holding go.mod: go test runs in the package
// directory, two levels below it.
func moduleRoot() (string, error) {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		return "", err
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		return "", fmt.Errorf("module root: %w", err)
	}
	return root, nil
}

// runBinary runs the radiusmfa binary with a clean environment.
func runBinary(t *testing.T, stdin string, args ...string) cliResult {
	t.Helper()
	r, err := execBinary(stdin, args...)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// execBinary is runBinary for goroutines other than the test's: an error
// means the command could not run or hung, not that it exited non-zero.
func execBinary(stdin string, args ...string) (cliResult, error) {
	ctx, cancel := context.WithTimeout(context.Background(), cliTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, binPath, args...)
	cmd.Env = cleanEnv()
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	r := cliResult{Stdout: out.String(), Stderr: errb.String(), Code: cmd.ProcessState.ExitCode()}
	var exit *exec.ExitError
	if ctx.Err() != nil || (err != nil && !errors.As(err, &exit)) {
		return r, fmt.Errorf("running radiusmfa %s: %v (%v)\nstderr:\n%s", strings.Join(args, " "), err, ctx.Err(), r.Stderr)
	}
	return r, nil
}

// cleanEnv is the test's environment without RADIUSMFA_* overrides, so a
// developer's shell cannot change what the tests configure.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "RADIUSMFA_") {
			env = append(env, kv)
		}
	}
	return env
}
