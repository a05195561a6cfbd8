package enrollment

import (
	"context"
	"errors"
	"log/slog"
	"net/http"

	"radiusmfa/admin"
	"radiusmfa/auth"
	"radiusmfa/store"
)

// Roles maps sign-ins to console roles.
type Roles struct {
	// AdminGroups and HelpdeskGroups are directory groups (by name) whose
	// members get the role.
	AdminGroups    []string
	HelpdeskGroups []string
	// Builtin is set with the built-in directory, whose users carry their
	// roles ("admin", "helpdesk") in their record.
	Builtin bool
}

// roleOf is the console role a sign-in grants: none unless it was made
// with a second factor (a bypass code is not one for the console).
func (p *pages) roleOf(d auth.Decision) string {
	if d.Factor == "" || d.Factor == auth.KindBypass {
		return ""
	}
	return p.groupRole(d)
}

// noteRole keeps the role a directory user's groups give, whatever the
// sign-in's factor, so the help desk cannot act on a directory admin (a
// bypass sign-in must not clear it).
func (p *pages) noteRole(r *http.Request, d auth.Decision) {
	if p.deps.Roles.Builtin {
		return
	}
	if err := p.deps.Admin.NoteSignInRole(r.Context(), d.User, p.groupRole(d)); err != nil {
		p.log.Error("enrollment: keeping the console role", slog.String("user", d.User), slog.Any("err", err))
	}
}

// groupRole is the role the user's groups (or built-in roles) name.
func (p *pages) groupRole(d auth.Decision) string {
	rc := p.deps.Roles
	if rc.Builtin {
		return admin.RoleOf(d.Groups, []string{admin.RoleAdmin}, []string{admin.RoleHelpdesk})
	}
	return admin.RoleOf(d.Groups, rc.AdminGroups, rc.HelpdeskGroups)
}

// principal is who a session acts as, for the service layer.
func principal(s session) admin.Principal {
	role := s.role
	if s.scope != ScopeUser {
		role = ""
	}
	return admin.Principal{Name: s.user, Role: role}
}

// as is the request's context acting as the session's principal.
func as(r *http.Request, s session) context.Context {
	return admin.WithPrincipal(r.Context(), principal(s))
}

// navView is what the header of every signed-in page needs.
type navView struct {
	User    string
	Console bool // the session may open the console
	Admin   bool
	Active  string
}

func nav(s session, active string) navView {
	pr := principal(s)
	return navView{User: s.user, Console: pr.Staff(), Admin: pr.Role == admin.RoleAdmin, Active: active}
}

// serviceStatus maps a service error to an HTTP status and a message safe
// to show. A forbidden call about another user answers 404, as for a user
// that does not exist, so no page tells which names are taken.
func serviceStatus(err error) (int, string) {
	switch {
	case errors.Is(err, admin.ErrForbidden):
		return http.StatusNotFound, "Not found"
	case errors.Is(err, store.ErrNotFound):
		return http.StatusNotFound, "Not found"
	case errors.Is(err, admin.ErrInvalid):
		return http.StatusBadRequest, errMessage(err)
	case errors.Is(err, store.ErrExists):
		return http.StatusConflict, "That already exists"
	}
	return http.StatusInternalServerError, "Internal error"
}

// errMessage is the part of an ErrInvalid error meant for the user (the
// service writes "invalid request: <what to fix>").
func errMessage(err error) string {
	msg := err.Error()
	if i := len(admin.ErrInvalid.Error()) + 2; len(msg) > i && msg[:i-2] == admin.ErrInvalid.Error() {
		return msg[i:]
	}
	return msg
}

// serviceError answers a failed service call.
func (p *pages) serviceError(w http.ResponseWriter, r *http.Request, what string, err error) {
	status, msg := serviceStatus(err)
	if status == http.StatusInternalServerError {
		p.log.Error("enrollment: "+what, slog.String("path", r.URL.Path), slog.Any("err", err))
	}
	http.Error(w, msg, status)
}

// staff returns the session of a console user, or answers: the sign-in
// page without a session, 404 for a session without a console role (the
// console's pages do not exist for them).
func (p *pages) staff(w http.ResponseWriter, r *http.Request, adminOnly bool) (session, bool) {
	s, ok := p.sessions.get(r)
	if !ok {
		http.Redirect(w, r, "/signin", http.StatusSeeOther)
		return session{}, false
	}
	pr := principal(s)
	if !pr.Staff() || (adminOnly && pr.Role != admin.RoleAdmin) {
		http.Error(w, "Not found", http.StatusNotFound)
		return session{}, false
	}
	return s, true
}

// full returns a fully signed-in session (password and second factor), or
// sends the browser to sign in (or to its enrollment-only page).
func (p *pages) full(w http.ResponseWriter, r *http.Request) (session, bool) {
	s, ok := p.sessions.get(r)
	if !ok {
		http.Redirect(w, r, "/signin", http.StatusSeeOther)
		return session{}, false
	}
	if s.scope != ScopeUser {
		http.Redirect(w, r, "/me", http.StatusSeeOther)
		return session{}, false
	}
	return s, true
}
