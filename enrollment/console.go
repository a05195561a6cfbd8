package enrollment

import (
	"cmp"
	"net/http"
	"net/url"
	"strings"
	"time"

	"radiusmfa/admin"
	"radiusmfa/store"
)

// consoleRoutes serves the console for admins and the help desk. Every
// handler starts with p.staff, and every service call acts as the session's
// principal (as(r, s)): the service decides who may do what.
func (p *pages) consoleRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /console", p.consoleHome)
	mux.HandleFunc("GET /console/users", p.consoleUsers)
	mux.HandleFunc("GET /console/users/{name}", p.consoleUser)
	mux.HandleFunc("POST /console/users/{name}/unlock", p.consoleUnlock)
	mux.HandleFunc("POST /console/users/{name}/reset", p.consoleReset)
	mux.HandleFunc("POST /console/users/{name}/bypass", p.consoleBypass)
	mux.HandleFunc("POST /console/users/{name}/contacts", p.consoleAddContact)
	mux.HandleFunc("POST /console/users/{name}/devices/{id}/disable", p.consoleDeviceState(true))
	mux.HandleFunc("POST /console/users/{name}/devices/{id}/enable", p.consoleDeviceState(false))
	mux.HandleFunc("GET /console/users/{name}/devices/{id}/delete", p.consoleDeleteForm)
	mux.HandleFunc("POST /console/users/{name}/devices/{id}/delete", p.consoleDelete)
	mux.HandleFunc("GET /console/enforcement", p.consoleEnforcement)
	mux.HandleFunc("POST /console/enforcement", p.consoleSetEnforcement)
	mux.HandleFunc("GET /console/clients", p.consoleClients)
	mux.HandleFunc("GET /console/audit", p.consoleAudit)
	mux.HandleFunc("GET /console/audit.csv", p.consoleAuditCSV)
}

// Time formats of the console; every time is shown in UTC.
const (
	consoleMinute = "2006-01-02 15:04 UTC"
	consoleSecond = "2006-01-02 15:04:05"
)

func consoleTime(t time.Time, layout, zero string) string {
	if t.IsZero() {
		return zero
	}
	return t.UTC().Format(layout)
}

// consoleUserPath is the path of a user's console page, the name escaped as one
// path segment (a name may hold "/" or "?").
func consoleUserPath(name string) string { return "/console/users/" + url.PathEscape(name) }

// consoleDone are the confirmations a redirect after an action may ask
// for (?done=…); any other value shows nothing, so no page echoes a link's text.
var consoleDone = map[string]string{
	"unlocked": "The account is unlocked and its failure count cleared.",
	"reset":    "Every device of the user was removed: they must enroll again.",
	"disabled": "The device is disabled: it no longer signs the user in.",
	"enabled":  "The device is enabled again.",
	"deleted":  "The device is deleted.",
	"contact":  "The phone or email address was added: the user can have codes sent to it.",
	"saved":    "The enforcement settings are saved and in force.",
}

// consoleAction starts a console POST: a staff session (an admin one with
// adminOnly) and the form, read up to maxFormBytes.
func (p *pages) consoleAction(w http.ResponseWriter, r *http.Request, adminOnly bool) (session, bool) {
	s, ok := p.staff(w, r, adminOnly)
	if !ok {
		return session{}, false
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "Bad request", http.StatusBadRequest)
		return session{}, false
	}
	return s, true
}

// consoleRedirectDone sends the browser back to the user's page with a confirmation.
func consoleRedirectDone(w http.ResponseWriter, r *http.Request, name, what string) {
	http.Redirect(w, r, consoleUserPath(name)+"?done="+what, http.StatusSeeOther)
}

// consoleEnforcementSummary is the overview's account of the settings in force.
type consoleEnforcementSummary struct {
	Mode, Deadline, Methods, UpdatedAt, UpdatedBy string
	Groups, Clients                               int
}

func summarizeEnforcement(st store.Settings) consoleEnforcementSummary {
	e := st.Enforcement
	methods := "all the server runs"
	if len(e.Methods) > 0 {
		methods = strings.Join(e.Methods, ", ")
	}
	return consoleEnforcementSummary{Mode: cmp.Or(e.Mode, "default (the configuration's auth.enforcement)"),
		Deadline: consoleTime(e.Deadline, consoleMinute, "none"), Methods: methods, Groups: len(e.Groups), Clients: len(e.Clients),
		UpdatedAt: consoleTime(st.UpdatedAt, consoleMinute, ""), UpdatedBy: st.UpdatedBy}
}

func (p *pages) consoleHome(w http.ResponseWriter, r *http.Request) {
	s, ok := p.staff(w, r, false)
	if !ok {
		return
	}
	reports, err := p.deps.Admin.Reports(as(r, s), 20)
	if err != nil {
		p.serviceError(w, r, "console reports", err)
		return
	}
	st, err := p.deps.Admin.Settings(as(r, s))
	if err != nil {
		p.serviceError(w, r, "console settings", err)
		return
	}
	p.render(w, http.StatusOK, "console.html", struct {
		Nav         navView
		Reports     []consoleAuditRow
		Enforcement consoleEnforcementSummary
	}{nav(s, "console"), consoleAuditRows(reports), summarizeEnforcement(st)})
}

// consoleClientRow is a line of the RADIUS clients page.
type consoleClientRow struct {
	admin.ClientInfo
	Nets, Last string
	NoMA       bool // the client sent requests without Message-Authenticator
}

func (p *pages) consoleClients(w http.ResponseWriter, r *http.Request) {
	s, ok := p.staff(w, r, false)
	if !ok {
		return
	}
	cs, err := p.deps.Admin.Clients(as(r, s))
	if err != nil {
		p.serviceError(w, r, "clients", err)
		return
	}
	var rows []consoleClientRow
	for _, c := range cs {
		rows = append(rows, consoleClientRow{c, strings.Join(c.Networks, ", "), consoleTime(c.LastRequest, consoleSecond, "never"), c.WithoutMessageAuthenticator > 0})
	}
	p.render(w, http.StatusOK, "console_clients.html", struct {
		Nav     navView
		Clients []consoleClientRow
	}{nav(s, "clients"), rows})
}
