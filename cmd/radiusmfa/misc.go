package main

import (
	"encoding/json"
	"fmt"
	"time"

	"radiusmfa/ldapauth"
)

func (c *cli) checkConfig(args []string) error {
	fs, cfgPath := c.flags("check-config")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	cfg, err := c.loadConfigLoud(*cfgPath)
	if err != nil {
		return err
	}
	if _, err := radiusConfig(cfg.Radius); err != nil {
		return err
	}
	if _, _, err := groupPolicies(cfg); err != nil {
		return err
	}
	if cfg.Auth.Directory == directoryLDAP {
		// Checks filters, templates and TLS files; connects to nothing
		// (`radiusmfa ldap check` does).
		d, err := ldapauth.New(ldapConfig(cfg.LDAP), nil, nil)
		if err != nil {
			return err
		}
		d.Close()
	}
	fmt.Fprintf(c.stdout, "configuration OK: %d RADIUS client(s), listening on %v, data in %s\n",
		len(cfg.Radius.Clients), cfg.Radius.Listen, cfg.DataDir)
	return nil
}

func (c *cli) audit(args []string) error {
	if len(args) == 0 || args[0] != "tail" {
		fmt.Fprintln(c.stderr, "usage: radiusmfa audit tail [-n N] [--json] [--config FILE]")
		return errUsage
	}
	fs, cfgPath := c.flags("audit tail")
	n := fs.Int("n", 20, "number of records")
	asJSON := fs.Bool("json", false, "one JSON object per line")
	if _, err := parse(fs, args[1:]); err != nil {
		return err
	}
	api, ctx, done, err := c.openAPI(*cfgPath)
	if err != nil {
		return err
	}
	defer done()
	recs, err := api.AuditTail(ctx, *n)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(c.stdout)
	for _, r := range recs {
		if *asJSON {
			if err := enc.Encode(r); err != nil {
				return err
			}
			continue
		}
		fmt.Fprintf(c.stdout, "%s %-10s user=%q client=%q outcome=%s reason=%s factor=%s nas=%q station=%q detail=%q %s\n",
			r.Time.Local().Format(time.RFC3339), r.Kind, r.User, r.Client, r.Outcome, r.Reason, r.Factor,
			r.NASIdentifier, r.CallingStationID, r.Detail, r.Duration)
	}
	return nil
}
