package enrollment

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"radiusmfa/admin"
	"radiusmfa/auth"
	"radiusmfa/factors/bypass"
)

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
	// Contact is the form that adds a phone or an address, offered for
	// the kinds of code the server sends.
	Contact consoleContact
}

// consoleContact is the user page's form to add a phone or an address:
// the kinds offered, and what was typed when it comes back.
type consoleContact struct {
	Kinds           []sendOption
	Kind, To, Label string
}

// consoleContactKinds name the kinds in the console's form.
var consoleContactKinds = map[string]string{auth.KindSMS: "Text message", auth.KindVoice: "Phone call", auth.KindEmail: "Email"}

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
	p.renderConsoleUserContact(w, r, s, status, doneMsg, msg, consoleContact{})
}

// renderConsoleUserContact is renderConsoleUser with the add-a-phone form
// filled in as typed.
func (p *pages) renderConsoleUserContact(w http.ResponseWriter, r *http.Request, s session, status int, doneMsg, msg string, c consoleContact) {
	d, err := p.deps.Admin.UserDetail(as(r, s), r.PathValue("name"))
	if err != nil {
		p.serviceError(w, r, "user page", err)
		return
	}
	v := consoleUserView{Nav: nav(s, "users"), User: d, Link: consoleUserPath(d.Name), Created: consoleTime(d.CreatedAt, consoleMinute, ""),
		LastFailed: consoleTime(d.Lockout.LastFailure, consoleMinute, "never"), Audit: consoleAuditRows(d.RecentAudit),
		Lifetimes: consoleLifetimes, MaxUses: bypass.MaxUses, Sep: p.deps.Delimiter, Done: doneMsg, Message: msg, Contact: c}
	for _, k := range p.deps.Admin.SentKinds() {
		v.Contact.Kinds = append(v.Contact.Kinds, sendOption{Kind: k, Label: consoleContactKinds[k]})
	}
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

// consoleAddContact adds a phone or an email address to the user's
// devices, vouched for by the operator: no code is sent to it.
func (p *pages) consoleAddContact(w http.ResponseWriter, r *http.Request) {
	s, ok := p.consoleAction(w, r, false)
	if !ok {
		return
	}
	c := consoleContact{Kind: r.PostForm.Get("kind"), To: strings.TrimSpace(r.PostForm.Get("to")), Label: strings.TrimSpace(r.PostForm.Get("label"))}
	if !slices.Contains(p.deps.Admin.SentKinds(), c.Kind) {
		p.renderConsoleUserContact(w, r, s, http.StatusBadRequest, "", "Choose how the codes go from the list.", c)
		return
	}
	_, err := p.deps.Admin.AddContact(as(r, s), r.PathValue("name"), c.Kind, c.To, c.Label)
	if errors.Is(err, admin.ErrInvalid) {
		p.renderConsoleUserContact(w, r, s, http.StatusBadRequest, "", sentence(errMessage(err)), c)
		return
	}
	if err != nil {
		p.serviceError(w, r, "add a phone or address", err)
		return
	}
	consoleRedirectDone(w, r, r.PathValue("name"), "contact")
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
