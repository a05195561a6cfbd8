package admin

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"radiusmfa/auth"
	"radiusmfa/store"
)

// Kinds of audit record the console writes beside "admin".
const (
	// KindReport is a user's "this wasn't me" about one of their logins.
	KindReport = "report"
)

// AuditQuery filters the audit log. Zero fields do not filter.
type AuditQuery struct {
	User    string    `json:"user,omitempty"`
	Kind    string    `json:"kind,omitempty"`
	Outcome string    `json:"outcome,omitempty"`
	Client  string    `json:"client,omitempty"`
	Since   time.Time `json:"since,omitzero"`
	Until   time.Time `json:"until,omitzero"`
	Limit   int       `json:"limit,omitempty"` // default 200, at most 10000
}

// maxAuditScan bounds how many of the newest records one query reads.
const maxAuditScan = 100000

// Settings returns the run-time settings (enforcement).
func (s *Service) Settings(ctx context.Context) (store.Settings, error) {
	if _, err := s.authorize(ctx, "", needStaff); err != nil {
		return store.Settings{}, err
	}
	return s.st.Settings(ctx)
}

// SetEnforcement replaces the enforcement settings; only admins may. They
// are checked first (a bad mode is ErrInvalid and changes nothing), stored,
// then put in force through Options.OnEnforcement.
func (s *Service) SetEnforcement(ctx context.Context, e store.Enforcement) error {
	p, err := s.authorize(ctx, "", needAdmin)
	if err != nil {
		return err
	}
	for _, m := range e.Methods {
		if !slices.Contains(s.methods(), m) {
			return fmt.Errorf("%w: unknown method %q (known: %s)", ErrInvalid, m, strings.Join(s.methods(), ", "))
		}
	}
	e.Methods = slices.Compact(slices.Sorted(slices.Values(e.Methods))) // nil when empty
	if _, ok := e.Clients[""]; ok {
		return fmt.Errorf("%w: a client mode needs a client name", ErrInvalid)
	}
	compiled, err := auth.CompileEnforcement(e)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	e = canonicalEnforcement(e, compiled)
	now := s.opt.Now().UTC()
	err = s.st.UpdateSettings(ctx, func(st *store.Settings) error {
		st.Enforcement, st.UpdatedAt, st.UpdatedBy = e, now, p.Name
		return nil
	})
	if err != nil {
		return err
	}
	if s.opt.OnEnforcement != nil {
		s.opt.OnEnforcement(compiled)
	}
	s.audit(ctx, "enforcement.set "+describeEnforcement(e), "")
	return nil
}

// canonicalEnforcement is e with its modes spelled as compiled (" Required"
// is stored as "required") and its deadline in UTC, in fresh maps the
// caller no longer holds.
func canonicalEnforcement(e store.Enforcement, c *auth.Enforcement) store.Enforcement {
	e.Mode = string(c.Global)
	if !e.Deadline.IsZero() {
		e.Deadline = e.Deadline.UTC()
	}
	groups := maps.Clone(e.Groups)
	for g, m := range groups {
		groups[g] = strings.ToLower(strings.TrimSpace(m))
	}
	e.Groups = groups
	clients := maps.Clone(e.Clients)
	for name, m := range c.Clients {
		clients[name] = string(m)
	}
	e.Clients = clients
	return e
}

// methods lists the enrollment kinds an admin may allow.
func (s *Service) methods() []string {
	var out []string
	for k := range s.opt.Factors {
		if k != auth.KindBypass {
			out = append(out, k)
		}
	}
	if s.opt.Push {
		out = append(out, auth.KindPush)
	}
	slices.Sort(out)
	return out
}

// Methods lists the kinds of device the server runs (for the console).
func (s *Service) Methods() []string { return s.methods() }

func describeEnforcement(e store.Enforcement) string {
	var b strings.Builder
	fmt.Fprintf(&b, "mode=%s", cmp.Or(e.Mode, "default"))
	for _, g := range slices.Sorted(maps.Keys(e.Groups)) {
		fmt.Fprintf(&b, " group:%s=%s", g, e.Groups[g])
	}
	for _, c := range slices.Sorted(maps.Keys(e.Clients)) {
		fmt.Fprintf(&b, " client:%s=%s", c, e.Clients[c])
	}
	if !e.Deadline.IsZero() {
		fmt.Fprintf(&b, " deadline=%s", e.Deadline.UTC().Format(time.RFC3339))
	}
	if len(e.Methods) > 0 {
		fmt.Fprintf(&b, " methods=%s", strings.Join(e.Methods, ","))
	}
	return b.String()
}

// SetRoles sets a built-in user's console roles; only admins may.
func (s *Service) SetRoles(ctx context.Context, user string, roles []string) error {
	n, p, err := s.user(ctx, user, needAdmin)
	if err != nil {
		return err
	}
	for _, r := range roles {
		if !ValidRole(r) {
			return fmt.Errorf("%w: unknown role %q (admin, helpdesk)", ErrInvalid, r)
		}
	}
	if s.isSelf(p, n) && !slices.Contains(roles, RoleAdmin) {
		return fmt.Errorf("%w: an admin cannot take away their own admin role", ErrInvalid)
	}
	roles = slices.Compact(slices.Sorted(slices.Values(roles)))
	err = s.st.UpdateUser(ctx, n, func(u *store.User) error {
		if u.Directory != "" {
			// Stored roles would be ignored: the directory's groups decide.
			return fmt.Errorf("%w: %s is a directory user: their role comes from web.admin_groups and web.helpdesk_groups",
				ErrInvalid, u.Name)
		}
		u.Roles, u.UpdatedAt = roles, s.opt.Now().UTC()
		return nil
	})
	if err != nil {
		return err
	}
	s.audit(ctx, "user.roles "+strings.Join(roles, ","), n)
	return nil
}

// QueryAudit returns the newest records matching q, newest first.
func (s *Service) QueryAudit(ctx context.Context, q AuditQuery) ([]store.AuditRecord, error) {
	if _, err := s.authorize(ctx, "", needStaff); err != nil {
		return nil, err
	}
	return s.queryAudit(ctx, q)
}

func (s *Service) queryAudit(ctx context.Context, q AuditQuery) ([]store.AuditRecord, error) {
	if q.Limit <= 0 {
		q.Limit = 200
	}
	if q.Limit > 10000 {
		return nil, fmt.Errorf("%w: limit must be at most 10000", ErrInvalid)
	}
	all, err := s.st.RecentAudit(ctx, maxAuditScan)
	if err != nil {
		return nil, err
	}
	var out []store.AuditRecord
	for i := len(all) - 1; i >= 0 && len(out) < q.Limit; i-- {
		r := all[i]
		if (q.User != "" && !strings.EqualFold(r.User, q.User)) || (q.Kind != "" && r.Kind != q.Kind) ||
			(q.Outcome != "" && r.Outcome != q.Outcome) || (q.Client != "" && r.Client != q.Client) ||
			(!q.Since.IsZero() && r.Time.Before(q.Since)) || (!q.Until.IsZero() && !r.Time.Before(q.Until)) {
			continue
		}
		out = append(out, r)
	}
	return out, nil
}

// MyLogins returns the user's own recent sign-ins (RADIUS and site),
// newest first.
func (s *Service) MyLogins(ctx context.Context, user string, n int) ([]store.AuditRecord, error) {
	u, _, err := s.user(ctx, user, needSelfOrStaff)
	if err != nil {
		return nil, err
	}
	recs, err := s.queryAudit(ctx, AuditQuery{User: u, Limit: 10000})
	if err != nil {
		return nil, err
	}
	var out []store.AuditRecord
	for _, r := range recs {
		if isLogin(r) && len(out) < n {
			out = append(out, r)
		}
	}
	return out, nil
}

// ReportLogin records a user's "this wasn't me" about one of their own
// logins (by audit sequence number) and alerts the admins.
func (s *Service) ReportLogin(ctx context.Context, user string, seq uint64) error {
	n, _, err := s.user(ctx, user, needSelf)
	if err != nil {
		return err
	}
	recs, err := s.queryAudit(ctx, AuditQuery{User: n, Limit: 10000})
	if err != nil {
		return err
	}
	i := slices.IndexFunc(recs, func(r store.AuditRecord) bool { return r.Seq == seq && isLogin(r) })
	if i < 0 {
		return fmt.Errorf("%w: login %d of user %q", store.ErrNotFound, seq, n)
	}
	r := recs[i]
	// A login is reported once: pressing again changes nothing and alerts
	// nobody (a user must not be able to flood the admins' alerts).
	detail := fmt.Sprintf("this wasn't me: login %d at ", r.Seq)
	if slices.ContainsFunc(recs, func(x store.AuditRecord) bool { return x.Kind == KindReport && strings.HasPrefix(x.Detail, detail) }) {
		return nil
	}
	rep := store.AuditRecord{Time: s.opt.Now().UTC(), Kind: KindReport, User: n, Client: r.Client,
		NASIdentifier: r.NASIdentifier, NASIPAddress: r.NASIPAddress, CallingStationID: r.CallingStationID,
		Outcome: r.Outcome, Detail: fmt.Sprintf("this wasn't me: login %d at %s", r.Seq, r.Time.UTC().Format(time.RFC3339))}
	if err := s.st.AppendAudit(ctx, rep); err != nil {
		return err
	}
	if s.opt.Alert != nil {
		s.opt.Alert(rep)
	}
	return nil
}

// Reports returns the newest "this wasn't me" reports (for the console's
// front page).
func (s *Service) Reports(ctx context.Context, n int) ([]store.AuditRecord, error) {
	return s.QueryAudit(ctx, AuditQuery{Kind: KindReport, Limit: n})
}

// Clients returns the RADIUS clients overview.
func (s *Service) Clients(ctx context.Context) ([]ClientInfo, error) {
	if _, err := s.authorize(ctx, "", needStaff); err != nil {
		return nil, err
	}
	if s.opt.Clients == nil {
		return nil, nil
	}
	return s.opt.Clients(), nil
}

// ClientInfo is one line of the RADIUS clients overview.
type ClientInfo struct {
	Name                        string    `json:"name"`
	Networks                    []string  `json:"networks"`
	RequireMessageAuthenticator string    `json:"require_message_authenticator"`
	LastRequest                 time.Time `json:"last_request,omitzero"`
	LastSource                  string    `json:"last_source,omitempty"`
	Requests                    uint64    `json:"requests"`
	Accepts                     uint64    `json:"accepts"`
	Rejects                     uint64    `json:"rejects"`
	Challenges                  uint64    `json:"challenges"`
	WithMessageAuthenticator    uint64    `json:"with_message_authenticator"`
	WithoutMessageAuthenticator uint64    `json:"without_message_authenticator"`
}

// isLogin reports whether r is a login: a RADIUS decision or a sign-in on
// the site (not the site's other records, such as a refused enrollment).
func isLogin(r store.AuditRecord) bool {
	return r.Kind == "auth" || (r.Kind == "web" && r.Detail == "sign-in")
}
