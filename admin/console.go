package admin

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"radiusmfa/store"
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

// ErrDirectorySearch is returned, with the store's matches, by SearchUsers
// when the directory could not be searched.
var ErrDirectorySearch = errors.New("the directory search failed")

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
		return res, fmt.Errorf("%w (store results only): %w", ErrDirectorySearch, dirErr)
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
