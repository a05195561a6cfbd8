package main

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"radiusmfa/auth"
	"radiusmfa/config"
	"radiusmfa/ldapauth"
)

// ldapTimeout bounds `ldap check` and `ldap test`.
const ldapTimeout = 30 * time.Second

func (c *cli) ldap(args []string) error {
	if len(args) == 0 || (args[0] != "check" && args[0] != "test") {
		fmt.Fprintln(c.stderr, "usage: radiusmfa ldap check | ldap test USER [--client NAME] [--json]  (password on standard input)")
		return errUsage
	}
	fs, cfgPath := c.flags("ldap " + args[0])
	var client *string
	if args[0] == "test" {
		client = fs.String("client", "", "apply the policy of this RADIUS client (default: the global policy)")
	}
	asJSON := fs.Bool("json", false, "print machine-readable JSON")
	pos, err := parse(fs, args[1:])
	if err != nil {
		return err
	}
	cfg, err := c.loadConfig(*cfgPath)
	if err != nil {
		return err
	}
	if cfg.Auth.Directory != directoryLDAP {
		return errors.New(`auth.directory is not "ldap": there is no directory to check`)
	}
	d, err := ldapauth.New(ldapConfig(cfg.LDAP), newLogger(config.LogConfig{Level: "error", Format: "text"}, c.stderr), nil)
	if err != nil {
		return err
	}
	defer d.Close()
	ctx, cancel := context.WithTimeout(context.Background(), ldapTimeout)
	defer cancel()
	if args[0] == "check" {
		if len(pos) != 0 {
			fmt.Fprintln(c.stderr, "usage: radiusmfa ldap check [--json]")
			return errUsage
		}
		return c.ldapCheck(ctx, d, *asJSON)
	}
	if len(pos) != 1 {
		fmt.Fprintln(c.stderr, "usage: radiusmfa ldap test USER [--client NAME] [--json]  (password on standard input)")
		return errUsage
	}
	return c.ldapTest(ctx, cfg, d, pos[0], *client, *asJSON)
}

func (c *cli) ldapCheck(ctx context.Context, d *ldapauth.Directory, asJSON bool) error {
	res := d.Check(ctx)
	failed := 0
	type row struct {
		Server       string `json:"server"`
		TLS          string `json:"tls,omitempty"`
		Bind         string `json:"service_account,omitempty"`
		BaseDN       string `json:"base_dn,omitempty"`
		Error        string `json:"error,omitempty"`
		Milliseconds int64  `json:"ms"`
	}
	var rows []row
	for _, r := range res {
		x := row{Server: r.Server, TLS: r.TLS, Bind: r.Bind, BaseDN: r.BaseDN, Milliseconds: r.Elapsed.Milliseconds()}
		if r.Err != nil {
			failed++
			x.Error = r.Err.Error()
		}
		rows = append(rows, x)
	}
	if asJSON {
		if err := json.NewEncoder(c.stdout).Encode(rows); err != nil {
			return err
		}
	} else {
		for _, r := range rows {
			status := "ok"
			if r.Error != "" {
				status = "FAILED: " + r.Error
			}
			fmt.Fprintf(c.stdout, "%s: %s (%d ms)\n", r.Server, status, r.Milliseconds)
			tls := r.TLS
			if tls == "" && r.Error == "" {
				tls = "none: plaintext (allow_plaintext is set)"
			}
			for _, kv := range [][2]string{{"tls", tls}, {"service account", r.Bind}, {"base dn", r.BaseDN}} {
				if kv[1] != "" {
					fmt.Fprintf(c.stdout, "  %-16s %s\n", kv[0]+":", kv[1])
				}
			}
		}
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d directory servers failed the check", failed, len(res))
	}
	return nil
}

// ldapTestResult is what `ldap test` found, printed as text or JSON.
type ldapTestResult struct {
	User        string          `json:"user"`
	DN          string          `json:"dn,omitempty"`
	Password    string          `json:"password"` // "accepted" or "refused"
	Reason      auth.Reason     `json:"reason,omitempty"`
	Message     string          `json:"message,omitempty"`
	DisplayName string          `json:"display_name,omitempty"`
	Mail        string          `json:"mail,omitempty"`
	Phone       string          `json:"phone,omitempty"`
	Groups      []ldapTestGroup `json:"groups,omitempty"`
	Policy      string          `json:"policy,omitempty"`
	Allowed     bool            `json:"allowed"`
	MFARequired bool            `json:"mfa_required"`
	Attributes  []ldapTestAttr  `json:"reply_attributes,omitempty"`
}

type ldapTestGroup struct {
	Name string `json:"name"`
	DN   string `json:"dn,omitempty"`
}

type ldapTestAttr struct {
	Name  string `json:"name"`
	Value string `json:"value"`
	Type  int    `json:"type"`
	Hex   string `json:"hex"` // the attribute's value octets as sent
}

func (c *cli) ldapTest(ctx context.Context, cfg *config.Config, d *ldapauth.Directory, user, client string, asJSON bool) error {
	if client != "" && !clientExists(cfg, client) {
		return fmt.Errorf("no RADIUS client is named %q", client)
	}
	global, perClient, err := groupPolicies(cfg)
	if err != nil {
		return err
	}
	pw, err := c.promptPassword(false)
	if err != nil {
		return err
	}
	name, ok := auth.NormalizeUserName(d.NormalizeName(user))
	if !ok {
		return fmt.Errorf("%q is not a valid user name", user)
	}
	id, accepted, err := d.Authenticate(ctx, name, pw)
	if err != nil {
		return fmt.Errorf("directory: %w", err)
	}
	r := ldapTestResult{User: name, DN: id.DN, Password: "refused", Reason: id.Reason, Message: id.Message}
	if accepted {
		r.Password, r.User = "accepted", id.Name
		r.DisplayName, r.Mail, r.Phone = id.Profile.DisplayName, id.Profile.Mail, id.Profile.Phone
		for i, g := range id.Groups {
			gr := ldapTestGroup{Name: g}
			if i < len(id.GroupDNs) {
				gr.DN = id.GroupDNs[i]
			}
			r.Groups = append(r.Groups, gr)
		}
		pol := &global
		if p, ok := perClient[client]; ok {
			pol = &p
		}
		r.Policy = "global (policy)"
		if pol.Name != "" {
			r.Policy = fmt.Sprintf("%q (policies, client %s)", pol.Name, client)
		}
		res := pol.Evaluate(id)
		r.Allowed, r.MFARequired = res.Allowed, res.MFARequired
		if res.Reason != "" {
			r.Reason = res.Reason
		}
		for _, a := range res.Attributes {
			r.Attributes = append(r.Attributes, ldapTestAttr{Name: a.Name, Value: a.Value, Type: int(a.Type), Hex: hex.EncodeToString(a.Data)})
		}
	} else if r.Reason == "" {
		r.Reason = auth.ReasonBadCredentials
	}
	if asJSON {
		if err := json.NewEncoder(c.stdout).Encode(r); err != nil {
			return err
		}
	} else {
		printLDAPTest(c.stdout, r)
	}
	switch {
	case !accepted:
		return fmt.Errorf("the directory refused the password (%s)", r.Reason)
	case !r.Allowed:
		return fmt.Errorf("policy refuses the login (%s)", r.Reason)
	}
	return nil
}

func printLDAPTest(w io.Writer, r ldapTestResult) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	line := func(k, v string) {
		if v != "" {
			fmt.Fprintf(tw, "%s:\t%s\n", k, v)
		}
	}
	line("user", r.User)
	line("dn", r.DN)
	pw := r.Password
	if r.Password == "refused" {
		pw += " (" + string(r.Reason) + ")"
		if r.Message != "" {
			pw += ", reply: " + r.Message
		}
	}
	line("password", pw)
	line("display name", r.DisplayName)
	line("mail", r.Mail)
	line("phone", r.Phone)
	if r.Password == "accepted" {
		if len(r.Groups) == 0 {
			line("groups", "(none)")
		}
		for i, g := range r.Groups {
			k := ""
			if i == 0 {
				k = "groups"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\n", k+map[bool]string{true: ":", false: ""}[i == 0], g.Name, g.DN)
		}
		line("policy", r.Policy)
		verdict := "refused (" + string(r.Reason) + ")"
		if r.Allowed {
			verdict = "allowed, second factor required"
			if !r.MFARequired {
				verdict = "allowed on the password alone (" + string(r.Reason) + ")"
			}
		}
		line("login", verdict)
	}
	tw.Flush()
	if r.Allowed {
		if len(r.Attributes) == 0 {
			fmt.Fprintln(w, "reply attributes on Access-Accept: none")
		} else {
			fmt.Fprintln(w, "reply attributes on Access-Accept:")
		}
		for _, a := range r.Attributes {
			fmt.Fprintf(w, "  %s = %q\t(type %d, value %s)\n", a.Name, a.Value, a.Type, a.Hex)
		}
	}
}

func clientExists(cfg *config.Config, name string) bool {
	for _, cl := range cfg.Radius.Clients {
		if cl.Name == name {
			return true
		}
	}
	return false
}
