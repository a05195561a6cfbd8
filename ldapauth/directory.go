package ldapauth

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"

	"github.com/go-ldap/ldap/v3"
	"github.com/prometheus/client_golang/prometheus"

	"radiusmfa/auth"
	"radiusmfa/store"
)

// Directory authenticates users against an LDAP directory or Active
// Directory. It is safe for concurrent use.
type Directory struct {
	cfg       Config
	servers   []*server
	next      atomic.Uint64 // round-robin start
	log       *slog.Logger
	m         *metrics
	attrs     []string // attributes read from the user entry
	decoyDN   string
	decoyPass string
	now       func() time.Time
}

var (
	_ auth.Authenticator  = (*Directory)(nil)
	_ auth.NameNormalizer = (*Directory)(nil)
)

// UnavailableError is returned when no server could answer: the login fails
// closed with reason directory_unavailable. It lists each server's failure.
type UnavailableError struct{ Errs []error }

func (e *UnavailableError) Error() string {
	return "ldap: no directory server available: " + errors.Join(e.Errs...).Error()
}

func (e *UnavailableError) Unwrap() []error { return e.Errs }

// New checks cfg, builds the server list and registers the metrics on reg
// (which may be nil). It opens no connection: the first login or Check does.
func New(cfg Config, log *slog.Logger, reg prometheus.Registerer) (*Directory, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	d := &Directory{cfg: cfg, log: log, now: time.Now}
	for _, raw := range cfg.Servers {
		s, err := newServer(raw, cfg)
		if err != nil {
			return nil, err
		}
		d.servers = append(d.servers, s)
	}
	d.m = newMetrics(reg, cfg.Servers)
	d.attrs = userAttributes(cfg)
	// A bind for a name that matched no entry goes to a DN that cannot
	// exist, with a password that is not the user's, so that an unknown
	// user costs the same round trips as a wrong password and the typed
	// password never leaves for a made-up account.
	var r [16]byte
	_, _ = rand.Read(r[:])
	d.decoyDN = "cn=radiusmfa-decoy-" + hex.EncodeToString(r[:8]) + "," + cfg.BaseDN
	d.decoyPass = hex.EncodeToString(r[8:])
	return d, nil
}

func userAttributes(c Config) []string {
	seen := map[string]bool{}
	var out []string
	add := func(names ...string) {
		for _, n := range names {
			if k := strings.ToLower(n); n != "" && !seen[k] {
				seen[k] = true
				out = append(out, n)
			}
		}
	}
	add(c.UsernameAttribute, c.GroupAttribute, c.MailAttribute, c.DisplayNameAttribute)
	add(c.PhoneAttributes...)
	if c.Kind == KindAD && c.PrimaryGroup {
		add("primaryGroupID", "objectSid")
	}
	return out
}

// Close closes the idle pooled connections.
func (d *Directory) Close() {
	for _, s := range d.servers {
		s.svc.closeIdle()
		s.user.closeIdle()
	}
}

// NormalizeName strips a NetBIOS domain (DOMAIN\user) or a realm
// (user@realm) as configured, so that every spelling of a user shares one
// lockout counter and one set of devices. A domain or realm outside the
// configured lists is left in place, and so matches no one.
func (d *Directory) NormalizeName(name string) string {
	if d.cfg.StripDomain {
		if dom, user, ok := strings.Cut(name, `\`); ok && user != "" && allowed(dom, d.cfg.Domains) {
			name = user
		}
	}
	if d.cfg.StripRealm {
		if i := strings.LastIndexByte(name, '@'); i > 0 && allowed(name[i+1:], d.cfg.Realms) {
			name = name[:i]
		}
	}
	return name
}

func allowed(v string, list []string) bool {
	if len(list) == 0 {
		return true
	}
	for _, x := range list {
		if strings.EqualFold(x, v) {
			return true
		}
	}
	return false
}

// order lists the servers to try: those outside a back-off period, from
// the round-robin start; when every server is backing off, all of them, so
// a directory that recovers is found by the next login.
func (d *Directory) order() []*server {
	n := len(d.servers)
	start := 0
	if d.cfg.RoundRobin {
		start = int(d.next.Add(1)-1) % n
	}
	now := d.now()
	out := make([]*server, 0, n)
	for i := range n {
		if s := d.servers[(start+i)%n]; s.available(now) {
			out = append(out, s)
		}
	}
	if len(out) == 0 {
		for i := range n {
			out = append(out, d.servers[(start+i)%n])
		}
	}
	return out
}

// each runs step on the servers in order until one answers: step returns
// nil or an error that is an answer, not a failure of the server. Each
// call of step must carry on where the previous server left off (the caller
// keeps its progress), so no bind is ever repeated.
func (d *Directory) each(ctx context.Context, step func(*server) error) error {
	var errs []error
	for _, s := range d.order() {
		err := step(s)
		if errors.Is(err, errPoolWait) {
			return err // overload: says nothing of the server
		}
		var stop *stopError
		if errors.As(err, &stop) {
			if isNetError(stop.err) || errors.Is(stop.err, auth.ErrAttemptSpent) {
				d.serverFailed(s, stop.err)
			}
			errs = append(errs, fmt.Errorf("%s: %w", s.url, stop.err))
			break
		}
		if err == nil || !isNetError(err) {
			if s.markUp() {
				d.log.Info("ldap server is back", slog.String("server", s.url))
			}
			d.m.up(s.url, true)
			return err
		}
		if ctx.Err() != nil {
			return err // out of time: the deadline, not the server, decided
		}
		d.serverFailed(s, err)
		errs = append(errs, fmt.Errorf("%s: %w", s.url, err))
	}
	d.m.unavailable.Inc()
	uerr := &UnavailableError{Errs: errs}
	d.log.Error("ldap: every directory server failed; logins fail closed", slog.Any("err", uerr))
	return uerr
}

// serverFailed counts a failure of s and starts its back-off.
func (d *Directory) serverFailed(s *server, err error) {
	d.m.serverErrors.WithLabelValues(s.url).Inc()
	d.m.up(s.url, false)
	if s.markDown(d.now(), d.cfg.Backoff) {
		d.log.Warn("ldap server failed; skipping it while others answer",
			slog.String("server", s.url), slog.Duration("backoff", d.cfg.Backoff), slog.Any("err", err))
	}
}

// Authenticate checks name and password with exactly one user bind.
func (d *Directory) Authenticate(ctx context.Context, name, password string) (auth.Identity, bool, error) {
	if password == "" {
		// Never bind with an empty password: to many servers that is an
		// unauthenticated bind, which "succeeds" for any name.
		return auth.Identity{}, false, nil
	}
	var (
		id  auth.Identity
		ok  bool
		err error
	)
	if d.cfg.BindDN == "" {
		id, ok, err = d.directBind(ctx, name, password)
	} else {
		id, ok, err = d.searchThenBind(ctx, name, password)
	}
	switch {
	case errors.Is(err, errPoolWait):
		err = fmt.Errorf("ldap: %w", auth.ErrOverloaded)
	case err == nil && ok:
		d.m.logins.WithLabelValues("accepted").Inc()
	case err == nil:
		d.m.logins.WithLabelValues("rejected").Inc()
	}
	return id, ok, err
}

// stopError ends the walk over the servers without contacting the next:
// the login fails closed (directory unavailable).
type stopError struct{ err error }

func (e *stopError) Error() string { return e.err.Error() }
func (e *stopError) Unwrap() error { return e.err }

// errNoEntry ends a login whose name matched no entry (after the decoy
// bind); errAmbiguous one whose name matched several.
var (
	errNoEntry   = errors.New("ldap: no such user")
	errAmbiguous = errors.New("ldap: the user filter matched several entries")
)

func (d *Directory) searchThenBind(ctx context.Context, name, password string) (auth.Identity, bool, error) {
	var (
		entry   *ldap.Entry
		bound   bool
		bindErr error
		policy  *ldap.ControlBeheraPasswordPolicy
		id      auth.Identity
	)
	filter := strings.ReplaceAll(d.cfg.UserFilter, phUsername, ldap.EscapeFilter(name))
	err := d.each(ctx, func(s *server) error {
		if entry == nil {
			e, err := d.findUser(ctx, s, filter)
			if err != nil {
				return err
			}
			if e == nil {
				// The bind a known user would cost.
				var stop *stopError
				if _, err := d.bind(ctx, s, d.decoyDN, d.decoyPass); isNetError(err) || errors.As(err, &stop) {
					return err
				}
				return errNoEntry
			}
			entry = e
		}
		if !bound {
			var err error
			policy, err = d.bind(ctx, s, entry.DN, password)
			var stop *stopError
			if isNetError(err) || errors.As(err, &stop) {
				return err // not sent: next server; sent: stop
			}
			bound, bindErr = true, err
		}
		if bindErr != nil {
			return nil
		}
		if denial := policyDenial(policy); denial.Reason != "" {
			id = denial
			return nil
		}
		var err error
		id, err = d.identity(ctx, s, entry, name)
		return err
	})
	if err != nil || bindErr != nil {
		return d.refusal(name, err, bindErr, policy, entry)
	}
	if id.Reason != "" {
		id.DN = entry.DN
		return id, false, nil
	}
	return id, true, nil
}

// refusal turns a login that did not succeed into the authenticator's
// answer: a plain refusal for an unknown or ambiguous name, the error for a
// failed directory, the explained denial of a refused bind.
func (d *Directory) refusal(name string, err, bindErr error, policy *ldap.ControlBeheraPasswordPolicy, entry *ldap.Entry) (auth.Identity, bool, error) {
	switch {
	case errors.Is(err, errNoEntry):
		return auth.Identity{Reason: auth.ReasonBadCredentials}, false, nil
	case errors.Is(err, errAmbiguous):
		d.log.Warn("ldap: user filter matched several entries; login refused", slog.String("user", name))
		return auth.Identity{Reason: auth.ReasonBadCredentials}, false, nil
	case err != nil:
		return auth.Identity{}, false, err
	}
	return denialFor(bindErr, policy, entry.DN, d.log), false, nil
}

func (d *Directory) directBind(ctx context.Context, name, password string) (auth.Identity, bool, error) {
	dnTemplate := strings.Contains(d.cfg.BindTemplate, "=")
	who := name
	if dnTemplate {
		who = ldap.EscapeDN(name)
	}
	bindName := strings.ReplaceAll(d.cfg.BindTemplate, phUsername, who)
	// The user's own entry, read as the user after the bind: it must pass
	// the user filter, and be the account that bound (its DN, or its UPN).
	userFilter := strings.ReplaceAll(d.cfg.UserFilter, phUsername, ldap.EscapeFilter(name))
	base, scope := d.cfg.BaseDN, scopes[d.cfg.Scope]
	switch {
	case dnTemplate:
		base, scope = bindName, ldap.ScopeBaseObject
	case d.cfg.Kind == KindAD:
		userFilter = "(&" + userFilter + "(userPrincipalName=" + ldap.EscapeFilter(bindName) + "))"
	}
	var (
		bindErr error
		policy  *ldap.ControlBeheraPasswordPolicy
		id      auth.Identity
	)
	err := d.each(ctx, func(s *server) error {
		c, _, err := d.conn(ctx, s, &s.user, nil)
		if err != nil {
			return err // nothing sent yet: the next server may answer
		}
		policy, bindErr = d.bindOn(ctx, c, bindName, password)
		if isNetError(bindErr) {
			s.user.discard(c)
			return spent(bindErr)
		}
		if bindErr != nil {
			s.user.put(c)
			return nil
		}
		if denial := policyDenial(policy); denial.Reason != "" {
			s.user.put(c)
			id = denial
			return nil
		}
		// Read as the user: the connection stays in the user-bind pool,
		// where the next use binds again first.
		entry, err := d.search(ctx, c, base, scope, userFilter, d.attrs, 2)
		switch {
		case err == nil && entry == nil:
			d.log.Warn("ldap: the user bound, but no entry matching user_filter was found as that user; login refused",
				slog.String("user", name), slog.String("bind", bindName))
			err = errNoEntry
		case err == nil:
			id, err = d.identityOn(ctx, c, entry, name)
		}
		if isNetError(err) {
			s.user.discard(c)
			// Bound already: another server would need a second bind.
			return &stopError{err: fmt.Errorf("after the user's bind: %w", err)}
		}
		s.user.put(c)
		return err
	})
	if err != nil || bindErr != nil {
		return d.refusal(name, err, bindErr, policy, &ldap.Entry{DN: bindName})
	}
	return id, id.Reason == "", nil
}

// svcBind binds a new service connection as the service account. A
// refusal is a failure of that server (the next may hold the account), not
// an answer about the user.
func (d *Directory) svcBind(ctx context.Context, c *conn) error {
	t, ok := stepTimeout(ctx, d.cfg.Timeout)
	if !ok {
		return ctx.Err()
	}
	c.within(t)
	if err := c.Bind(d.cfg.BindDN, d.cfg.BindPassword); err != nil {
		return &netError{op: "service account bind", err: err}
	}
	return nil
}

// conn takes a connection from p (reused) or opens (and, with setup,
// prepares) a new one when none is idle.
func (d *Directory) conn(ctx context.Context, s *server, p *pool, setup func(context.Context, *conn) error) (c *conn, reused bool, err error) {
	c, reused, err = p.get(ctx)
	if err != nil || c != nil {
		return c, reused, err
	}
	c, err = s.dial(ctx)
	if err == nil && setup != nil {
		err = setup(ctx, c)
	}
	if err != nil {
		p.discard(c)
		return nil, false, err
	}
	return c, false, nil
}

// withConn runs fn on a pooled connection of p, once more on a new
// connection if a reused one turns out dead (a server closes idle
// connections), and returns the connection to the pool or discards it.
// It serves searches only, which may be repeated: a bind is never sent
// twice (see bind).
func (d *Directory) withConn(ctx context.Context, s *server, p *pool, setup func(context.Context, *conn) error, fn func(*conn) error) error {
	for attempt := 0; ; attempt++ {
		c, reused, err := d.conn(ctx, s, p, setup)
		if err != nil {
			return err
		}
		err = fn(c)
		if !isNetError(err) {
			p.put(c)
			return err
		}
		p.discard(c)
		if !reused || attempt > 0 || ctx.Err() != nil {
			return err
		}
	}
}

// findUser searches for the one entry filter names, on a service
// connection. nil, nil: no entry.
func (d *Directory) findUser(ctx context.Context, s *server, filter string) (*ldap.Entry, error) {
	var entry *ldap.Entry
	err := d.withConn(ctx, s, &s.svc, d.svcBind, func(c *conn) error {
		var err error
		entry, err = d.search(ctx, c, d.cfg.BaseDN, scopes[d.cfg.Scope], filter, d.attrs, 2)
		return err
	})
	return entry, err
}

// search returns the single entry a search finds, nil when none, and
// errAmbiguous when more than one (limit is the size limit asked for).
func (d *Directory) search(ctx context.Context, c *conn, base string, scope int, filter string, attrs []string, limit int) (*ldap.Entry, error) {
	res, err := d.searchAll(ctx, c, base, scope, filter, attrs, limit)
	switch {
	case ldap.IsErrorWithCode(err, ldap.LDAPResultSizeLimitExceeded):
		return nil, errAmbiguous
	case ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject):
		return nil, nil
	case err != nil:
		return nil, err
	case len(res) > 1:
		return nil, errAmbiguous
	case len(res) == 0:
		return nil, nil
	}
	return res[0], nil
}

func (d *Directory) searchAll(ctx context.Context, c *conn, base string, scope int, filter string, attrs []string, limit int) ([]*ldap.Entry, error) {
	t, ok := stepTimeout(ctx, d.cfg.Timeout)
	if !ok {
		return nil, &netError{op: "search", err: ctx.Err()}
	}
	c.within(t)
	req := ldap.NewSearchRequest(base, scope, ldap.NeverDerefAliases, limit, int(t/time.Second)+1, false, filter, attrs, nil)
	res, err := c.Search(req)
	if err != nil {
		if res != nil && ldap.IsErrorWithCode(err, ldap.LDAPResultSizeLimitExceeded) {
			return res.Entries, err
		}
		return nil, err
	}
	return res.Entries, nil // referrals (AD's partitions) are ignored, never chased
}

// bind binds dn on a connection of s's user-bind pool. A failure before
// the request is sent (no connection) lets the next server be tried; once
// it may have been sent, the attempt is spent: no retry, no other server.
func (d *Directory) bind(ctx context.Context, s *server, dn, password string) (*ldap.ControlBeheraPasswordPolicy, error) {
	c, _, err := d.conn(ctx, s, &s.user, nil)
	if err != nil {
		return nil, err
	}
	policy, err := d.bindOn(ctx, c, dn, password)
	if isNetError(err) {
		s.user.discard(c)
		return nil, spent(err)
	}
	s.user.put(c)
	return policy, err
}

// spent is the error of a bind whose answer was lost: the password may
// have been checked (and, if wrong, counted by AD), so the login fails
// closed at once and the engine answers instead of dropping.
func spent(err error) error {
	return &stopError{err: fmt.Errorf("bind sent, answer lost (%w): %w", err, auth.ErrAttemptSpent)}
}

// bindOn sends one simple bind, asking OpenLDAP for its password policy
// state (expired, must change, locked), and returns that state if any.
func (d *Directory) bindOn(ctx context.Context, c *conn, dn, password string) (*ldap.ControlBeheraPasswordPolicy, error) {
	t, ok := stepTimeout(ctx, d.cfg.Timeout)
	if !ok {
		return nil, &netError{op: "bind", err: ctx.Err()}
	}
	c.within(t)
	var controls []ldap.Control
	if d.cfg.Kind == KindOpenLDAP {
		controls = []ldap.Control{ldap.NewControlBeheraPasswordPolicy()}
	}
	res, err := c.SimpleBind(ldap.NewSimpleBindRequest(dn, password, controls))
	var policy *ldap.ControlBeheraPasswordPolicy
	if res != nil {
		if p, ok := ldap.FindControl(res.Controls, ldap.ControlTypeBeheraPasswordPolicy).(*ldap.ControlBeheraPasswordPolicy); ok {
			policy = p
		}
	}
	return policy, err
}

// identity reads the user's groups on a service connection and builds the
// Identity (search-then-bind).
func (d *Directory) identity(ctx context.Context, s *server, entry *ldap.Entry, name string) (auth.Identity, error) {
	var id auth.Identity
	err := d.withConn(ctx, s, &s.svc, d.svcBind, func(c *conn) error {
		var err error
		id, err = d.identityOn(ctx, c, entry, name)
		return err
	})
	return id, err
}

func (d *Directory) identityOn(ctx context.Context, c *conn, entry *ldap.Entry, name string) (auth.Identity, error) {
	id := auth.Identity{Name: name, DN: entry.DN, Profile: d.profile(entry)}
	if v := entry.GetEqualFoldAttributeValue(d.cfg.UsernameAttribute); v != "" {
		id.Name = v
	}
	gs, err := d.groups(ctx, c, entry, id.Name)
	if err != nil {
		return auth.Identity{}, err
	}
	for _, g := range gs {
		id.Groups = append(id.Groups, g.name)
		id.GroupDNs = append(id.GroupDNs, g.dn)
	}
	return id, nil
}

func (d *Directory) profile(e *ldap.Entry) store.Profile {
	p := store.Profile{
		DisplayName: e.GetEqualFoldAttributeValue(d.cfg.DisplayNameAttribute),
		Mail:        e.GetEqualFoldAttributeValue(d.cfg.MailAttribute),
	}
	for _, a := range d.cfg.PhoneAttributes {
		if v := e.GetEqualFoldAttributeValue(a); v != "" {
			p.Phone = v
			break
		}
	}
	return p
}
