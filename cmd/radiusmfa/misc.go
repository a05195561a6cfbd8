package main

import (
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"radiusmfa/admin"
	"radiusmfa/ldapauth"
	"radiusmfa/store"
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
	geo, err := openGeoIP(cfg)
	if err != nil {
		return err
	}
	if geo != nil {
		geo.Close()
	}
	fmt.Fprintf(c.stdout, "configuration OK: %d RADIUS client(s), listening on %v, data in %s\n",
		len(cfg.Radius.Clients), cfg.Radius.Listen, cfg.DataDir)
	return nil
}

const auditUsage = "usage: radiusmfa audit tail [-n N] [--user NAME] [--kind KIND] [--outcome OUTCOME] [--since TIME] [--json] [--config FILE]"

func (c *cli) audit(args []string) error {
	if len(args) == 0 || args[0] != "tail" {
		fmt.Fprintln(c.stderr, auditUsage)
		return errUsage
	}
	fs, cfgPath := c.flags("audit tail")
	n := fs.Int("n", 20, "number of records")
	asJSON := fs.Bool("json", false, "one JSON object per line")
	user := fs.String("user", "", "only records about this user")
	kind := fs.String("kind", "", "only records of this kind: auth, web, accounting, admin, report")
	outcome := fs.String("outcome", "", "only records with this outcome (accept, reject, ok, ...)")
	since := fs.String("since", "", "only records from this time on: RFC 3339 (2025-07-01T08:00:00Z) or an age (24h)")
	if _, err := parse(fs, args[1:]); err != nil {
		return err
	}
	from, err := parseSince(*since, time.Now())
	if err != nil {
		fmt.Fprintf(c.stderr, "radiusmfa audit tail: %v\n%s\n", err, auditUsage)
		return errUsage
	}
	api, ctx, done, err := c.openAPI(*cfgPath)
	if err != nil {
		return err
	}
	defer done()
	var recs []store.AuditRecord
	if *user == "" && *kind == "" && *outcome == "" && from.IsZero() {
		recs, err = api.AuditTail(ctx, *n)
	} else {
		if *n <= 0 {
			return fmt.Errorf("%w: -n must be at least 1", admin.ErrInvalid)
		}
		recs, err = api.QueryAudit(ctx, admin.AuditQuery{User: *user, Kind: *kind, Outcome: *outcome, Since: from, Limit: *n})
		slices.Reverse(recs) // oldest first, as tail prints
	}
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

// parseSince reads --since: a time (RFC 3339) or an age before now ("24h");
// "" is no bound (the zero time).
func parseSince(s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if d, err := time.ParseDuration(s); err == nil && d > 0 {
		return now.Add(-d), nil
	}
	return time.Time{}, fmt.Errorf("--since %q: want a time (2025-07-01T08:00:00Z) or an age (24h)", s)
}
