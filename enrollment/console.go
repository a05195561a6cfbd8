package enrollment

import (
	"cmp"
	"encoding/csv"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"radiusmfa/admin"
	"radiusmfa/factors/bypass"
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

// consoleAuditRow is one audit record as the console shows it.
type consoleAuditRow struct {
	Time, Kind, User, Client, Outcome, Reason, Factor, Detail, Source string
	UserLink                                                          string
}

func consoleAuditRows(recs []store.AuditRecord) []consoleAuditRow {
	out := make([]consoleAuditRow, 0, len(recs))
	for _, r := range recs {
		row := consoleAuditRow{Time: consoleTime(r.Time, consoleSecond, ""), Kind: r.Kind, User: r.User, Client: r.Client,
			Outcome: r.Outcome, Reason: r.Reason, Factor: r.Factor, Detail: r.Detail,
			Source: cmp.Or(r.CallingStationID, r.NASIPAddress, r.NASIdentifier)}
		if r.User != "" {
			row.UserLink = consoleUserPath(r.User)
		}
		out = append(out, row)
	}
	return out
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
	return consoleEnforcementSummary{Mode: cmp.Or(e.Mode, "default (the configuration's auth.mfa)"),
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

// consoleUsers is the user search. A request without q shows the form;
// with one, its results or the service's word on what to fix.
func (p *pages) consoleUsers(w http.ResponseWriter, r *http.Request) {
	s, ok := p.staff(w, r, false)
	if !ok {
		return
	}
	type result struct {
		admin.SearchResult
		Link string
	}
	view := struct {
		Nav      navView
		Query    string
		Searched bool
		Results  []result
		Message  string
	}{Nav: nav(s, "users"), Query: r.URL.Query().Get("q"), Searched: r.URL.Query().Has("q")}
	status := http.StatusOK
	if view.Searched {
		res, err := p.deps.Admin.SearchUsers(as(r, s), view.Query)
		switch {
		case errors.Is(err, admin.ErrInvalid):
			status, view.Message, view.Searched = http.StatusBadRequest, errMessage(err), false
		case err != nil && !errors.Is(err, admin.ErrDirectorySearch):
			p.serviceError(w, r, "user search", err)
			return
		case err != nil: // the store's results, without the directory's
			p.log.Warn("enrollment: directory search", slog.Any("err", err))
			view.Message = "The directory search failed: these are only the users the server has stored."
		}
		for _, u := range res {
			view.Results = append(view.Results, result{u, consoleUserPath(u.Name)})
		}
	}
	p.render(w, status, "console_users.html", view)
}

// consoleDevice is one row of the user page's devices table.
type consoleDevice struct {
	admin.Device
	Link, Added, LastUsed, Expires string
	Bypass, Backup                 bool
}

// consoleLifetime is a choice of the "Issue bypass code" form.
type consoleLifetime struct {
	Value, Label string
	TTL          time.Duration
}

var consoleLifetimes = []consoleLifetime{
	{"15m", "15 minutes", 15 * time.Minute},
	{"1h", "1 hour", time.Hour},
	{"8h", "8 hours", 8 * time.Hour},
	{"24h", "24 hours", 24 * time.Hour},
	{"7d", "7 days", 7 * 24 * time.Hour},
}

// consoleUserView is the console's user page.
type consoleUserView struct {
	Nav                              navView
	User                             admin.UserDetail
	Link                             string
	Created, LockedUntil, LastFailed string
	Devices                          []consoleDevice
	Audit                            []consoleAuditRow
	Lifetimes                        []consoleLifetime
	MaxUses                          int
	Sep                              string // the password–code delimiter
	Done, Message                    string
}

func (p *pages) consoleUser(w http.ResponseWriter, r *http.Request) {
	s, ok := p.staff(w, r, false)
	if !ok {
		return
	}
	p.renderConsoleUser(w, r, s, http.StatusOK, consoleDone[r.URL.Query().Get("done")], "")
}

// renderConsoleUser renders the page of the user named in the path, with a
// confirmation or a message about what to fix.
func (p *pages) renderConsoleUser(w http.ResponseWriter, r *http.Request, s session, status int, doneMsg, msg string) {
	d, err := p.deps.Admin.UserDetail(as(r, s), r.PathValue("name"))
	if err != nil {
		p.serviceError(w, r, "user page", err)
		return
	}
	v := consoleUserView{Nav: nav(s, "users"), User: d, Link: consoleUserPath(d.Name), Created: consoleTime(d.CreatedAt, consoleMinute, ""),
		LastFailed: consoleTime(d.Lockout.LastFailure, consoleMinute, "never"), Audit: consoleAuditRows(d.RecentAudit),
		Lifetimes: consoleLifetimes, MaxUses: bypass.MaxUses, Sep: p.deps.Delimiter, Done: doneMsg, Message: msg}
	if d.Lockout.Locked {
		v.LockedUntil = consoleTime(d.Lockout.LockedUntil, consoleMinute, "until unlocked")
	}
	for _, dev := range d.DeviceList {
		v.Devices = append(v.Devices, consoleDevice{Device: dev, Link: v.Link + "/devices/" + url.PathEscape(dev.ID),
			Added: consoleTime(dev.CreatedAt, consoleMinute, ""), LastUsed: consoleTime(dev.LastUsedAt, consoleMinute, "never"),
			Expires: consoleTime(dev.ExpiresAt, consoleMinute, ""), Bypass: dev.Kind == bypass.Kind, Backup: dev.Kind == "backup"})
	}
	p.render(w, status, "console_user.html", v)
}

func (p *pages) consoleUnlock(w http.ResponseWriter, r *http.Request) {
	s, ok := p.consoleAction(w, r, false)
	if !ok {
		return
	}
	if err := p.deps.Admin.UnlockUser(as(r, s), r.PathValue("name")); err != nil {
		p.serviceError(w, r, "unlock", err)
		return
	}
	consoleRedirectDone(w, r, r.PathValue("name"), "unlocked")
}

func (p *pages) consoleReset(w http.ResponseWriter, r *http.Request) {
	s, ok := p.consoleAction(w, r, false)
	if !ok {
		return
	}
	if r.PostForm.Get("confirm") != "yes" {
		p.renderConsoleUser(w, r, s, http.StatusBadRequest, "", "Tick the box to confirm that every device of the user is to be removed.")
		return
	}
	if _, err := p.deps.Admin.ResetEnrollment(as(r, s), r.PathValue("name")); err != nil {
		p.serviceError(w, r, "reset enrollment", err)
		return
	}
	consoleRedirectDone(w, r, r.PathValue("name"), "reset")
}

// consoleBypass issues a bypass code and shows it, the one time it can be.
func (p *pages) consoleBypass(w http.ResponseWriter, r *http.Request) {
	s, ok := p.consoleAction(w, r, false)
	if !ok {
		return
	}
	uses, err := strconv.Atoi(strings.TrimSpace(r.PostForm.Get("uses")))
	if err != nil || uses < 1 || uses > bypass.MaxUses {
		p.renderConsoleUser(w, r, s, http.StatusBadRequest, "", fmt.Sprintf("Uses must be a whole number from 1 to %d.", bypass.MaxUses))
		return
	}
	i := slices.IndexFunc(consoleLifetimes, func(l consoleLifetime) bool { return l.Value == r.PostForm.Get("ttl") })
	if i < 0 {
		p.renderConsoleUser(w, r, s, http.StatusBadRequest, "", "Choose a lifetime from the list.")
		return
	}
	res, err := p.deps.Admin.IssueBypass(as(r, s), admin.BypassRequest{User: r.PathValue("name"), Uses: uses, TTL: consoleLifetimes[i].TTL})
	if errors.Is(err, admin.ErrInvalid) {
		p.renderConsoleUser(w, r, s, http.StatusBadRequest, "", errMessage(err))
		return
	}
	if err != nil {
		p.serviceError(w, r, "issue bypass", err)
		return
	}
	p.render(w, http.StatusOK, "console_bypass.html", struct {
		Nav                            navView
		User, Link, Code, Expires, Sep string
		Uses                           int
	}{nav(s, "users"), r.PathValue("name"), consoleUserPath(r.PathValue("name")), res.Code,
		consoleTime(res.ExpiresAt, consoleMinute, ""), p.deps.Delimiter, res.Uses})
}

// consoleDeviceState disables a device (or enables it again).
func (p *pages) consoleDeviceState(disable bool) http.HandlerFunc {
	what := "enabled"
	if disable {
		what = "disabled"
	}
	return func(w http.ResponseWriter, r *http.Request) {
		s, ok := p.consoleAction(w, r, false)
		if !ok {
			return
		}
		if err := p.deps.Admin.SetDeviceDisabled(as(r, s), r.PathValue("name"), r.PathValue("id"), disable); err != nil {
			p.serviceError(w, r, "device state", err)
			return
		}
		consoleRedirectDone(w, r, r.PathValue("name"), what)
	}
}

// consoleDeleteForm asks whether to delete a device: the page's Delete
// button only leads here, and the deletion needs this page's button.
func (p *pages) consoleDeleteForm(w http.ResponseWriter, r *http.Request) {
	s, ok := p.staff(w, r, false)
	if !ok {
		return
	}
	p.renderConsoleDelete(w, r, s, http.StatusOK)
}

func (p *pages) renderConsoleDelete(w http.ResponseWriter, r *http.Request, s session, status int) {
	d, err := p.deps.Admin.UserDetail(as(r, s), r.PathValue("name"))
	if err != nil {
		p.serviceError(w, r, "delete device", err)
		return
	}
	i := slices.IndexFunc(d.DeviceList, func(dev admin.Device) bool { return dev.ID == r.PathValue("id") })
	if i < 0 {
		http.Error(w, "Not found", http.StatusNotFound)
		return
	}
	link := consoleUserPath(d.Name)
	p.render(w, status, "console_delete.html", struct {
		Nav         navView
		User, Link  string
		Action      string
		Device      admin.Device
		Added       string
		Unconfirmed bool
	}{nav(s, "users"), d.Name, link, link + "/devices/" + url.PathEscape(d.DeviceList[i].ID) + "/delete",
		d.DeviceList[i], consoleTime(d.DeviceList[i].CreatedAt, consoleMinute, ""), status != http.StatusOK})
}

func (p *pages) consoleDelete(w http.ResponseWriter, r *http.Request) {
	s, ok := p.consoleAction(w, r, false)
	if !ok {
		return
	}
	if r.PostForm.Get("confirm") != "yes" {
		p.renderConsoleDelete(w, r, s, http.StatusBadRequest)
		return
	}
	if err := p.deps.Admin.RemoveDevice(as(r, s), r.PathValue("name"), r.PathValue("id")); err != nil {
		p.serviceError(w, r, "delete device", err)
		return
	}
	consoleRedirectDone(w, r, r.PathValue("name"), "deleted")
}

// consoleModeChoice is an option of a mode select.
type consoleModeChoice struct{ Value, Label string }

var (
	consoleGlobalModes = []consoleModeChoice{{"", "default (the configuration's auth.mfa)"}, {"off", "off: the password alone"},
		{"optional", "optional: a device if the user has one"}, {"required", "required: everyone"}}
	consoleRowModes = []consoleModeChoice{{"none", "none (remove)"}, {"off", "off"}, {"optional", "optional"}, {"required", "required"}}
)

// consoleEmptyRows is how many blank rows the enforcement form offers to add entries.
const consoleEmptyRows = 3

// consoleModeTable is the groups' or the clients' part of the enforcement page.
type consoleModeTable struct {
	Kind, Title, Caption string // Kind names the form fields: <kind>_name, <kind>_mode
	Rows                 []consoleModeRow
	Modes                []consoleModeChoice
}

// consoleModeRow is a line of a consoleModeTable.
type consoleModeRow struct {
	Index      int
	Name, Mode string
}

type consoleMethodBox struct {
	Name    string
	Checked bool
}

// consoleEnforcementView is the enforcement page: a form for admins, a
// read-only account for the help desk.
type consoleEnforcementView struct {
	Nav                  navView
	Editable             bool
	Mode                 string
	Groups, Clients      consoleModeTable
	Deadline             string // as a datetime-local input wants it, UTC
	Methods              []consoleMethodBox
	MethodsLimited       bool
	UpdatedAt, UpdatedBy string
	GlobalModes          []consoleModeChoice
	Done, Message        string
}

// consoleDatetimeLocal is the value format of an <input type="datetime-local">.
const consoleDatetimeLocal = "2006-01-02T15:04"

func (p *pages) enforcementPage(s session, st store.Settings, deadline string, allowed []string) consoleEnforcementView {
	e := st.Enforcement
	editable := principal(s).Role == admin.RoleAdmin
	blank := 0
	if editable {
		blank = consoleEmptyRows
	}
	v := consoleEnforcementView{Nav: nav(s, "enforcement"), Editable: editable, Mode: e.Mode,
		Groups: consoleModeTable{Kind: "group", Title: "Group", Caption: "Modes by directory group or built-in role",
			Rows: consoleModeRows(e.Groups, blank), Modes: consoleRowModes},
		Clients: consoleModeTable{Kind: "client", Title: "RADIUS client", Caption: "Modes by RADIUS client",
			Rows: consoleModeRows(e.Clients, blank), Modes: consoleRowModes},
		Deadline: deadline, UpdatedAt: consoleTime(st.UpdatedAt, consoleMinute, ""), UpdatedBy: st.UpdatedBy,
		GlobalModes: consoleGlobalModes}
	for _, m := range p.deps.Admin.Methods() {
		on := slices.Contains(allowed, m)
		v.Methods = append(v.Methods, consoleMethodBox{m, on})
		v.MethodsLimited = v.MethodsLimited || on
	}
	return v
}

// consoleModeRows lists m by name, then blank rows to fill.
func consoleModeRows(m map[string]string, blank int) []consoleModeRow {
	var rows []consoleModeRow
	for _, name := range slices.Sorted(maps.Keys(m)) {
		rows = append(rows, consoleModeRow{len(rows) + 1, name, m[name]})
	}
	for range blank {
		rows = append(rows, consoleModeRow{len(rows) + 1, "", "none"})
	}
	return rows
}

func (p *pages) consoleEnforcement(w http.ResponseWriter, r *http.Request) {
	s, ok := p.staff(w, r, false)
	if !ok {
		return
	}
	st, err := p.deps.Admin.Settings(as(r, s))
	if err != nil {
		p.serviceError(w, r, "settings", err)
		return
	}
	v := p.enforcementPage(s, st, consoleTime(st.Enforcement.Deadline, consoleDatetimeLocal, ""), st.Enforcement.Methods)
	if r.URL.Query().Get("done") == "saved" {
		v.Done = consoleDone["saved"]
	}
	p.render(w, http.StatusOK, "console_enforcement.html", v)
}

// consoleSetEnforcement replaces the enforcement settings (admins only). A
// form the server refuses comes back as typed, with what to fix.
func (p *pages) consoleSetEnforcement(w http.ResponseWriter, r *http.Request) {
	s, ok := p.consoleAction(w, r, true)
	if !ok {
		return
	}
	e, msg := parseEnforcementForm(r.PostForm)
	if msg == "" {
		err := p.deps.Admin.SetEnforcement(as(r, s), e)
		if err == nil {
			http.Redirect(w, r, "/console/enforcement?done=saved", http.StatusSeeOther)
			return
		}
		if !errors.Is(err, admin.ErrInvalid) {
			p.serviceError(w, r, "set enforcement", err)
			return
		}
		msg = errMessage(err)
	}
	st, err := p.deps.Admin.Settings(as(r, s))
	if err != nil {
		p.serviceError(w, r, "settings", err)
		return
	}
	st.Enforcement = e
	v := p.enforcementPage(s, st, r.PostForm.Get("deadline"), r.PostForm["method"])
	v.Message = msg
	p.render(w, http.StatusBadRequest, "console_enforcement.html", v)
}

// parseEnforcementForm reads the enforcement form, or says what to fix. Rows
// with a blank name are ignored and a row of mode "none" is left out
// (removed); the modes themselves are the service's to check.
func parseEnforcementForm(f url.Values) (store.Enforcement, string) {
	e := store.Enforcement{Mode: f.Get("mode"), Methods: f["method"]}
	var msg, cmsg string
	e.Groups, msg = parseModeRows("group", f)
	e.Clients, cmsg = parseModeRows("client", f)
	msg = cmp.Or(msg, cmsg)
	if d := strings.TrimSpace(f.Get("deadline")); d != "" {
		var err error
		if e.Deadline, err = time.ParseInLocation(consoleDatetimeLocal, d, time.UTC); err != nil {
			e.Deadline, err = time.ParseInLocation(consoleDatetimeLocal+":05", d, time.UTC)
		}
		if err != nil {
			msg = cmp.Or(msg, "The enrollment deadline must be a date and time such as 2026-12-31T18:00.")
		}
	}
	return e, msg
}

// parseModeRows reads the rows <kind>_name and <kind>_mode of the form.
func parseModeRows(kind string, f url.Values) (map[string]string, string) {
	names, modes := f[kind+"_name"], f[kind+"_mode"]
	if len(names) != len(modes) {
		return nil, "Every " + kind + " row needs a name and a mode."
	}
	m := map[string]string{}
	for i, name := range names {
		name = strings.TrimSpace(name)
		if name == "" || modes[i] == "none" {
			continue
		}
		if _, dup := m[name]; dup {
			return m, fmt.Sprintf("The %s %q is listed twice.", kind, name)
		}
		m[name] = modes[i]
	}
	return m, ""
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

// consoleAuditFilter is the audit page's filter form as typed.
type consoleAuditFilter struct{ User, Kind, Outcome, Client, Since, Until, Limit string }

func consoleAuditFilterOf(q url.Values) consoleAuditFilter {
	return consoleAuditFilter{q.Get("user"), q.Get("kind"), q.Get("outcome"), q.Get("client"), q.Get("since"), q.Get("until"), q.Get("limit")}
}

// query is the service's query for f, or a message saying what to fix.
func (f consoleAuditFilter) query() (admin.AuditQuery, string) {
	q := admin.AuditQuery{User: strings.TrimSpace(f.User), Kind: strings.TrimSpace(f.Kind),
		Outcome: strings.TrimSpace(f.Outcome), Client: strings.TrimSpace(f.Client)}
	var ok bool
	if q.Since, ok = consoleAuditTime(f.Since, false); !ok {
		return q, "“Since” must be a date (2026-11-23) or a time in RFC 3339 form (2026-11-23T10:00:00Z)."
	}
	if q.Until, ok = consoleAuditTime(f.Until, true); !ok {
		return q, "“Until” must be a date (2026-11-23) or a time in RFC 3339 form (2026-11-23T10:00:00Z)."
	}
	if !q.Since.IsZero() && !q.Until.IsZero() && !q.Since.Before(q.Until) {
		return q, "“Since” must be before “until”."
	}
	if l := strings.TrimSpace(f.Limit); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > 10000 {
			return q, "The limit must be a whole number from 1 to 10000."
		}
		q.Limit = n
	}
	return q, ""
}

// consoleAuditTime reads a date (UTC; as an end, the day is included) or an RFC
// 3339 time; "" is no bound.
func consoleAuditTime(s string, end bool) (time.Time, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, true
	}
	if d, err := time.ParseInLocation(time.DateOnly, s, time.UTC); err == nil {
		if end {
			d = d.AddDate(0, 0, 1)
		}
		return d, true
	}
	t, err := time.Parse(time.RFC3339, s)
	return t, err == nil
}

// encode is the filter as a query string, for the CSV link.
func (f consoleAuditFilter) encode() string {
	v := url.Values{}
	for k, s := range map[string]string{"user": f.User, "kind": f.Kind, "outcome": f.Outcome, "client": f.Client,
		"since": f.Since, "until": f.Until, "limit": f.Limit} {
		if s != "" {
			v.Set(k, s)
		}
	}
	return v.Encode()
}

func (p *pages) consoleAudit(w http.ResponseWriter, r *http.Request) {
	s, ok := p.staff(w, r, false)
	if !ok {
		return
	}
	f := consoleAuditFilterOf(r.URL.Query())
	view := struct {
		Nav          navView
		Filter       consoleAuditFilter
		Rows         []consoleAuditRow
		CSV, Message string
	}{Nav: nav(s, "audit"), Filter: f, CSV: "/console/audit.csv"}
	if enc := f.encode(); enc != "" {
		view.CSV += "?" + enc
	}
	q, msg := f.query()
	if msg != "" {
		view.Message = msg
		p.render(w, http.StatusBadRequest, "console_audit.html", view)
		return
	}
	recs, err := p.deps.Admin.QueryAudit(as(r, s), q)
	if errors.Is(err, admin.ErrInvalid) {
		view.Message = errMessage(err)
		p.render(w, http.StatusBadRequest, "console_audit.html", view)
		return
	}
	if err != nil {
		p.serviceError(w, r, "audit", err)
		return
	}
	view.Rows = consoleAuditRows(recs)
	p.render(w, http.StatusOK, "console_audit.html", view)
}

var consoleAuditCSVHeader = []string{"seq", "time", "kind", "user", "client", "outcome", "reason", "factor", "detail",
	"calling_station_id", "nas_ip_address", "nas_identifier", "duration_ms"}

// consoleAuditCSV is the audit page's records as a CSV download.
func (p *pages) consoleAuditCSV(w http.ResponseWriter, r *http.Request) {
	s, ok := p.staff(w, r, false)
	if !ok {
		return
	}
	q, msg := consoleAuditFilterOf(r.URL.Query()).query()
	if msg != "" {
		http.Error(w, msg, http.StatusBadRequest)
		return
	}
	recs, err := p.deps.Admin.QueryAudit(as(r, s), q)
	if err != nil {
		p.serviceError(w, r, "audit export", err)
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="radiusmfa-audit.csv"`)
	cw := csv.NewWriter(w)
	_ = cw.Write(consoleAuditCSVHeader)
	for _, a := range recs {
		_ = cw.Write(csvSafeCells(strconv.FormatUint(a.Seq, 10), a.Time.UTC().Format(time.RFC3339Nano), a.Kind, a.User,
			a.Client, a.Outcome, a.Reason, a.Factor, a.Detail, a.CallingStationID, a.NASIPAddress, a.NASIdentifier,
			strconv.FormatInt(a.Duration.Milliseconds(), 10)))
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		p.log.Debug("enrollment: writing the audit export", slog.Any("err", err))
	}
}

// csvSafeCells neutralises spreadsheet formulas: a cell a spreadsheet would
// evaluate (= + - @, or a leading tab or carriage return) gets a leading
// apostrophe, so a user name chosen by an attacker stays text.
func csvSafeCells(cells ...string) []string {
	for i, c := range cells {
		if c != "" && strings.ContainsRune("=+-@\t\r", rune(c[0])) {
			cells[i] = "'" + c
		}
	}
	return cells
}
