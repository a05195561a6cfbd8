package enrollment

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"radiusmfa/admin"
	"radiusmfa/store"
)

// consoleModeChoice is an option of a mode select.
type consoleModeChoice struct{ Value, Label string }

var (
	consoleGlobalModes = []consoleModeChoice{{"", "default (the configuration's auth.enforcement)"}, {"off", "off: the password alone"},
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
