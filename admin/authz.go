package admin

import (
	"context"
	"errors"
	"fmt"
	"radiusmfa/store"
	"slices"
	"strings"
)

// Roles a principal may hold. A built-in user's roles are in its store
// record; a directory user's come from the groups named in web.admin_groups
// and web.helpdesk_groups.
const (
	// RoleAdmin may do everything, enforcement settings included.
	RoleAdmin = "admin"
	// RoleHelpdesk manages users and devices: search, disable a device,
	// unlock, reset enrollment, issue bypass codes, read the audit log. It
	// may not change enforcement settings or roles.
	RoleHelpdesk = "helpdesk"
)

// ErrForbidden is returned for a call the principal may not make. Callers
// answering over HTTP must not tell it from ErrNotFound where that would
// reveal whether another user exists.
var ErrForbidden = errors.New("forbidden")

// Principal is who makes a call: a signed-in user of the site (Role ""), a
// help-desk operator or an admin.
type Principal struct {
	Name string
	Role string
}

// Staff reports whether p may manage other users.
func (p Principal) Staff() bool { return p.Role == RoleAdmin || p.Role == RoleHelpdesk }

type principalKey struct{}

// WithPrincipal names who makes the calls made with ctx. Every call of the
// site and the JSON API carries one.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// WithActor names who acts for calls made on this machine (the CLI, the
// admin socket's peer): a local operator, who has the admin role, as root
// has over the database file anyway.
func WithActor(ctx context.Context, actor string) context.Context {
	return WithPrincipal(ctx, Principal{Name: actor, Role: RoleAdmin})
}

// principal is who makes the call: the context's, else the service's own
// actor (the CLI without a running server), who is a local admin.
func (s *Service) principal(ctx context.Context) (Principal, error) {
	if p, ok := ctx.Value(principalKey{}).(Principal); ok {
		if p.Name == "" {
			return Principal{}, fmt.Errorf("%w: no principal", ErrForbidden)
		}
		return p, nil
	}
	if s.opt.Actor == "" {
		return Principal{}, fmt.Errorf("%w: no principal", ErrForbidden)
	}
	return Principal{Name: s.opt.Actor, Role: RoleAdmin}, nil
}

func (s *Service) actor(ctx context.Context) string {
	p, err := s.principal(ctx)
	if err != nil {
		return ""
	}
	return p.Name
}

// need says who may make a call about a user.
type need int

const (
	needSelfOrStaff need = iota // the user themself, or staff
	needSelf                    // only the user themself (their backup codes)
	needStaff                   // admin or help desk
	needAdmin                   // admin only
)

// authorize checks that the principal of ctx may act on user (already
// normalised; "" for calls about no user) and returns the principal.
func (s *Service) authorize(ctx context.Context, user string, n need) (Principal, error) {
	p, err := s.principal(ctx)
	if err != nil {
		return p, err
	}
	ok := false
	switch n {
	case needSelfOrStaff:
		ok = p.Staff() || s.isSelf(p, user)
	case needSelf:
		ok = s.isSelf(p, user)
	case needStaff:
		ok = p.Staff()
	case needAdmin:
		ok = p.Role == RoleAdmin
	}
	if !ok {
		return p, fmt.Errorf("%w: %s may not do this", ErrForbidden, p.Name)
	}
	if p.Role == RoleHelpdesk && user != "" && !s.isSelf(p, user) {
		// The help desk manages users, not admins: a bypass code or a reset
		// of an admin's devices would be a way into the admin's account.
		switch admin, err := s.isAdmin(ctx, user); {
		case err != nil:
			return p, err
		case admin:
			return p, fmt.Errorf("%w: the help desk may not act on an admin account", ErrForbidden)
		}
	}
	return p, nil
}

// isAdmin reports whether the stored user n holds the admin role: a
// built-in user's own roles, or the role a directory user's groups gave
// at their last sign-in on the site (NoteSignInRole).
func (s *Service) isAdmin(ctx context.Context, n string) (bool, error) {
	u, err := s.st.GetUser(ctx, n)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return false, nil
	case err != nil:
		return false, err
	}
	return slices.Contains(u.Roles, RoleAdmin), nil
}

// NoteSignInRole keeps the console role a directory user's groups gave at
// a sign-in the site verified (password and second factor), so the help
// desk cannot act on a directory admin's account either. It changes only
// directory users (a built-in user's roles are an admin's to set) and
// writes only when the role changed. It is the site's to call, not a
// principal's: it makes no authorization check.
func (s *Service) NoteSignInRole(ctx context.Context, name, role string) error {
	n, err := s.userName(name)
	if err != nil {
		return err
	}
	var roles []string
	if role != "" {
		roles = []string{role}
	}
	err = s.st.UpdateUser(ctx, n, func(u *store.User) error {
		if u.Directory == "" || slices.Equal(u.Roles, roles) {
			return errUnchanged
		}
		u.Roles = roles
		return nil
	})
	if errors.Is(err, errUnchanged) {
		return nil
	}
	return err
}

var errUnchanged = errors.New("unchanged")

// isSelf reports whether p is the user named n (normalised). The principal's
// name is normalised the same way, so "Alice" signed in is the user "alice".
func (s *Service) isSelf(p Principal, n string) bool {
	if n == "" {
		return false
	}
	pn, err := s.userName(p.Name)
	return err == nil && pn == n
}

// ValidRole reports whether r is a role the console knows.
func ValidRole(r string) bool { return slices.Contains([]string{RoleAdmin, RoleHelpdesk}, r) }

// RoleOf is the console role of a user with these roles or groups: admin
// when any names an admin group, else helpdesk when any names a help-desk
// group, else "". Group names compare case-insensitively.
func RoleOf(groups, adminGroups, helpdeskGroups []string) string {
	in := func(set []string) bool {
		return slices.ContainsFunc(groups, func(g string) bool {
			return slices.ContainsFunc(set, func(s string) bool { return strings.EqualFold(s, g) })
		})
	}
	switch {
	case in(adminGroups):
		return RoleAdmin
	case in(helpdeskGroups):
		return RoleHelpdesk
	}
	return ""
}
