package main

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/go-ldap/ldap/v3"

	"radiusmfa/config"
	"radiusmfa/ldapauth"
)

// ldapPlan is what one login asks of an OpenLDAP directory, derived from
// the server's configuration the way ldapauth derives it: the user search
// on a service connection, the user's bind (with the password policy
// control) on a connection kept for binds, then the group filter search
// and, with nested groups, one search per level on the service connection.
// The ceiling issues exactly these requests, so it is the limit of the
// login path: the same directory work, with no RADIUS, TOTP or store.
type ldapPlan struct {
	baseDN       string
	scope        int
	userFilter   string // with {username}
	userAttrs    []string
	groupAttr    string // group DNs on the entry; "" for none
	groupBaseDN  string
	groupFilter  string // with {dn} and {username}
	groupAttrs   []string
	usernameAttr string
	nested       bool
	timeLimit    int // seconds, as ldapauth asks for
}

// newLDAPPlan reads the plan from the ldap section (defaults applied by the
// config loader, filters by ldapauth's exported defaults).
func newLDAPPlan(l config.LDAPConfig) (ldapPlan, error) {
	if l.Type != ldapauth.KindOpenLDAP {
		return ldapPlan{}, fmt.Errorf("bench: the ceiling mirrors OpenLDAP logins only, not type %q", l.Type)
	}
	if l.BindDN == "" {
		return ldapPlan{}, errors.New("bench: the ceiling mirrors search-then-bind only (bind_dn set)")
	}
	def := func(v, d string) string {
		if v == "" {
			return d
		}
		return v
	}
	scope, ok := map[string]int{"sub": ldap.ScopeWholeSubtree, "one": ldap.ScopeSingleLevel, "base": ldap.ScopeBaseObject}[def(l.Scope, "sub")]
	if !ok {
		return ldapPlan{}, fmt.Errorf("bench: ldap.scope %q", l.Scope)
	}
	timeout := l.Timeout
	if timeout <= 0 {
		timeout = ldapauth.DefaultTimeout
	}
	p := ldapPlan{
		baseDN:       l.BaseDN,
		scope:        scope,
		userFilter:   def(l.UserFilter, ldapauth.OpenLDAPUserFilter),
		groupAttr:    l.Groups.Attribute,
		groupBaseDN:  def(l.Groups.BaseDN, l.BaseDN),
		groupFilter:  def(l.Groups.Filter, ldapauth.OpenLDAPGroupFilter),
		groupAttrs:   []string{def(l.Groups.NameAttribute, "cn")},
		usernameAttr: def(l.UsernameAttribute, "uid"),
		nested:       l.Groups.Nested,
		timeLimit:    int(timeout/time.Second) + 1,
	}
	phones := l.Profile.Phone
	if phones == nil {
		phones = []string{"mobile", "telephoneNumber"}
	}
	// The entry's attributes, in ldapauth's order, each once.
	seen := map[string]bool{}
	for _, a := range append([]string{p.usernameAttr, p.groupAttr, def(l.Profile.Mail, "mail"),
		def(l.Profile.DisplayName, "displayName")}, phones...) {
		if k := strings.ToLower(a); a != "" && !seen[k] {
			seen[k] = true
			p.userAttrs = append(p.userAttrs, a)
		}
	}
	return p, nil
}

// login issues one login's operations and returns how many it sent.
func (p *ldapPlan) login(svc, usr *ldap.Conn, name, password string) (int, error) {
	filter := strings.ReplaceAll(p.userFilter, "{username}", ldap.EscapeFilter(name))
	res, err := svc.Search(ldap.NewSearchRequest(p.baseDN, p.scope, ldap.NeverDerefAliases, 2, p.timeLimit, false, filter, p.userAttrs, nil))
	if err != nil {
		return 1, fmt.Errorf("user search %s: %w", name, err)
	}
	if len(res.Entries) != 1 {
		return 1, fmt.Errorf("user search %s: %d entries", name, len(res.Entries))
	}
	e := res.Entries[0]
	ops := 2
	req := ldap.NewSimpleBindRequest(e.DN, password, []ldap.Control{ldap.NewControlBeheraPasswordPolicy()})
	if _, err := usr.SimpleBind(req); err != nil {
		return ops, fmt.Errorf("bind %s: %w", e.DN, err)
	}
	username := name
	if v := e.GetEqualFoldAttributeValue(p.usernameAttr); v != "" {
		username = v
	}
	seen := map[string]bool{}
	var frontier []string
	add := func(dn string) {
		if k := strings.ToLower(dn); !seen[k] {
			seen[k] = true
			frontier = append(frontier, dn)
		}
	}
	if p.groupAttr != "" {
		for _, dn := range e.GetEqualFoldAttributeValues(p.groupAttr) {
			add(dn)
		}
	}
	search := func(f string) ([]*ldap.Entry, error) {
		ops++
		r, err := svc.Search(ldap.NewSearchRequest(p.groupBaseDN, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, p.timeLimit, false, f, p.groupAttrs, nil))
		if err != nil {
			return nil, fmt.Errorf("group search for %s: %w", name, err)
		}
		return r.Entries, nil
	}
	gf := strings.NewReplacer("{dn}", ldap.EscapeFilter(e.DN), "{username}", ldap.EscapeFilter(username)).Replace(p.groupFilter)
	es, err := search(gf)
	if err != nil {
		return ops, err
	}
	for _, g := range es {
		add(g.DN)
	}
	for depth := 0; p.nested && len(frontier) > 0 && depth < 16; depth++ {
		f := ldapauth.NestedGroupFilter(frontier)
		frontier = frontier[:0]
		es, err := search(f)
		if err != nil {
			return ops, err
		}
		for _, g := range es {
			add(g.DN)
		}
	}
	return ops, nil
}

// ceilingResult is what one direct run measured; an op is one login's
// operations (search-then-bind) or one bind (plain bind).
type ceilingResult struct {
	Name              string
	Ops               int64
	LDAPOpsPerOp      float64
	Elapsed           time.Duration
	OpsPerSec         float64
	P50, P99, Max     time.Duration
	DirectoryCPUPerOp time.Duration `json:",omitempty"` // with --ldap-pid
	ClientCPUPerOp    time.Duration
}

// runLDAPCeiling has concurrency workers, each with its own connections
// (the pools of the server, never waited for), issue plan's operations for
// their users until d has passed; with plan nil, plain binds as the user
// (no control), on one connection per worker.
func runLDAPCeiling(l benchLDAP, plan *ldapPlan, users []benchUser, concurrency int, d time.Duration) (ceilingResult, error) {
	tc, err := l.tlsConfig()
	if err != nil {
		return ceilingResult{}, err
	}
	type worker struct {
		svc, usr *ldap.Conn
		mine     []*benchUser
		lat      []time.Duration
		ldapOps  int64
		err      error
	}
	ws := make([]*worker, 0, concurrency)
	defer func() {
		for _, w := range ws {
			for _, c := range []*ldap.Conn{w.svc, w.usr} {
				if c != nil {
					c.Close()
				}
			}
		}
	}()
	for i := 0; i < concurrency && i < len(users); i++ {
		w := &worker{}
		ws = append(ws, w)
		for j := i; j < len(users); j += concurrency {
			w.mine = append(w.mine, &users[j])
		}
		if w.usr, err = dialLDAP(l.URL, tc); err != nil {
			return ceilingResult{}, err
		}
		if plan != nil {
			if w.svc, err = dialLDAP(l.URL, tc); err != nil {
				return ceilingResult{}, err
			}
			if err := w.svc.Bind(l.BindDN, l.BindPassword); err != nil {
				return ceilingResult{}, fmt.Errorf("bench: service account bind: %w", err)
			}
		}
	}
	cpuDir, cpuSelf := processCPU(l.SlapdPID), processCPU(os.Getpid())
	start := time.Now()
	stopAt := start.Add(d)
	var wg sync.WaitGroup
	for _, w := range ws {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; time.Now().Before(stopAt); i++ {
				u := w.mine[i%len(w.mine)]
				t0 := time.Now()
				var n int
				if plan != nil {
					n, w.err = plan.login(w.svc, w.usr, u.Name, u.Password)
				} else {
					n, w.err = 1, w.usr.Bind(u.dn, u.Password)
				}
				w.ldapOps += int64(n)
				if w.err != nil {
					return
				}
				w.lat = append(w.lat, time.Since(t0))
			}
		}()
	}
	wg.Wait()
	r := ceilingResult{Name: "plain bind", Elapsed: time.Since(start)}
	if plan != nil {
		r.Name = "search-then-bind as configured"
	}
	var lat []time.Duration
	var ldapOps int64
	for _, w := range ws {
		if w.err != nil {
			return r, fmt.Errorf("bench: %s: %w", r.Name, w.err)
		}
		lat = append(lat, w.lat...)
		ldapOps += w.ldapOps
	}
	r.Ops = int64(len(lat))
	if r.Ops == 0 {
		return r, fmt.Errorf("bench: %s: nothing completed", r.Name)
	}
	r.OpsPerSec = float64(r.Ops) / r.Elapsed.Seconds()
	r.LDAPOpsPerOp = float64(ldapOps) / float64(r.Ops)
	slices.Sort(lat)
	r.P50, r.P99, r.Max = lat[len(lat)/2], lat[len(lat)*99/100], lat[len(lat)-1]
	if l.SlapdPID != 0 {
		r.DirectoryCPUPerOp = (processCPU(l.SlapdPID) - cpuDir) / time.Duration(r.Ops)
	}
	r.ClientCPUPerOp = (processCPU(os.Getpid()) - cpuSelf) / time.Duration(r.Ops)
	return r, nil
}

// tlsConfig is how the ceiling checks the directory, as the server does:
// the CA file (or the system roots) and the URL's host name.
func (l benchLDAP) tlsConfig() (*tls.Config, error) {
	u, err := url.Parse(l.URL)
	if err != nil {
		return nil, err
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: u.Hostname()}
	if l.CAFile != "" {
		pem, err := os.ReadFile(l.CAFile)
		if err != nil {
			return nil, err
		}
		tc.RootCAs = x509.NewCertPool()
		if !tc.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("bench: %s: no PEM certificate", l.CAFile)
		}
	}
	return tc, nil
}

func dialLDAP(rawURL string, tc *tls.Config) (*ldap.Conn, error) {
	c, err := ldap.DialURL(rawURL, ldap.DialWithTLSConfig(tc))
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	c.SetTimeout(30 * time.Second)
	return c, nil
}
