package main

import (
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"radiusmfa/auth"
)

// userShow prints what the console's user page shows.
func (c *cli) userShow(args []string) error {
	fs, cfgPath := c.flags("user show")
	asJSON := fs.Bool("json", false, "print machine-readable JSON")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		fmt.Fprintln(c.stderr, "usage: radiusmfa user show NAME [--json] [--config FILE]")
		return errUsage
	}
	api, ctx, done, err := c.openAPI(*cfgPath)
	if err != nil {
		return err
	}
	defer done()
	d, err := api.UserDetail(ctx, pos[0])
	if err != nil {
		return err
	}
	if *asJSON {
		return json.NewEncoder(c.stdout).Encode(d)
	}
	state := "active"
	switch {
	case d.Disabled:
		state = "locked-by-admin"
	case d.LockedOut:
		state = "locked-out"
	}
	tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	row := func(k, v string) {
		if v != "" {
			fmt.Fprintf(tw, "%s:\t%s\n", k, v)
		}
	}
	row("Name", d.Name)
	row("Directory", d.Directory)
	row("State", state)
	row("Roles", cmp.Or(strings.Join(d.Roles, ", "), "none"))
	row("Failures", fmt.Sprint(d.Failures))
	row("Created", d.CreatedAt.Local().Format(time.DateTime))
	row("Display name", d.Profile.DisplayName)
	row("Mail", d.Profile.Mail)
	row("Phone", d.Profile.Phone)
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "\nDevices (%d):\n", len(d.DeviceList))
	if err := writeDevices(c.stdout, d.DeviceList); err != nil {
		return err
	}
	fmt.Fprintln(c.stdout, "\nRecent activity:")
	for _, r := range d.RecentAudit {
		fmt.Fprintf(c.stdout, "%s %-8s outcome=%s client=%q %s\n", r.Time.Local().Format(time.DateTime),
			r.Kind, r.Outcome, r.Client, r.Detail)
	}
	return nil
}

// userReset removes every device of a user, who enrolls again. It asks
// no question: without --yes it refuses and says how many devices would go.
func (c *cli) userReset(args []string) error {
	fs, cfgPath := c.flags("user reset")
	yes := fs.Bool("yes", false, "remove every device of the user (required)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		fmt.Fprintln(c.stderr, "usage: radiusmfa user reset NAME --yes [--config FILE]")
		return errUsage
	}
	api, ctx, done, err := c.openAPI(*cfgPath)
	if err != nil {
		return err
	}
	defer done()
	name, _ := auth.NormalizeUserName(pos[0])
	if !*yes {
		devs, err := api.ListDevices(ctx, pos[0])
		if err != nil {
			return err
		}
		return fmt.Errorf("this removes all %d device(s) of %s (authenticator apps, backup and bypass codes); "+
			"to go ahead, run: radiusmfa user reset %s --yes", len(devs), name, name)
	}
	n, err := api.ResetEnrollment(ctx, pos[0])
	if err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "user %s: removed %d device(s); they must enroll again\n", name, n)
	return nil
}

// userRoles shows a built-in user's console roles, or sets them ("none"
// takes every role away).
func (c *cli) userRoles(args []string) error {
	fs, cfgPath := c.flags("user roles")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) == 0 || (slices.Contains(pos[1:], "none") && len(pos) != 2) {
		fmt.Fprintln(c.stderr, "usage: radiusmfa user roles NAME [admin|helpdesk ... | none] [--config FILE]")
		return errUsage
	}
	api, ctx, done, err := c.openAPI(*cfgPath)
	if err != nil {
		return err
	}
	defer done()
	if len(pos) > 1 {
		roles := pos[1:]
		if roles[0] == "none" {
			roles = nil
		}
		if err := api.SetRoles(ctx, pos[0], roles); err != nil {
			return err
		}
	}
	d, err := api.UserDetail(ctx, pos[0])
	if err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "user %s: roles %s\n", d.Name, cmp.Or(strings.Join(d.Roles, ","), "none"))
	return nil
}
