package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"strings"
	"sync"
	"time"

	"radiusmfa/config"
	"radiusmfa/factors/totp"
	"radiusmfa/ldapauth"
	"radiusmfa/store"
)

// benchLDAP are the settings of an LDAP-backed run (--ldap-url set): the
// spawned server checks passwords against this directory, whose users are
// named and keyed by the two formats (i from 1 to --users).
type benchLDAP struct {
	URL            string
	CAFile         string
	BindDN         string
	BindPassword   string
	BaseDN         string
	UserFormat     string
	PasswordFormat string
	Groups         string // default or flat (see ldapGroupModes)
	PoolSize       int    // the server's ldap.pool_size; 0: --concurrency
	SlapdPID       int    // with it, the directory's CPU per login is reported
	Ceiling        bool
}

// ldapGroupModes are the group settings --ldap-groups chooses between, as
// the ldap.groups lines of the spawned server's configuration.
var ldapGroupModes = map[string]string{
	// The defaults: the group filter, then one search per nesting level.
	"default": "",
	// Flat groups: the group filter only.
	"flat": "  groups: {nested: false}\n",
}

func (l *benchLDAP) register(fs *flag.FlagSet) {
	fs.StringVar(&l.URL, "ldap-url", "", "with --spawn: check passwords against this ldaps:// (or ldap://) directory instead of the built-in one")
	fs.StringVar(&l.CAFile, "ldap-ca", "", "PEM CA bundle for the directory's certificate (default: system roots)")
	fs.StringVar(&l.BindDN, "ldap-bind-dn", "", "service account for search-then-bind")
	fs.StringVar(&l.BindPassword, "ldap-bind-password", "", "the service account's password")
	fs.StringVar(&l.BaseDN, "ldap-base-dn", "", "where users are searched")
	fs.StringVar(&l.UserFormat, "ldap-user-format", "load%04d", "user names, from i = 1 to --users")
	fs.StringVar(&l.PasswordFormat, "ldap-password-format", "pw-load%04d", "their passwords")
	fs.StringVar(&l.Groups, "ldap-groups", "default", "group settings of the server: default (group filter and nested search) or flat (nested: false)")
	fs.IntVar(&l.PoolSize, "ldap-pool-size", 0, "the server's ldap.pool_size (0: --concurrency, as many connections as the ceiling uses)")
	fs.IntVar(&l.SlapdPID, "ldap-pid", 0, "the directory server's PID on this machine, to report its CPU per login")
	fs.BoolVar(&l.Ceiling, "ldap-ceiling", true, "after the logins, issue the same LDAP operations straight from this process, and plain binds, for --duration each")
}

func (l benchLDAP) enabled() bool { return l.URL != "" }

// check validates the settings of an LDAP-backed run.
func (l benchLDAP) check(o benchOptions) error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf("bench: "+format, a...)) }
	if !o.Spawn {
		bad("--ldap-url needs --spawn (the server is configured for the directory)")
	}
	if u, err := url.Parse(l.URL); err != nil || (u.Scheme != "ldap" && u.Scheme != "ldaps") || u.Host == "" {
		bad("--ldap-url %q: want ldaps://host:port or ldap://host:port", l.URL)
	}
	if l.BindDN == "" || l.BindPassword == "" || l.BaseDN == "" {
		bad("--ldap-bind-dn, --ldap-bind-password and --ldap-base-dn are required (search-then-bind)")
	}
	for _, f := range [][2]string{{"--ldap-user-format", l.UserFormat}, {"--ldap-password-format", l.PasswordFormat}} {
		if err := checkIndexFormat(f[1]); err != nil {
			bad("%s %q: %v", f[0], f[1], err)
		}
	}
	if _, ok := ldapGroupModes[l.Groups]; !ok {
		bad("--ldap-groups %q: want default or flat", l.Groups)
	}
	if l.PoolSize < 0 || l.SlapdPID < 0 {
		bad("--ldap-pool-size and --ldap-pid must not be negative")
	}
	return errors.Join(errs...)
}

// checkIndexFormat accepts a format with one integer verb that gives
// different strings for different numbers.
func checkIndexFormat(f string) error {
	a, b := fmt.Sprintf(f, 1), fmt.Sprintf(f, 2)
	if strings.Contains(a, "%!") || a == b {
		return errors.New("want one integer verb such as %04d")
	}
	return nil
}

// user returns the name and password of user i (from 1).
func (l benchLDAP) user(i int) (name, password string) {
	return fmt.Sprintf(l.UserFormat, i), fmt.Sprintf(l.PasswordFormat, i)
}

// poolSize is the server's pool size for a run at concurrency.
func (l benchLDAP) poolSize(concurrency int) int {
	if l.PoolSize > 0 {
		return l.PoolSize
	}
	return concurrency
}

// configYAML is the spawned server's ldap section. Strings are written as
// JSON, which YAML reads as the same strings.
func (l benchLDAP) configYAML(concurrency int) string {
	q := func(s string) string { b, _ := json.Marshal(s); return string(b) }
	var b strings.Builder
	fmt.Fprintf(&b, "ldap:\n  servers: [%s]\n", q(l.URL))
	if strings.HasPrefix(l.URL, "ldap://") {
		b.WriteString("  allow_plaintext: true\n")
	}
	if l.CAFile != "" {
		fmt.Fprintf(&b, "  tls: {ca_file: %s}\n", q(l.CAFile))
	}
	fmt.Fprintf(&b, "  bind_dn: %s\n  bind_password: %s\n  base_dn: %s\n  pool_size: %d\n",
		q(l.BindDN), q(l.BindPassword), q(l.BaseDN), l.poolSize(concurrency))
	b.WriteString(ldapGroupModes[l.Groups])
	return b.String()
}

// enrollLDAPBenchUsers gives users 1..n a TOTP seed and a store record as
// the server keeps it for a directory user. Each user logs in once through
// the server's own authenticator first: that checks the password and
// reads the profile the record holds, so no login of the run writes one,
// and it warms the directory's caches for every phase alike.
func (c *cli) enrollLDAPBenchUsers(cfg *config.Config, l benchLDAP, n int) ([]benchUser, error) {
	d, err := ldapauth.New(ldapConfig(cfg.LDAP), nil, nil)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	st, err := c.openStoreBulk(cfg)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	ctx := context.Background()
	users := make([]benchUser, n)
	var (
		wg       sync.WaitGroup
		once     sync.Once
		firstErr error
	)
	fail := func(err error) { once.Do(func() { firstErr = err }) }
	sem := make(chan struct{}, cfg.LDAP.PoolSize)
	for i := range users {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			name, pw := l.user(i + 1)
			actx, cancel := context.WithTimeout(ctx, 30*time.Second)
			id, ok, err := d.Authenticate(actx, name, pw)
			cancel()
			switch {
			case err != nil:
				fail(fmt.Errorf("bench: directory login of %s: %w", name, err))
				return
			case !ok:
				fail(fmt.Errorf("bench: the directory refused %s with password %s (reason %q): does it hold --users %d users?", name, pw, id.Reason, n))
				return
			}
			now := time.Now()
			err = st.CreateUser(ctx, store.User{Name: name, Directory: directoryLDAP, Profile: id.Profile, CreatedAt: now, UpdatedAt: now})
			if err != nil {
				fail(err)
				return
			}
			p, err := totp.NewEnrollment(name, totp.EnrollOptions{})
			if err == nil {
				err = st.AddEnrollment(ctx, p.Enrollment)
			}
			if err != nil {
				fail(err)
				return
			}
			users[i] = benchUser{Name: name, Password: pw, Secret: p.Secret, dn: id.DN}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	return users, st.Sync()
}

// benchLDAPResult is what an LDAP-backed run adds to a benchResult.
type benchLDAPResult struct {
	URL                  string
	Groups               string
	PoolSize             int
	DirectoryCPUPerLogin time.Duration `json:",omitempty"` // with --ldap-pid
	GeneratorCPUPerLogin time.Duration
	// Ceilings: search-then-bind as configured, then plain bind.
	Ceilings []ceilingResult `json:",omitempty"`
	// OfCeiling is accepted logins/s over the search-then-bind ceiling.
	OfCeiling float64 `json:",omitempty"`
}

// ldapTarget is the share of the search-then-bind ceiling the login path
// is to reach.
const ldapTarget = 0.85

// benchCeilings runs the direct search-then-bind and plain-bind loads at
// the run's concurrency and records them in res.
func (c *cli) benchCeilings(o benchOptions, cfg *config.Config, users []benchUser, res *benchResult) error {
	plan, err := newLDAPPlan(cfg.LDAP)
	if err != nil {
		return err
	}
	for _, p := range []*ldapPlan{&plan, nil} {
		what := "the same LDAP operations"
		if p == nil {
			what = "plain binds"
		}
		fmt.Fprintf(c.stderr, "bench: %s straight from here, no RADIUS: %d workers, %s...\n", what, o.Concurrency, o.Duration)
		r, err := runLDAPCeiling(o.LDAP, p, users, o.Concurrency, o.Duration)
		if err != nil {
			return err
		}
		res.LDAP.Ceilings = append(res.LDAP.Ceilings, r)
	}
	res.LDAP.OfCeiling = res.AcceptedPerSec / res.LDAP.Ceilings[0].OpsPerSec
	return nil
}

func (r *benchLDAPResult) print(w io.Writer, loginsPerSec float64, serverCPU time.Duration, concurrency int) {
	us := func(d time.Duration) string { return d.Round(time.Microsecond).String() }
	fmt.Fprintf(w, "directory %s, groups %s, pool_size %d\n", r.URL, r.Groups, r.PoolSize)
	if r.DirectoryCPUPerLogin > 0 {
		fmt.Fprintf(w, "directory CPU per accepted login: %s\n", us(r.DirectoryCPUPerLogin))
	}
	fmt.Fprintf(w, "generator CPU per accepted login: %s\n", us(r.GeneratorCPUPerLogin))
	if len(r.Ceilings) == 0 {
		return
	}
	fmt.Fprintf(w, "direct LDAP from this process, no RADIUS, %d workers:\n", concurrency)
	for _, c := range r.Ceilings {
		fmt.Fprintf(w, "  %s (%.1f LDAP operations each): %.0f/s, p50 %s, p99 %s, max %s; client CPU %s",
			c.Name, c.LDAPOpsPerOp, c.OpsPerSec, us(c.P50), us(c.P99), us(c.Max), us(c.ClientCPUPerOp))
		if c.DirectoryCPUPerOp > 0 {
			fmt.Fprintf(w, ", directory CPU %s", us(c.DirectoryCPUPerOp))
		}
		fmt.Fprintln(w)
	}
	if c := r.Ceilings[0]; r.DirectoryCPUPerLogin > 0 && c.DirectoryCPUPerOp > 0 {
		through := serverCPU + r.DirectoryCPUPerLogin + r.GeneratorCPUPerLogin
		direct := c.ClientCPUPerOp + c.DirectoryCPUPerOp
		fmt.Fprintf(w, "CPU per login on this machine: %s through RADIUS (server, directory, generator), %s direct (client, directory): %.0f%%\n",
			us(through), us(direct), 100*float64(direct)/float64(through))
	}
	verdict := "met"
	if r.OfCeiling < ldapTarget {
		verdict = "MISSED"
	}
	fmt.Fprintf(w, "logins/s of the search-then-bind ceiling: %.0f%% (%.0f of %.0f; target ≥ %.0f%%: %s)\n",
		100*r.OfCeiling, loginsPerSec, r.Ceilings[0].OpsPerSec, 100*ldapTarget, verdict)
}
