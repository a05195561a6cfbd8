package main

import (
	"encoding/json"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/mdp/qrterminal/v3"

	"radiusmfa/admin"
)

func (c *cli) totp(args []string) error {
	if len(args) == 0 {
		fmt.Fprintln(c.stderr, "usage: radiusmfa totp enroll|list|remove USER [ID] [--config FILE]")
		return errUsage
	}
	sub := args[0]
	fs, cfgPath := c.flags("totp " + sub)
	asJSON := fs.Bool("json", false, "print machine-readable JSON")
	var label, alg *string
	var digits *int
	if sub == "enroll" {
		label = fs.String("label", "", "device name shown in listings (default \"authenticator app\")")
		digits = fs.Int("digits", 0, "code length, 6 or 8 (default from config)")
		alg = fs.String("algorithm", "", "SHA1, SHA256 or SHA512 (default from config)")
	}
	pos, err := parse(fs, args[1:])
	if err != nil {
		return err
	}
	want := 1
	if sub == "remove" {
		want = 2
	}
	if len(pos) != want {
		fmt.Fprintf(c.stderr, "usage: radiusmfa totp %s USER", sub)
		if sub == "remove" {
			fmt.Fprint(c.stderr, " ID")
		}
		fmt.Fprintln(c.stderr)
		return errUsage
	}
	api, ctx, done, err := c.openAPI(*cfgPath)
	if err != nil {
		return err
	}
	defer done()
	switch sub {
	case "enroll":
		res, err := api.EnrollTOTP(ctx, admin.TOTPRequest{User: pos[0], Label: *label, Digits: *digits, Algorithm: *alg})
		if err != nil {
			return err
		}
		if *asJSON {
			return json.NewEncoder(c.stdout).Encode(map[string]string{"id": res.ID, "secret": res.Secret, "uri": res.URI})
		}
		fmt.Fprintf(c.stdout, "Scan this QR code with an authenticator app, or enter the key by hand.\n\n")
		qrterminal.GenerateWithConfig(res.URI, qrterminal.Config{
			Level: qrterminal.M, Writer: c.stdout, HalfBlocks: true,
			BlackChar: qrterminal.BLACK_BLACK, WhiteChar: qrterminal.WHITE_WHITE,
			BlackWhiteChar: qrterminal.BLACK_WHITE, WhiteBlackChar: qrterminal.WHITE_BLACK, QuietZone: 2,
		})
		fmt.Fprintf(c.stdout, "\nKey:    %s\nURI:    %s\nDevice: %s\n\nThe key is shown only now. Log in with password,CODE.\n", res.Secret, res.URI, res.ID)
		return nil
	case "list":
		devs, err := api.ListDevices(ctx, pos[0])
		if err != nil {
			return err
		}
		if *asJSON {
			return json.NewEncoder(c.stdout).Encode(devs)
		}
		tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tKIND\tLABEL\tADDED\tLAST USED")
		for _, d := range devs {
			last := "never"
			if !d.LastUsedAt.IsZero() {
				last = d.LastUsedAt.Local().Format(time.DateTime)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", d.ID, d.Kind, d.Label, d.CreatedAt.Local().Format(time.DateOnly), last)
		}
		return tw.Flush()
	case "remove":
		return api.RemoveDevice(ctx, pos[0], pos[1])
	}
	fmt.Fprintf(c.stderr, "radiusmfa totp: unknown subcommand %q\n", sub)
	return errUsage
}
