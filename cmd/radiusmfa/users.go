package main

import (
	"bufio"
	"cmp"
	"errors"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"golang.org/x/term"

	"radiusmfa/auth"
)

const cmdTimeout = 30 * time.Second

const userUsage = "usage: radiusmfa user add|passwd|del|list|lock|unlock|show|reset|roles [NAME] [--config FILE]"

func (c *cli) user(args []string) error {
	if len(args) == 0 {
		fmt.Fprintln(c.stderr, userUsage)
		return errUsage
	}
	sub := args[0]
	switch sub {
	case "show":
		return c.userShow(args[1:])
	case "reset":
		return c.userReset(args[1:])
	case "roles":
		return c.userRoles(args[1:])
	case "add", "passwd", "del", "list", "lock", "unlock":
	default:
		fmt.Fprintf(c.stderr, "radiusmfa user: unknown subcommand %q\n%s\n", sub, userUsage)
		return errUsage
	}
	fs, cfgPath := c.flags("user " + sub)
	fs.Usage = func() {
		fmt.Fprintf(c.stderr, "usage: radiusmfa user %s", sub)
		if sub != "list" {
			fmt.Fprint(c.stderr, " NAME")
		}
		fmt.Fprintln(c.stderr, " [--config FILE]")
		if sub == "add" || sub == "passwd" {
			fmt.Fprintln(c.stderr, "The password is read from standard input, or prompted for without echo on a terminal.")
		}
		fs.PrintDefaults()
	}
	pos, err := parse(fs, args[1:])
	if err != nil {
		return err
	}
	want := 1
	if sub == "list" {
		want = 0
	}
	if len(pos) != want {
		fs.Usage()
		return errUsage
	}
	api, ctx, done, err := c.openAPI(*cfgPath)
	if err != nil {
		return err
	}
	defer done()
	switch sub {
	case "add", "passwd":
		pw, err := c.readPassword()
		if err != nil {
			return err
		}
		if sub == "add" {
			err = api.AddUser(ctx, pos[0], pw)
		} else {
			err = api.SetPassword(ctx, pos[0], pw)
		}
		if err != nil {
			return err
		}
		name, _ := auth.NormalizeUserName(pos[0])
		fmt.Fprintf(c.stdout, "user %s: password set\n", name)
	case "del":
		err = api.DeleteUser(ctx, pos[0])
	case "lock":
		err = api.LockUser(ctx, pos[0])
	case "unlock":
		err = api.UnlockUser(ctx, pos[0])
	case "list":
		users, err := api.ListUsers(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tDIRECTORY\tSTATE\tFAILURES\tDEVICES\tCREATED\tMAIL\tPHONE")
		for _, u := range users {
			state := "active"
			switch {
			case u.Disabled:
				state = "locked-by-admin"
			case u.LockedOut:
				state = "locked-out"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%s\t%s\t%s\n", u.Name, u.Directory, state, u.Failures, u.Devices,
				u.CreatedAt.Format(time.DateOnly), cmp.Or(u.Profile.Mail, "-"), cmp.Or(u.Profile.Phone, "-"))
		}
		return tw.Flush()
	}
	return err
}

// readPassword prompts twice without echo on a terminal, or reads one line
// from standard input otherwise (for scripts: echo pw | radiusmfa user add).
func (c *cli) readPassword() (string, error) {
	return c.promptPassword(true)
}

// promptPassword prompts without echo on a terminal (twice when confirm is
// set), or reads one line from standard input.
func (c *cli) promptPassword(confirm bool) (string, error) {
	if f, ok := c.stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprint(c.stderr, "Password: ")
		a, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(c.stderr)
		if err != nil || !confirm {
			return string(a), err
		}
		fmt.Fprint(c.stderr, "Again: ")
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(c.stderr)
		if err != nil {
			return "", err
		}
		if string(a) != string(b) {
			return "", errors.New("passwords do not match")
		}
		return string(a), nil
	}
	line, err := bufio.NewReader(c.stdin).ReadString('\n')
	if err != nil && line == "" {
		return "", errors.New("no password on standard input")
	}
	return strings.TrimRight(line, "\r\n"), nil
}
