package enrollment

import (
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"radiusmfa/admin"
	"radiusmfa/auth"
	"radiusmfa/factors"
	"radiusmfa/factors/backup"
	"radiusmfa/factors/push"
	"radiusmfa/store"
)

// recentProof is how long after sign-in the sign-in's own second factor
// still counts as fresh proof for adding a device; later, the user proves
// it again with a current code.
const recentProof = 5 * time.Minute

// loginsShown is how many of their own logins a user sees.
const loginsShown = 10

// accountRoutes serves a user's own account: devices, backup codes, logins.
func (p *pages) accountRoutes(mux *http.ServeMux) {
	mux.HandleFunc("POST /me/devices/{id}/rename", p.renameDevice)
	mux.HandleFunc("POST /me/devices/{id}/prefer", p.preferDevice)
	mux.HandleFunc("GET /me/devices/{id}/remove", p.removeDeviceForm)
	mux.HandleFunc("POST /me/devices/{id}/remove", p.removeDevice)
	mux.HandleFunc("POST /me/backup-codes", p.newBackupCodes)
	mux.HandleFunc("POST /me/logins/{seq}/report", p.reportLogin)
}

type deviceView struct {
	ID, Kind, KindName, Label, Added, LastUsed string
	To                                         string // where a phone's or an address's codes go, masked
	Disabled, Preferred                        bool
	Codes                                      bool // backup or bypass codes, not a device to prefer
	Remaining                                  int
	Expires                                    string
}

type loginView struct {
	Seq                                        uint64
	Time, Outcome, Via, From, Factor, Reported string
}

type meView struct {
	Nav     navView
	Enroll  bool
	Devices []deviceView
	Backup  *deviceView // the backup code set, if any
	Logins  []loginView
	Done    string
	Message string
	// NeedProof asks for a current code before new backup codes: the
	// session signed in a while ago.
	NeedProof bool
	// Push offers to pair a phone as a push approver; Ntfy, to get login
	// requests in the ntfy app.
	Push, Ntfy bool
	// AddPhone and AddEmail offer to add a phone or an email address: the
	// server sends codes that way.
	AddPhone, AddEmail bool
}

// accountDone are the confirmations a redirect may ask for (?done=key):
// only these texts are ever shown, never the query's own.
var accountDone = map[string]string{
	"renamed":   "The device was renamed.",
	"preferred": "That device will be asked for first.",
	"removed":   "The device was removed.",
	"reported":  "Thank you: the administrators were told. If you did not sign in, change your password now.",
	"enrolled":  "Your new device is ready.",
	"proof":     "No new backup codes: enter a current code from your device (or one of your backup codes) to make them.",
	"pairproof": "No pairing code: enter a current code from your device (or one of your backup codes) to pair a phone.",
	"ntfyproof": "No ntfy topic: enter a current code from your device (or one of your backup codes) to get login requests in the ntfy app.",
}

func kindName(k string) string {
	switch k {
	case "totp":
		return "Authenticator app"
	case backup.Kind:
		return "Backup codes"
	case auth.KindBypass:
		return "Bypass code (from the help desk)"
	case auth.KindPush:
		return "Push approver (phone)"
	case auth.KindSMS:
		return "Phone (text messages)"
	case auth.KindVoice:
		return "Phone (calls)"
	case auth.KindEmail:
		return "Email"
	}
	return k
}

// deviceKindName is kindName, telling the ntfy app from the approver app.
func deviceKindName(d admin.Device) string {
	if d.Kind == auth.KindPush && d.Channel == string(push.ChannelNtfy) {
		return "Push approver (ntfy app)"
	}
	return kindName(d.Kind)
}

func dateTime(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return t.UTC().Format("2006-01-02 15:04 UTC")
}

func (p *pages) me(w http.ResponseWriter, r *http.Request) {
	s, ok := p.sessions.get(r)
	if !ok {
		http.Redirect(w, r, "/signin", http.StatusSeeOther)
		return
	}
	v := meView{Nav: nav(s, "me"), Enroll: s.scope == ScopeEnroll, Done: accountDone[r.URL.Query().Get("done")],
		NeedProof: p.needProof(s), Push: p.deps.Push != nil, Ntfy: p.deps.Push != nil && p.deps.Push.Ntfy != nil}
	for _, k := range p.deps.Admin.SentKinds() {
		v.AddPhone = v.AddPhone || k == auth.KindSMS || k == auth.KindVoice
		v.AddEmail = v.AddEmail || k == auth.KindEmail
	}
	if v.Enroll {
		p.meDevicesOnly(w, r, s, v)
		return
	}
	ctx := as(r, s)
	devs, err := p.deps.Admin.ListDevices(ctx, s.user)
	if err != nil {
		p.serviceError(w, r, "listing devices", err)
		return
	}
	for _, d := range devs {
		// Expires is a bypass code's: a phone's ExpiresAt is its last
		// code's, never listed (admin.Device leaves it out).
		dv := deviceView{ID: d.ID, Kind: d.Kind, KindName: deviceKindName(d), Label: d.Label, Added: d.CreatedAt.UTC().Format(time.DateOnly),
			LastUsed: dateTime(d.LastUsedAt), To: d.To, Disabled: d.Disabled || d.Expired, Preferred: d.Preferred,
			Codes: d.Kind == backup.Kind || d.Kind == auth.KindBypass, Remaining: d.Remaining}
		if !d.ExpiresAt.IsZero() {
			dv.Expires = dateTime(d.ExpiresAt)
		}
		if d.Kind == backup.Kind {
			v.Backup = &dv
			continue
		}
		v.Devices = append(v.Devices, dv)
	}
	logins, err := p.deps.Admin.MyLogins(ctx, s.user, loginsShown)
	if err != nil {
		p.serviceError(w, r, "listing logins", err)
		return
	}
	reported, err := p.reportedLogins(r, s)
	if err != nil {
		p.serviceError(w, r, "listing reports", err)
		return
	}
	for _, l := range logins {
		lv := loginView{Seq: l.Seq, Time: dateTime(l.Time), Outcome: l.Outcome, Via: "VPN (" + l.Client + ")",
			From: l.CallingStationID, Factor: kindName(l.Factor)}
		if l.Kind == "web" {
			lv.Via = "this site"
		}
		if l.Factor == "" {
			lv.Factor = "password only"
		}
		if reported[l.Seq] {
			lv.Reported = "reported"
		}
		v.Logins = append(v.Logins, lv)
	}
	p.render(w, http.StatusOK, "me.html", v)
}

// reportedLogins are the sequence numbers the user already reported.
func (p *pages) reportedLogins(r *http.Request, s session) (map[uint64]bool, error) {
	recs, err := p.deps.Admin.MyReports(as(r, s), s.user)
	if err != nil {
		return nil, err
	}
	out := map[uint64]bool{}
	for _, rec := range recs {
		var seq uint64
		if _, err := fmt.Sscanf(rec.Detail, "this wasn't me: login %d", &seq); err == nil {
			out[seq] = true
		}
	}
	return out, nil
}

// meDevicesOnly is the page of an enrollment-only session: the devices
// (none, or one enrolled meanwhile) and a way to enroll.
func (p *pages) meDevicesOnly(w http.ResponseWriter, r *http.Request, s session, v meView) {
	devs, err := p.deps.Admin.ListDevices(as(r, s), s.user)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		p.serviceError(w, r, "listing devices", err)
		return
	}
	for _, d := range devs {
		v.Devices = append(v.Devices, deviceView{ID: d.ID, Kind: d.Kind, KindName: deviceKindName(d), Label: d.Label,
			Added: d.CreatedAt.UTC().Format(time.DateOnly), LastUsed: dateTime(d.LastUsedAt), To: d.To, Disabled: d.Disabled})
	}
	p.render(w, http.StatusOK, "me.html", v)
}

// form parses a small POST form; false when it answered already.
func form(w http.ResponseWriter, r *http.Request) bool {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "Bad request", http.StatusBadRequest)
		return false
	}
	return true
}

func (p *pages) renameDevice(w http.ResponseWriter, r *http.Request) {
	s, ok := p.full(w, r)
	if !ok || !form(w, r) {
		return
	}
	if err := p.deps.Admin.RenameDevice(as(r, s), s.user, r.PathValue("id"), r.PostForm.Get("label")); err != nil {
		p.serviceError(w, r, "renaming a device", err)
		return
	}
	http.Redirect(w, r, "/me?done=renamed", http.StatusSeeOther)
}

func (p *pages) preferDevice(w http.ResponseWriter, r *http.Request) {
	s, ok := p.full(w, r)
	if !ok {
		return
	}
	if err := p.deps.Admin.SetPreferred(as(r, s), s.user, r.PathValue("id")); err != nil {
		p.serviceError(w, r, "choosing the preferred device", err)
		return
	}
	http.Redirect(w, r, "/me?done=preferred", http.StatusSeeOther)
}

type removeView struct {
	Nav      navView
	Device   deviceView
	CanProve bool // another usable device or backup codes exist
	Message  string
}

// removeTarget finds the device to remove and whether anything else could
// prove the user's identity.
func (p *pages) removeTarget(r *http.Request, s session) (removeView, error) {
	devs, err := p.deps.Admin.ListDevices(as(r, s), s.user)
	if err != nil {
		return removeView{}, err
	}
	v := removeView{Nav: nav(s, "me")}
	found := false
	for _, d := range devs {
		if d.ID == r.PathValue("id") {
			found = true
			v.Device = deviceView{ID: d.ID, Kind: d.Kind, KindName: deviceKindName(d), Label: d.Label,
				Added: d.CreatedAt.UTC().Format(time.DateOnly), LastUsed: dateTime(d.LastUsedAt), To: d.To}
			continue
		}
		if !d.Disabled && d.Kind != auth.KindBypass && (d.Kind != backup.Kind || d.Remaining > 0) {
			v.CanProve = true
		}
	}
	if !found {
		return removeView{}, fmt.Errorf("%w: device", store.ErrNotFound)
	}
	return v, nil
}

func (p *pages) removeDeviceForm(w http.ResponseWriter, r *http.Request) {
	s, ok := p.full(w, r)
	if !ok {
		return
	}
	v, err := p.removeTarget(r, s)
	if err != nil {
		p.serviceError(w, r, "reading a device", err)
		return
	}
	p.render(w, http.StatusOK, "remove.html", v)
}

// removeDevice removes one of the user's devices after a fresh code from
// another device or a backup code: a stolen session alone cannot strip an
// account of its factors.
func (p *pages) removeDevice(w http.ResponseWriter, r *http.Request) {
	s, ok := p.full(w, r)
	if !ok || !form(w, r) {
		return
	}
	v, err := p.removeTarget(r, s)
	if err != nil {
		p.serviceError(w, r, "reading a device", err)
		return
	}
	if !p.allowGuess(r) {
		v.Message = "Too many attempts from your address: wait a minute, then try again."
		p.render(w, http.StatusTooManyRequests, "remove.html", v)
		return
	}
	ctx := as(r, s)
	id := r.PathValue("id")
	switch err := p.deps.Admin.ProveFactor(ctx, s.user, proofCode(r.PostForm.Get("code")), id); {
	case errors.Is(err, factors.ErrInvalidCode):
		p.record(r, s.user, "device.remove refused: no valid code from another device")
		v.Message = "That code was not accepted. Enter a current code from another device, or one of your backup codes."
		p.render(w, http.StatusForbidden, "remove.html", v)
		return
	case err != nil:
		p.serviceError(w, r, "checking a code", err)
		return
	}
	if err := p.deps.Admin.RemoveDevice(ctx, s.user, id); err != nil {
		p.serviceError(w, r, "removing a device", err)
		return
	}
	p.endOtherSessions(r, s) // any may have been signed in with the removed device
	http.Redirect(w, r, "/me?done=removed", http.StatusSeeOther)
}

// proofCode keeps the digits of a typed code ("1234 5678" → "12345678").
func proofCode(c string) string {
	return strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' {
			return -1
		}
		return r
	}, strings.TrimSpace(c))
}

type backupView struct {
	Nav   navView
	Codes []string
}

// newBackupCodes makes a new set of backup codes (the old set stops
// working) and shows it once.
func (p *pages) newBackupCodes(w http.ResponseWriter, r *http.Request) {
	s, ok := p.full(w, r)
	if !ok {
		return
	}
	if !form(w, r) {
		return
	}
	// From a session signed in a while ago, as for a new device: the codes
	// are a second factor, and a left-open browser must not mint them.
	if !p.freshProof(w, r, s, "backup.generate", "proof") {
		return
	}
	codes, err := p.deps.Admin.NewBackupCodes(as(r, s), s.user)
	if err != nil {
		p.serviceError(w, r, "making backup codes", err)
		return
	}
	p.endOtherSessions(r, s) // some may have signed in with a code of the old set
	v := backupView{Nav: nav(s, "me")}
	for _, c := range codes {
		v.Codes = append(v.Codes, backup.FormatCode(c))
	}
	p.render(w, http.StatusOK, "backup.html", v)
}

func (p *pages) reportLogin(w http.ResponseWriter, r *http.Request) {
	s, ok := p.full(w, r)
	if !ok {
		return
	}
	seq, err := strconv.ParseUint(r.PathValue("seq"), 10, 64)
	if err != nil {
		http.Error(w, "Not found", http.StatusNotFound)
		return
	}
	if err := p.deps.Admin.ReportLogin(as(r, s), s.user, seq); err != nil {
		p.serviceError(w, r, "reporting a login", err)
		return
	}
	http.Redirect(w, r, "/me?done=reported", http.StatusSeeOther)
}

// allowGuess takes a token from the address's sign-in budget for one typed
// code: a stolen session cannot try codes faster than a sign-in could.
func (p *pages) allowGuess(r *http.Request) bool {
	src, _ := netip.ParseAddrPort(r.RemoteAddr)
	return p.limit.allow(src.Addr())
}

// endOtherSessions ends the user's sessions but the request's own: after a
// change of theirs that takes something away (a device, a set of backup
// codes), a session signed in with it must not go on.
func (p *pages) endOtherSessions(r *http.Request, s session) {
	if key, _, ok := p.sessions.getKey(r); ok {
		p.sessions.endUser(s.user, key)
	}
}

// freshProof asks a session signed in more than recentProof ago for a
// current code (the form's "proof") before an act that adds a factor, and
// answers the request when it is missing or wrong: a redirect to the
// account page with the message done names. action names the act in the
// audit. It reports whether to go on.
func (p *pages) freshProof(w http.ResponseWriter, r *http.Request, s session, action, done string) bool {
	if !p.needProof(s) {
		return true
	}
	if !p.allowGuess(r) {
		http.Error(w, "Too many attempts from your address: wait a minute, then try again.", http.StatusTooManyRequests)
		return false
	}
	switch err := p.deps.Admin.ProveFactor(as(r, s), s.user, proofCode(r.PostForm.Get("proof")), ""); {
	case errors.Is(err, factors.ErrInvalidCode):
		p.record(r, s.user, action+" refused: no valid code")
		http.Redirect(w, r, "/me?done="+done, http.StatusSeeOther)
		return false
	case err != nil:
		p.serviceError(w, r, "checking a code", err)
		return false
	}
	return true
}
