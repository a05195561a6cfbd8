package main

import (
	"encoding/json"
	"fmt"
	"slices"

	"radiusmfa/admin"
	"radiusmfa/auth"
	"radiusmfa/config"
)

const (
	phoneUsage = "usage: radiusmfa phone add USER NUMBER [--voice] [--label L] [--json] [--config FILE]"
	emailUsage = "usage: radiusmfa email add USER ADDRESS [--label L] [--json] [--config FILE]"
)

// phone adds a phone a user's codes are sent to by text message (or read
// out in a call, with --voice). No code is sent to prove the number: the
// operator vouches for it.
func (c *cli) phone(args []string) error { return c.addContact("phone", phoneUsage, args) }

// email adds an address a user's codes are mailed to, vouched for by the
// operator as a phone is.
func (c *cli) email(args []string) error { return c.addContact("email", emailUsage, args) }

// addContact runs "phone add" and "email add".
func (c *cli) addContact(what, usage string, args []string) error {
	if len(args) == 0 {
		fmt.Fprintln(c.stderr, usage)
		return errUsage
	}
	if args[0] != "add" {
		fmt.Fprintf(c.stderr, "radiusmfa %s: unknown subcommand %q\n%s\n", what, args[0], usage)
		return errUsage
	}
	fs, cfgPath := c.flags(what + " add")
	label := fs.String("label", "", "device name shown in listings (default: the masked "+map[string]string{"phone": "number", "email": "address"}[what]+")")
	asJSON := fs.Bool("json", false, "print machine-readable JSON")
	voice := new(bool)
	if what == "phone" {
		voice = fs.Bool("voice", false, "read the codes out in a phone call instead of sending text messages")
	}
	pos, err := parse(fs, args[1:])
	if err != nil {
		return err
	}
	if len(pos) != 2 {
		fmt.Fprintln(c.stderr, usage)
		return errUsage
	}
	kind, dest := auth.KindEmail, pos[1]
	cfg, err := c.loadConfig(*cfgPath)
	if err != nil {
		return err
	}
	if what == "phone" {
		kind = map[bool]string{false: auth.KindSMS, true: auth.KindVoice}[*voice]
		// Read here with the configuration's rules, as the server reads
		// it: the number then reaches the service in E.164 form.
		n, err := admin.ParsePhone(phoneRules(cfg.Codes), dest)
		if err != nil {
			return err
		}
		dest = string(n)
	}
	api, ctx, done, err := c.openAPI(*cfgPath)
	if err != nil {
		return err
	}
	defer done()
	id, err := api.AddContact(ctx, pos[0], kind, dest, *label)
	if err != nil {
		return err
	}
	devs, err := api.ListDevices(ctx, pos[0])
	if err != nil {
		return err
	}
	var to string
	if i := slices.IndexFunc(devs, func(d admin.Device) bool { return d.ID == id }); i >= 0 {
		to = devs[i].To
	}
	if *asJSON {
		return json.NewEncoder(c.stdout).Encode(map[string]string{"id": id, "kind": kind, "to": to})
	}
	name, _ := auth.NormalizeUserName(pos[0])
	noun := map[string]string{auth.KindSMS: "text-message phone", auth.KindVoice: "voice-call phone", auth.KindEmail: "email address"}[kind]
	fmt.Fprintf(c.stdout, "added %s %s (id %s) for %s\n", noun, to, id, name)
	if !channelOn(cfg.Codes, kind) {
		// Stored all the same (a channel may be set up after): until then
		// the user counts as enrolled with a device no login can use.
		fmt.Fprintf(c.stderr, "warning: codes %s are not sent by this configuration (codes.%s): the device cannot be used until they are\n",
			map[string]string{auth.KindSMS: "by text message", auth.KindVoice: "by phone call", auth.KindEmail: "by email"}[kind], kind)
	}
	return nil
}

// channelOn reports whether the configuration sends codes of kind.
func channelOn(c config.CodesConfig, kind string) bool {
	switch kind {
	case auth.KindSMS:
		return c.SMS.Provider != ""
	case auth.KindVoice:
		return c.Voice.Provider != ""
	}
	return c.Email.Host != ""
}
