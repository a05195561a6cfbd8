package main

import (
	"cmp"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"radiusmfa/store"
)

const mfaUsage = `usage: radiusmfa mfa show [--json] [--config FILE]
       radiusmfa mfa set [--mode off|optional|required|default] [--group NAME=MODE]...
                         [--client NAME=MODE]... [--deadline RFC3339|none] [--methods totp,backup|all]`

// assignments collects repeated NAME=MODE flags in order.
type assignments []string

func (a *assignments) String() string { return strings.Join(*a, " ") }

func (a *assignments) Set(v string) error {
	name, mode, ok := strings.Cut(v, "=")
	if !ok || strings.TrimSpace(name) == "" || strings.TrimSpace(mode) == "" {
		return fmt.Errorf("want NAME=MODE, got %q", v)
	}
	*a = append(*a, v)
	return nil
}

// mfa shows or changes the enforcement settings the console also edits:
// they live in the database and win over auth.enforcement.
func (c *cli) mfa(args []string) error {
	if len(args) == 0 || (args[0] != "show" && args[0] != "set") {
		fmt.Fprintln(c.stderr, mfaUsage)
		return errUsage
	}
	sub := args[0]
	fs, cfgPath := c.flags("mfa " + sub)
	asJSON := fs.Bool("json", false, "print machine-readable JSON")
	var mode, deadline, methods *string
	var groups, clients assignments
	if sub == "set" {
		mode = fs.String("mode", "", "mode where no group or client setting applies: off, optional, required, or default (the configuration's auth.enforcement)")
		fs.Var(&groups, "group", "mode for members of a group (or a built-in role), NAME=MODE; NAME=none removes it; repeatable")
		fs.Var(&clients, "client", "mode for logins through a RADIUS client, NAME=MODE; NAME=none removes it; repeatable")
		deadline = fs.String("deadline", "", `when "required" starts rejecting users without a device (RFC 3339), or none`)
		methods = fs.String("methods", "", "comma-separated kinds of device users may use (totp,backup), or all")
	}
	fs.Usage = func() {
		fmt.Fprintln(c.stderr, mfaUsage)
		fs.PrintDefaults()
	}
	pos, err := parse(fs, args[1:])
	if err != nil {
		return err
	}
	if len(pos) != 0 || (sub == "set" && *mode == "" && len(groups) == 0 && len(clients) == 0 && *deadline == "" && *methods == "") {
		fmt.Fprintln(c.stderr, mfaUsage)
		return errUsage
	}
	api, ctx, done, err := c.openAPI(*cfgPath)
	if err != nil {
		return err
	}
	defer done()
	cur, err := api.Settings(ctx)
	if err != nil {
		return err
	}
	if sub == "set" {
		e, err := mergeEnforcement(cur.Enforcement, *mode, groups, clients, *deadline, *methods)
		if err != nil {
			fmt.Fprintf(c.stderr, "radiusmfa mfa set: %v\n", err)
			return errUsage
		}
		if err := api.SetEnforcement(ctx, e); err != nil {
			return err
		}
		if cur, err = api.Settings(ctx); err != nil {
			return err
		}
	}
	if *asJSON {
		return json.NewEncoder(c.stdout).Encode(cur)
	}
	cfgMode := "off"
	if cfg, err := c.loadConfig(*cfgPath); err == nil {
		cfgMode = cfg.Auth.Mode()
	}
	c.writeEnforcement(cur, cfgMode)
	return nil
}

// mergeEnforcement applies the flags of `mfa set` to the current settings:
// what a flag does not name is kept.
func mergeEnforcement(e store.Enforcement, mode string, groups, clients assignments, deadline, methods string) (store.Enforcement, error) {
	switch mode {
	case "":
	case "default":
		e.Mode = ""
	default:
		e.Mode = mode
	}
	e.Groups = applyModes(e.Groups, groups)
	e.Clients = applyModes(e.Clients, clients)
	switch deadline {
	case "":
	case "none":
		e.Deadline = time.Time{}
	default:
		t, err := time.Parse(time.RFC3339, deadline)
		if err != nil {
			return e, fmt.Errorf("--deadline: want RFC 3339 (2025-07-01T00:00:00Z) or none: %v", err)
		}
		e.Deadline = t.UTC()
	}
	switch methods {
	case "":
	case "all":
		e.Methods = nil
	default:
		e.Methods = nil
		for m := range strings.SplitSeq(methods, ",") {
			if m = strings.TrimSpace(m); m != "" {
				e.Methods = append(e.Methods, m)
			}
		}
	}
	return e, nil
}

// applyModes returns m with the NAME=MODE assignments made (NAME=none
// deletes NAME), in a new map.
func applyModes(m map[string]string, as assignments) map[string]string {
	out := maps.Clone(m)
	for _, a := range as {
		name, mode, _ := strings.Cut(a, "=")
		name, mode = strings.TrimSpace(name), strings.TrimSpace(mode)
		if mode == "none" {
			delete(out, name)
			continue
		}
		if out == nil {
			out = map[string]string{}
		}
		out[name] = mode
	}
	return out
}

func (c *cli) writeEnforcement(s store.Settings, cfgMode string) {
	e := s.Enforcement
	pairs := func(m map[string]string) string {
		var out []string
		for _, k := range slices.Sorted(maps.Keys(m)) {
			out = append(out, k+"="+m[k])
		}
		return cmp.Or(strings.Join(out, ", "), "none")
	}
	mode := e.Mode
	if mode == "" {
		mode = fmt.Sprintf("default (auth.enforcement: %s)", cfgMode)
	}
	dl := "none"
	if !e.Deadline.IsZero() {
		dl = e.Deadline.Local().Format(time.DateTime + " MST")
	}
	fmt.Fprintf(c.stdout, "Mode:     %s\nGroups:   %s\nClients:  %s\nDeadline: %s\nMethods:  %s\n",
		mode, pairs(e.Groups), pairs(e.Clients), dl, cmp.Or(strings.Join(e.Methods, ","), "all"))
	if !s.UpdatedAt.IsZero() {
		fmt.Fprintf(c.stdout, "Changed:  %s by %s\n", s.UpdatedAt.Local().Format(time.DateTime), s.UpdatedBy)
	}
}
