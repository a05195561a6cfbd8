// Command benchslapd runs a throw-away OpenLDAP slapd for `make bench`:
// the ldaptest directory (see ldapauth/ldaptest) with -users load users
// load0001.. (password pw-load0001..), on free loopback ports, from a
// temporary directory it removes on exit.
//
//	benchslapd [-users N] [-debug LEVEL] -- COMMAND [ARG...]
//
// runs COMMAND while slapd is up, with {url}, {ldaps_url}, {ca},
// {base_dn}, {bind_dn}, {bind_password} and {slapd_pid} in its arguments
// replaced, then stops slapd and exits with COMMAND's status. Without a
// command it prints the same values as KEY=VALUE lines and serves until
// SIGINT, SIGTERM or the end of standard input. Either way slapd never
// outlives this process.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"syscall"

	"radiusmfa/ldapauth/ldaptest"
)

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	fs := flag.NewFlagSet("benchslapd", flag.ContinueOnError)
	users := fs.Int("users", 2000, "load users load0001.. to add")
	debug := fs.String("debug", "", `slapd's -d level ("stats" logs every operation to slapd.log in the directory)`)
	keep := fs.Bool("keep", false, "keep the directory (with slapd.log) instead of removing it")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *users < 0 {
		fmt.Fprintln(os.Stderr, "benchslapd: -users must not be negative")
		return 2
	}
	dir, err := os.MkdirTemp("", "benchslapd-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchslapd:", err)
		return 1
	}
	if *keep {
		fmt.Fprintln(os.Stderr, "benchslapd: keeping", dir)
	} else {
		defer os.RemoveAll(dir)
	}
	s, err := ldaptest.StartSlapdStandalone(dir, ldaptest.SlapdOptions{LoadUsers: *users, Debug: *debug})
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchslapd:", err)
		return 1
	}
	defer s.Stop()
	fmt.Fprintf(os.Stderr, "benchslapd: slapd %s up with %d load users in %s\n", s.LDAPSURL, *users, s.StartTime.Round(1e6))
	vals := values(s)
	if fs.NArg() == 0 {
		return serve(s, vals)
	}
	return runCommand(fs.Args(), vals)
}

// values are what the placeholders and the KEY=VALUE lines carry.
func values(s *ldaptest.Slapd) [][2]string {
	return [][2]string{
		{"url", s.URL},
		{"ldaps_url", s.LDAPSURL},
		{"ca", s.CAFile},
		{"base_dn", s.BaseDN},
		{"bind_dn", s.BindDN},
		{"bind_password", s.BindPassword},
		{"slapd_pid", strconv.Itoa(s.PID())},
	}
}

// expand replaces every {name} of vals in each argument.
func expand(args []string, vals [][2]string) []string {
	pairs := make([]string, 0, 2*len(vals))
	for _, v := range vals {
		pairs = append(pairs, "{"+v[0]+"}", v[1])
	}
	r := strings.NewReplacer(pairs...)
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = r.Replace(a)
	}
	return out
}

// runCommand runs argv with the placeholders filled in, passing on SIGINT
// and SIGTERM, and returns its exit status.
func runCommand(argv []string, vals [][2]string) int {
	argv = expand(argv, vals)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(sigs)
	if err := cmd.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "benchslapd:", err)
		return 1
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	for {
		select {
		case sig := <-sigs:
			_ = cmd.Process.Signal(sig)
		case err := <-done:
			var ee *exec.ExitError
			switch {
			case err == nil:
				return 0
			case errors.As(err, &ee) && ee.ExitCode() > 0:
				return ee.ExitCode()
			default:
				fmt.Fprintln(os.Stderr, "benchslapd:", argv[0]+":", err)
				return 1
			}
		}
	}
}

// serve prints the values and waits for a signal, the end of standard
// input or slapd's own exit.
func serve(s *ldaptest.Slapd, vals [][2]string) int {
	for _, v := range vals {
		fmt.Printf("LDAP_%s=%s\n", strings.ToUpper(v[0]), v[1])
	}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	eof := make(chan struct{})
	go func() { _, _ = io.Copy(io.Discard, os.Stdin); close(eof) }()
	select {
	case <-sigs:
	case <-eof:
	case <-s.Exited():
		fmt.Fprintln(os.Stderr, "benchslapd: slapd exited; its log:", s.LogFile)
		return 1
	}
	return 0
}
