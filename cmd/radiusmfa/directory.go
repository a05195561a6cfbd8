package main

import (
	"cmp"
	"fmt"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"

	"radiusmfa/auth"
	"radiusmfa/auth/localdir"
	"radiusmfa/config"
	"radiusmfa/factors"
	"radiusmfa/factors/backup"
	"radiusmfa/factors/bypass"
	"radiusmfa/factors/totp"
	"radiusmfa/ldapauth"
	"radiusmfa/radiusd"
	"radiusmfa/store"
)

// directoryLDAP is the Directory value of store records of LDAP/AD users.
const directoryLDAP = "ldap"

// ldapConfig turns the ldap section into the authenticator's configuration.
func ldapConfig(l config.LDAPConfig) ldapauth.Config {
	return ldapauth.Config{
		Kind:                 l.Type,
		Servers:              l.Servers,
		RoundRobin:           l.RoundRobin,
		Timeout:              l.Timeout,
		Backoff:              l.Backoff,
		StartTLS:             l.StartTLS,
		AllowPlaintext:       l.AllowPlaintext,
		TLS:                  ldapauth.TLSConfig{CAFile: l.TLS.CAFile, ServerName: l.TLS.ServerName, CertFile: l.TLS.CertFile, KeyFile: l.TLS.KeyFile},
		BindDN:               l.BindDN,
		BindPassword:         l.BindPassword,
		BindTemplate:         l.BindTemplate,
		BaseDN:               l.BaseDN,
		Scope:                l.Scope,
		UserFilter:           l.UserFilter,
		UsernameAttribute:    l.UsernameAttribute,
		StripDomain:          l.Username.StripDomain,
		Domains:              l.Username.Domains,
		StripRealm:           l.Username.StripRealm,
		Realms:               l.Username.Realms,
		GroupAttribute:       l.Groups.Attribute,
		GroupBaseDN:          l.Groups.BaseDN,
		GroupFilter:          l.Groups.Filter,
		GroupNameAttribute:   l.Groups.NameAttribute,
		NestedGroups:         l.Groups.Nested,
		PrimaryGroup:         l.Groups.PrimaryGroup,
		MailAttribute:        l.Profile.Mail,
		PhoneAttributes:      l.Profile.Phone,
		DisplayNameAttribute: l.Profile.DisplayName,
		PoolSize:             l.PoolSize,
	}
}

// primaryDirectory builds the password checker auth.directory names and
// the Directory value the engine gives the records of its users. close
// releases its connections.
func primaryDirectory(cfg *config.Config, st store.Store, log *slog.Logger, reg prometheus.Registerer) (auth.Authenticator, string, func(), error) {
	if cfg.Auth.Directory == directoryLDAP {
		d, err := ldapauth.New(ldapConfig(cfg.LDAP), log, reg)
		if err != nil {
			return nil, "", nil, err
		}
		return d, directoryLDAP, d.Close, nil
	}
	a := cfg.LocalDir.Argon2
	dir, err := localdir.New(st, localdir.Params{Time: a.Time, MemoryKiB: a.MemoryKiB, Threads: a.Threads},
		cfg.LocalDir.MaxConcurrentHashes)
	if err != nil {
		return nil, "", nil, err
	}
	return dir, "", func() {}, nil
}

// newEngine wires the decision engine from the configuration.
func newEngine(cfg *config.Config, st store.Store, primary auth.Authenticator, directory string, extra ...factors.Factor) (*auth.Engine, error) {
	global, perClient, err := groupPolicies(cfg)
	if err != nil {
		return nil, err
	}
	return auth.NewEngine(primary, st, append(factorSet(cfg, st), extra...),
		auth.Policy{
			Delimiter:         cfg.Auth.Delimiter,
			MFA:               auth.Mode(cfg.Auth.Mode()),
			EnrollMessage:     cfg.Auth.EnrollMessage,
			Lockout:           store.LockoutPolicy{Threshold: cfg.Auth.Lockout.Threshold, Duration: cfg.Auth.Lockout.Duration},
			Groups:            global,
			ClientGroups:      perClient,
			ChallengeTTL:      cfg.Auth.ChallengeTimeout,
			ClientChallenge:   clientChallenges(cfg),
			ClientNumberMatch: numberMatching(cfg),
			Directory:         directory,
		}, nil), nil
}

// groupPolicies compiles the global policy and, per client that names
// one, its policy. Reply attributes are encoded here, once, through the
// RADIUS dictionary, so a bad name or value stops the start.
func groupPolicies(cfg *config.Config) (auth.GroupPolicy, map[string]auth.GroupPolicy, error) {
	global, err := compilePolicy("policy", cfg.Policy)
	if err != nil {
		return auth.GroupPolicy{}, nil, err
	}
	named := map[string]auth.GroupPolicy{}
	for i, p := range cfg.Policies {
		gp, err := compilePolicy(fmt.Sprintf("policies[%d]", i), p)
		if err != nil {
			return auth.GroupPolicy{}, nil, err
		}
		named[p.Name] = gp
	}
	perClient := map[string]auth.GroupPolicy{}
	for _, cl := range cfg.Radius.Clients {
		if cl.Policy != "" {
			perClient[cl.Name] = named[cl.Policy]
		}
	}
	return global, perClient, nil
}

func compilePolicy(key string, p config.PolicyConfig) (auth.GroupPolicy, error) {
	gp := auth.GroupPolicy{
		Name:          p.Name,
		Require:       p.RequireGroups,
		Deny:          p.DenyGroups,
		MFAGroupsOnly: p.MFA == "groups",
		MFARequired:   p.MFARequiredGroups,
		MFAExempt:     p.MFAExemptGroups,
	}
	for i, r := range p.Reply {
		rule := auth.ReplyRule{Groups: r.Groups, Final: r.Final}
		for j, a := range r.Attributes {
			attr, err := radiusd.ParseAttribute(a.Name, a.Value)
			if err != nil {
				return auth.GroupPolicy{}, fmt.Errorf("%s.reply[%d].attributes[%d]: %w", key, i, j, err)
			}
			rule.Attributes = append(rule.Attributes, attr)
		}
		gp.Reply = append(gp.Reply, rule)
	}
	return gp, nil
}

// factorSet is every second factor the server runs.
func factorSet(cfg *config.Config, st store.Store) []factors.Factor {
	return []factors.Factor{
		totp.New(st, totp.Options{Skew: cfg.TOTP.Skew}),
		backup.New(st, backup.Options{}),
		bypass.New(st, bypass.Options{}),
	}
}

// factorMap indexes factors by the enrollment kind they verify.
func factorMap(fs []factors.Factor) map[string]factors.Factor {
	m := make(map[string]factors.Factor, len(fs))
	for _, f := range fs {
		m[f.Kind()] = f
	}
	return m
}

// clientChallenges is each client's challenge mode ("" in a configuration
// built in code is auto). The site, which is no RADIUS client, gets none.
func clientChallenges(cfg *config.Config) map[string]auth.ChallengeMode {
	out := make(map[string]auth.ChallengeMode, len(cfg.Radius.Clients))
	for _, cl := range cfg.Radius.Clients {
		m, err := auth.ParseChallengeMode(cmp.Or(cl.Challenge, "auto"))
		if err != nil {
			m = auth.ChallengeAppendOnly // unreachable: config.Validate checked it
		}
		out[cl.Name] = m
	}
	return out
}

// numberMatching names the clients whose push logins match a number.
func numberMatching(cfg *config.Config) map[string]bool {
	out := map[string]bool{}
	for _, cl := range cfg.Radius.Clients {
		if cl.NumberMatching {
			out[cl.Name] = true
		}
	}
	return out
}
