package admin

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"radiusmfa/auth"
	"radiusmfa/factors"
	"radiusmfa/factors/backup"
	"radiusmfa/factors/bypass"
	"radiusmfa/store"
)

// Kinds of audit record the console writes beside "admin".
const (
	// KindReport is a user's "this wasn't me" about one of their logins.
	KindReport = "report"
)

// UserDetail is the console's user page.
type UserDetail struct {
	UserInfo
	Roles       []string            `json:"roles,omitempty"`
	Lockout     store.Lockout       `json:"lockout"`
	DeviceList  []Device            `json:"devices_list"`
	RecentAudit []store.AuditRecord `json:"recent_audit"`
}

// DirectoryUser is an account a directory search found (ldapauth.Search).
type DirectoryUser struct {
	Name        string `json:"name"`
	DisplayName string `json:"display_name,omitempty"`
	Mail        string `json:"mail,omitempty"`
	Disabled    bool   `json:"disabled,omitempty"`
}

// SearchResult is one line of a user search: a user the store knows, a
// directory account, or both.
type SearchResult struct {
	Name        string `json:"name"`
	DisplayName string `json:"display_name,omitempty"`
	Mail        string `json:"mail,omitempty"`
	InStore     bool   `json:"in_store"`
	InDirectory bool   `json:"in_directory"`
	Devices     int    `json:"devices"`
	Disabled    bool   `json:"disabled"`
	LockedOut   bool   `json:"locked_out"`
}

// BypassRequest asks for a bypass code.
type BypassRequest struct {
	User string        `json:"user"`
	Uses int           `json:"uses,omitempty"` // default 1
	TTL  time.Duration `json:"ttl,omitempty"`  // default 1h
}

// BypassResult is shown once: the code is stored only hashed.
type BypassResult struct {
	ID        string    `json:"id"`
	Code      string    `json:"code"`
	Uses      int       `json:"uses"`
	ExpiresAt time.Time `json:"expires_at"`
}

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

// maxLabelLen bounds a device name.
const maxLabelLen = 64

// user normalises a name and checks that the principal may act on it. A
// caller refused the call learns nothing, not even whether the name is
// well-formed: a malformed name is checked as no name, which only staff
// rules admit.
func (s *Service) user(ctx context.Context, name string, n need) (string, Principal, error) {
	u, nameErr := s.userName(name)
	p, err := s.authorize(ctx, u, n)
	if err != nil {
		return "", p, err
	}
	if nameErr != nil {
		return "", p, nameErr
	}
	return u, p, nil
}

// UserDetail returns what the console's user page shows.
func (s *Service) UserDetail(ctx context.Context, name string) (UserDetail, error) {
	n, _, err := s.user(ctx, name, needSelfOrStaff)
	if err != nil {
		return UserDetail{}, err
	}
	u, err := s.st.GetUser(ctx, n)
	if err != nil {
		return UserDetail{}, err
	}
	l, err := s.st.Lockout(ctx, n)
	if err != nil {
		return UserDetail{}, err
	}
	devs, err := s.devices(ctx, n)
	if err != nil {
		return UserDetail{}, err
	}
	recent, err := s.queryAudit(ctx, AuditQuery{User: n, Limit: 20})
	if err != nil {
		return UserDetail{}, err
	}
	now := s.opt.Now()
	return UserDetail{
		UserInfo: UserInfo{Name: u.Name, Disabled: u.Disabled, LockedOut: l.Active(now), Failures: l.Failures,
			Devices: len(devs), CreatedAt: u.CreatedAt, HasPassword: u.PasswordHash != "",
			Directory: cmp.Or(u.Directory, "builtin"), Profile: u.Profile},
		Roles: slices.Clone(u.Roles), Lockout: l, DeviceList: devs, RecentAudit: recent,
	}, nil
}

// SearchUsers finds users whose name, display name or mail contains q (in
// the store) or starts with it (in the directory, when one is searchable).
func (s *Service) SearchUsers(ctx context.Context, q string) ([]SearchResult, error) {
	if _, err := s.authorize(ctx, "", needStaff); err != nil {
		return nil, err
	}
	q = strings.TrimSpace(q)
	if q == "" || !utf8.ValidString(q) || utf8.RuneCountInString(q) > 64 {
		return nil, fmt.Errorf("%w: enter 1-64 characters to search for", ErrInvalid)
	}
	lq := strings.ToLower(q)
	us, err := s.st.ListUsers(ctx)
	if err != nil {
		return nil, err
	}
	now := s.opt.Now()
	byName := map[string]*SearchResult{}
	var out []*SearchResult
	for _, u := range us {
		if !strings.Contains(strings.ToLower(u.Name), lq) && !strings.Contains(strings.ToLower(u.Profile.DisplayName), lq) &&
			!strings.Contains(strings.ToLower(u.Profile.Mail), lq) {
			continue
		}
		r, err := s.result(ctx, u, now)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
		byName[u.Name] = r
		if len(out) >= 100 {
			break
		}
	}
	var dirErr error
	if s.opt.SearchDirectory != nil {
		found, err := s.opt.SearchDirectory(ctx, q, 50)
		if err != nil {
			dirErr = err
		}
		for _, d := range found {
			// The name a login, and so the store, uses for the account.
			n, err := s.userName(d.Name)
			if err != nil {
				continue
			}
			if r, ok := byName[n]; ok {
				r.InDirectory = true
				r.DisplayName = cmp.Or(r.DisplayName, d.DisplayName)
				r.Mail = cmp.Or(r.Mail, d.Mail)
				continue
			}
			r := &SearchResult{Name: n, DisplayName: d.DisplayName, Mail: d.Mail, InDirectory: true, Disabled: d.Disabled}
			byName[n] = r
			out = append(out, r)
		}
	}
	slices.SortFunc(out, func(a, b *SearchResult) int { return strings.Compare(a.Name, b.Name) })
	res := make([]SearchResult, len(out))
	for i, r := range out {
		res[i] = *r
	}
	if dirErr != nil {
		return res, fmt.Errorf("the directory search failed (store results only): %w", dirErr)
	}
	return res, nil
}

func (s *Service) result(ctx context.Context, u store.User, now time.Time) (*SearchResult, error) {
	l, err := s.st.Lockout(ctx, u.Name)
	if err != nil {
		return nil, err
	}
	es, err := s.st.Enrollments(ctx, u.Name)
	if err != nil {
		return nil, err
	}
	return &SearchResult{Name: u.Name, DisplayName: u.Profile.DisplayName, Mail: u.Profile.Mail, InStore: true,
		InDirectory: u.Directory != "", Devices: len(es), Disabled: u.Disabled, LockedOut: l.Active(now)}, nil
}

func (s *Service) devices(ctx context.Context, n string) ([]Device, error) {
	es, err := s.st.Enrollments(ctx, n)
	if err != nil {
		return nil, err
	}
	now := s.opt.Now()
	out := make([]Device, 0, len(es))
	for _, e := range es {
		out = append(out, deviceOf(e, now))
	}
	return out, nil
}

func deviceOf(e store.Enrollment, now time.Time) Device {
	d := Device{ID: e.ID, Kind: e.Kind, Label: e.Label, Disabled: e.Disabled, CreatedAt: e.CreatedAt,
		LastUsedAt: e.LastUsedAt, Preferred: e.Preferred, CreatedBy: e.CreatedBy}
	switch e.Kind {
	case "backup":
		d.Remaining = backup.Remaining(e)
	case auth.KindBypass:
		d.Remaining = bypass.UsesLeft(e)
		d.ExpiresAt = e.ExpiresAt
		d.Expired = !bypass.Usable(e, now)
	}
	return d
}

// device reads one enrollment of n, ErrNotFound when there is none.
func (s *Service) device(ctx context.Context, n, id string) (store.Enrollment, error) {
	es, err := s.st.Enrollments(ctx, n)
	if err != nil {
		return store.Enrollment{}, err
	}
	for _, e := range es {
		if e.ID == id {
			return e, nil
		}
	}
	return store.Enrollment{}, fmt.Errorf("%w: device %q of user %q", store.ErrNotFound, id, n)
}

// SetDeviceDisabled disables a lost or stolen device (or enables it again):
// a disabled device is never accepted, and a user whose devices are all
// disabled cannot log in on the password alone.
func (s *Service) SetDeviceDisabled(ctx context.Context, user, id string, disabled bool) error {
	n, _, err := s.user(ctx, user, needStaff)
	if err != nil {
		return err
	}
	err = s.st.UpdateEnrollment(ctx, n, id, func(e *store.Enrollment) error {
		e.Disabled = disabled
		return nil
	})
	if err != nil {
		return err
	}
	action := "device.enable "
	if disabled {
		action = "device.disable "
	}
	s.audit(ctx, action+id, n)
	return nil
}

// RenameDevice sets a device's name.
func (s *Service) RenameDevice(ctx context.Context, user, id, label string) error {
	n, _, err := s.user(ctx, user, needSelfOrStaff)
	if err != nil {
		return err
	}
	label = strings.TrimSpace(label)
	if !validLabel(label) {
		return fmt.Errorf("%w: a device name is 1-%d characters, no control characters", ErrInvalid, maxLabelLen)
	}
	err = s.st.UpdateEnrollment(ctx, n, id, func(e *store.Enrollment) error {
		e.Label = label
		return nil
	})
	if err != nil {
		return err
	}
	s.audit(ctx, "device.rename "+id, n)
	return nil
}

// validLabel reports whether label (trimmed) may name a device: 1 to
// maxLabelLen characters, none of them a control or format character (a
// bidi override would make a listing lie about its neighbours).
func validLabel(label string) bool {
	return label != "" && utf8.ValidString(label) && utf8.RuneCountInString(label) <= maxLabelLen &&
		!strings.ContainsFunc(label, func(r rune) bool { return unicode.IsControl(r) || unicode.Is(unicode.Cf, r) })
}

// SetPreferred makes one device the user's preferred one (and no other).
func (s *Service) SetPreferred(ctx context.Context, user, id string) error {
	n, _, err := s.user(ctx, user, needSelfOrStaff)
	if err != nil {
		return err
	}
	es, err := s.st.Enrollments(ctx, n)
	if err != nil {
		return err
	}
	i := slices.IndexFunc(es, func(e store.Enrollment) bool { return e.ID == id })
	switch {
	case i < 0:
		return fmt.Errorf("%w: device %q of user %q", store.ErrNotFound, id, n)
	case es[i].Kind == backup.Kind || es[i].Kind == auth.KindBypass:
		return fmt.Errorf("%w: backup and bypass codes cannot be the preferred method", ErrInvalid)
	case es[i].Disabled:
		return fmt.Errorf("%w: a disabled device cannot be the preferred method", ErrInvalid)
	}
	// Others are cleared before the target is set: an interrupted change
	// leaves no preferred device rather than two.
	for _, e := range es {
		if e.ID == id || !e.Preferred {
			continue
		}
		err := s.st.UpdateEnrollment(ctx, n, e.ID, func(e *store.Enrollment) error {
			e.Preferred = false
			return nil
		})
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
	}
	err = s.st.UpdateEnrollment(ctx, n, id, func(e *store.Enrollment) error {
		if e.Disabled {
			return fmt.Errorf("%w: a disabled device cannot be the preferred method", ErrInvalid)
		}
		e.Preferred = true
		return nil
	})
	if err != nil {
		return err
	}
	s.audit(ctx, "device.prefer "+id, n)
	return nil
}

// ResetEnrollment removes every device of the user, who must enroll again
// (at their next login, where MFA is required) and returns how many there were.
func (s *Service) ResetEnrollment(ctx context.Context, user string) (int, error) {
	n, _, err := s.user(ctx, user, needStaff)
	if err != nil {
		return 0, err
	}
	if _, err := s.st.GetUser(ctx, n); err != nil {
		return 0, err
	}
	es, err := s.st.Enrollments(ctx, n)
	if err != nil {
		return 0, err
	}
	removed := 0
	for _, e := range es {
		switch err := s.st.DeleteEnrollment(ctx, n, e.ID); {
		case err == nil:
			removed++
		case !errors.Is(err, store.ErrNotFound):
			return removed, err
		}
	}
	s.audit(ctx, fmt.Sprintf("user.reset_enrollment devices=%d", removed), n)
	return removed, nil
}

// IssueBypass makes a bypass code for a user who lost their device: usable
// in place of a one-time code (password,CODE) r.Uses times until it
// expires. The code is returned once and stored only hashed.
func (s *Service) IssueBypass(ctx context.Context, r BypassRequest) (BypassResult, error) {
	n, p, err := s.user(ctx, r.User, needStaff)
	if err != nil {
		return BypassResult{}, err
	}
	// The request is checked before ensureUser: a refused one creates no record.
	e, code, err := bypass.Issue(n, bypass.Request{Uses: r.Uses, TTL: r.TTL, By: p.Name}, s.opt.Now())
	if err != nil {
		return BypassResult{}, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if err := s.ensureUser(ctx, n); err != nil {
		return BypassResult{}, err
	}
	if err := s.st.AddEnrollment(ctx, e); err != nil {
		return BypassResult{}, err
	}
	s.audit(ctx, fmt.Sprintf("bypass.issue %s uses=%d expires=%s", e.ID, e.MaxUses, e.ExpiresAt.UTC().Format(time.RFC3339)), n)
	return BypassResult{ID: e.ID, Code: code, Uses: e.MaxUses, ExpiresAt: e.ExpiresAt}, nil
}

// NewBackupCodes replaces the user's backup codes with a new set and
// returns the codes, once. Only the user may make them: anyone who sees
// them holds a second factor of the user.
func (s *Service) NewBackupCodes(ctx context.Context, user string) ([]string, error) {
	n, _, err := s.user(ctx, user, needSelf)
	if err != nil {
		return nil, err
	}
	e, codes, err := backup.Generate(n, backup.Options{Now: s.opt.Now})
	if err != nil {
		return nil, err
	}
	old, err := s.st.Enrollments(ctx, n)
	if err != nil {
		return nil, err
	}
	if err := s.st.AddEnrollment(ctx, e); err != nil {
		return nil, err
	}
	for _, o := range old {
		if o.Kind == "backup" {
			if err := s.st.DeleteEnrollment(ctx, n, o.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
				return nil, err
			}
		}
	}
	s.audit(ctx, "backup.generate "+e.ID, n)
	return codes, nil
}

// ProveFactor checks a fresh one-time code of the user from any usable
// device except exceptID (the one being removed) and consumes it, as a
// login would. It returns nil, factors.ErrInvalidCode or another error.
func (s *Service) ProveFactor(ctx context.Context, user, code, exceptID string) error {
	n, _, err := s.user(ctx, user, needSelf)
	if err != nil {
		return err
	}
	code = strings.TrimSpace(code)
	if code == "" {
		return factors.ErrInvalidCode
	}
	es, err := s.st.Enrollments(ctx, n)
	if err != nil {
		return err
	}
	en := s.opt.Enforcement
	for _, e := range es {
		f, ok := s.opt.Factors[e.Kind]
		if !ok || e.ID == exceptID || e.Disabled || e.Kind == auth.KindBypass || (en != nil && !en().Allows(e.Kind)) {
			continue
		}
		switch err := f.Verify(ctx, e, code); {
		case err == nil:
			s.audit(ctx, "factor.proved "+e.ID, n)
			return nil
		case errors.Is(err, factors.ErrInvalidCode), errors.Is(err, factors.ErrReplayed):
		default:
			return err
		}
	}
	return factors.ErrInvalidCode
}

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
// is stored as "required"), in fresh maps the caller no longer holds.
func canonicalEnforcement(e store.Enforcement, c *auth.Enforcement) store.Enforcement {
	e.Mode = string(c.Global)
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
		if (r.Kind == "auth" || r.Kind == "web") && len(out) < n {
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
	i := slices.IndexFunc(recs, func(r store.AuditRecord) bool { return r.Seq == seq && (r.Kind == "auth" || r.Kind == "web") })
	if i < 0 {
		return fmt.Errorf("%w: login %d of user %q", store.ErrNotFound, seq, n)
	}
	r := recs[i]
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
