// Command radiusmfa is the radiusmfa server and its administration tool.
//
//	radiusmfa serve          run the RADIUS server
//	radiusmfa check-config   validate the configuration and exit
//	radiusmfa user ...       manage users: passwords, locks, roles, enrollment reset
//	radiusmfa totp ...       enroll and manage authenticator apps
//	radiusmfa device ...     list, disable and enable a user's devices
//	radiusmfa phone add ...  add a phone that gets codes by text message or call
//	radiusmfa email add ...  add an email address that gets codes
//	radiusmfa bypass USER    issue a temporary code for a user without their device
//	radiusmfa mfa show|set   who must use a second factor (run-time settings)
//	radiusmfa audit tail     show recent decisions and admin actions
//	radiusmfa bench          load-test a server over RADIUS
//
// Every subcommand takes --config FILE (or RADIUSMFA_CONFIG).
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
)

// version is set by the Makefile with -ldflags.
var version = "dev"

// cli carries the process's streams and environment, so tests run commands
// in process.
type cli struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	env            []string
}

func main() {
	c := &cli{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, env: os.Environ()}
	os.Exit(c.run(os.Args[1:]))
}

const usage = `usage: radiusmfa <command> [--config FILE] [flags]

commands:
  serve                         run the RADIUS server
  check-config                  validate the configuration and exit
  user add|passwd|del|list|lock|unlock NAME
  user show NAME [--json]       a user's state, roles, devices and recent activity
  user reset NAME --yes         remove every device of a user (they enroll again)
  user roles NAME [ROLE...]     show or set console roles: admin, helpdesk, none
  totp enroll|list|remove USER  authenticator apps (TOTP)
  device list USER [--json]     every device of a user: apps, backup and bypass codes
  device disable|enable USER ID
                                block a lost device without deleting it, or unblock it
  phone add USER NUMBER [--voice] [--label L]
                                a phone that gets codes by text message (by call with --voice)
  email add USER ADDRESS [--label L]
                                an email address that gets codes
  bypass USER [--uses N] [--ttl 1h]
                                a temporary code for a user without their device
  mfa show [--json]             MFA enforcement: mode, group and client modes, deadline, methods
  mfa set [--mode M] [--group NAME=MODE]... [--client NAME=MODE]...
          [--deadline T|none] [--methods LIST|all]
                                change them; what no flag names is kept
  ldap check                    test every directory server: connection, TLS, service account
  ldap test USER [--client C]   bind as USER (password on stdin), show DN, groups, policy, reply attributes
  audit tail [-n N] [--user U] [--kind K] [--outcome O] [--since T]
                                recent decisions and admin actions
  bench                         load-test a running server over RADIUS
  version                       print the version

Run 'radiusmfa <command> -h' for a command's flags.
`

// errUsage means the command line was wrong; the message was printed.
var errUsage = errors.New("usage")

func (c *cli) run(args []string) int {
	if len(args) == 0 {
		fmt.Fprint(c.stderr, usage)
		return 2
	}
	var err error
	switch args[0] {
	case "serve":
		err = c.serve(args[1:])
	case "check-config":
		err = c.checkConfig(args[1:])
	case "user":
		err = c.user(args[1:])
	case "totp":
		err = c.totp(args[1:])
	case "device":
		err = c.device(args[1:])
	case "phone":
		err = c.phone(args[1:])
	case "email":
		err = c.email(args[1:])
	case "bypass":
		err = c.bypass(args[1:])
	case "mfa":
		err = c.mfa(args[1:])
	case "audit":
		err = c.audit(args[1:])
	case "ldap":
		err = c.ldap(args[1:])
	case "bench":
		err = c.bench(args[1:])
	case "version":
		fmt.Fprintln(c.stdout, "radiusmfa", version)
	case "help", "-h", "--help":
		fmt.Fprint(c.stdout, usage)
	default:
		fmt.Fprintf(c.stderr, "radiusmfa: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	switch {
	case err == nil:
		return 0
	case errors.Is(err, errUsage), errors.Is(err, flag.ErrHelp):
		return 2
	default:
		fmt.Fprintf(c.stderr, "radiusmfa %s: %v\n", args[0], err)
		return 1
	}
}

// flags returns a FlagSet with the --config flag every subcommand shares.
func (c *cli) flags(name string) (*flag.FlagSet, *string) {
	fs := flag.NewFlagSet("radiusmfa "+name, flag.ContinueOnError)
	fs.SetOutput(c.stderr)
	cfg := fs.String("config", "", "configuration file (default $RADIUSMFA_CONFIG)")
	return fs, cfg
}

// parse parses flags allowing them after positional arguments too
// ("user add alice --config x.yaml"). A bad flag is a usage error: the
// flag package has printed it with the flags.
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); errors.Is(err, flag.ErrHelp) {
			return nil, err
		} else if err != nil {
			return nil, fmt.Errorf("%w: %v", errUsage, err)
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}
