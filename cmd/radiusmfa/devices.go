package main

import (
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"radiusmfa/admin"
	"radiusmfa/auth"
)

const deviceUsage = "usage: radiusmfa device list USER [--json] | device disable|enable USER ID [--config FILE]"

// device lists a user's devices of every kind and disables a lost or
// stolen one (or enables it again) without deleting it.
func (c *cli) device(args []string) error {
	if len(args) == 0 {
		fmt.Fprintln(c.stderr, deviceUsage)
		return errUsage
	}
	sub := args[0]
	fs, cfgPath := c.flags("device " + sub)
	asJSON := fs.Bool("json", false, "print machine-readable JSON")
	pos, err := parse(fs, args[1:])
	if err != nil {
		return err
	}
	want := map[string]int{"list": 1, "disable": 2, "enable": 2}[sub]
	if want == 0 {
		fmt.Fprintf(c.stderr, "radiusmfa device: unknown subcommand %q\n%s\n", sub, deviceUsage)
		return errUsage
	}
	if len(pos) != want {
		fmt.Fprintln(c.stderr, deviceUsage)
		return errUsage
	}
	api, ctx, done, err := c.openAPI(*cfgPath)
	if err != nil {
		return err
	}
	defer done()
	if sub == "list" {
		devs, err := api.ListDevices(ctx, pos[0])
		if err != nil {
			return err
		}
		if *asJSON {
			return json.NewEncoder(c.stdout).Encode(devs)
		}
		return writeDevices(c.stdout, devs)
	}
	if err := api.SetDeviceDisabled(ctx, pos[0], pos[1], sub == "disable"); err != nil {
		return err
	}
	name, _ := auth.NormalizeUserName(pos[0])
	fmt.Fprintf(c.stdout, "device %s of %s: %sd\n", pos[1], name, sub)
	return nil
}

// writeDevices prints a device table: state, and the uses and expiry of
// codes.
func writeDevices(w io.Writer, devs []admin.Device) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tKIND\tLABEL\tSTATE\tADDED\tLAST USED\tNOTE")
	for _, d := range devs {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", d.ID, d.Kind, d.Label, deviceState(d),
			d.CreatedAt.Local().Format(time.DateOnly), lastUsed(d.LastUsedAt), deviceNote(d))
	}
	return tw.Flush()
}

func deviceState(d admin.Device) string {
	switch {
	case d.Disabled:
		return "disabled"
	case d.Expired:
		return "expired"
	case d.Preferred:
		return "preferred"
	}
	return "active"
}

func deviceNote(d admin.Device) string {
	switch d.Kind {
	case "backup":
		return fmt.Sprintf("%d codes left", d.Remaining)
	case auth.KindBypass:
		return fmt.Sprintf("%d use(s) left, expires %s, by %s", d.Remaining,
			d.ExpiresAt.Local().Format(time.DateTime), d.CreatedBy)
	}
	return ""
}

func lastUsed(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return t.Local().Format(time.DateTime)
}

// bypass issues a temporary code for a user who lost their device.
func (c *cli) bypass(args []string) error {
	fs, cfgPath := c.flags("bypass")
	uses := fs.Int("uses", 1, "logins the code allows (1-100)")
	ttl := fs.Duration("ttl", time.Hour, "how long the code lives (1m to 720h)")
	asJSON := fs.Bool("json", false, "print machine-readable JSON")
	fs.Usage = func() {
		fmt.Fprintln(c.stderr, "usage: radiusmfa bypass USER [--uses N] [--ttl 1h] [--json] [--config FILE]")
		fmt.Fprintln(c.stderr, "Prints a one-off code the user types in place of a code from their device (password,CODE).")
		fs.PrintDefaults()
	}
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		fs.Usage()
		return errUsage
	}
	api, ctx, done, err := c.openAPI(*cfgPath)
	if err != nil {
		return err
	}
	defer done()
	res, err := api.IssueBypass(ctx, admin.BypassRequest{User: pos[0], Uses: *uses, TTL: *ttl})
	if err != nil {
		return err
	}
	if *asJSON {
		return json.NewEncoder(c.stdout).Encode(res)
	}
	name, _ := auth.NormalizeUserName(pos[0])
	fmt.Fprintf(c.stdout, "Bypass code for %s: %s\nUses:    %d\nExpires: %s\nDevice:  %s\n\n"+
		"The code is shown only now. The user logs in with password,%s in place of a device code.\n",
		name, res.Code, res.Uses, res.ExpiresAt.Local().Format(time.DateTime+" MST"), res.ID, res.Code)
	return nil
}
