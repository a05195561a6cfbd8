package enrollment

import (
	"bytes"
	"encoding/base64"
	"errors"
	"html/template"
	"image/png"
	"log/slog"
	"net/http"
	"strings"

	"github.com/pquerna/otp"

	"radiusmfa/factors"
	"radiusmfa/factors/totp"
	"radiusmfa/store"
)

// TOTPOptions are the settings of new authenticator apps (the totp section).
type TOTPOptions struct {
	Issuer    string
	Digits    int
	Algorithm string
	Skew      int
}

// maxConfirmTries bounds wrong confirmation codes for one new secret; then
// the secret is dropped and the user starts again with a new one.
const maxConfirmTries = 5

// pendingTOTP is a secret shown to the user and not stored until they
// prove, with a code, that their app holds it.
type pendingTOTP struct {
	prov  totp.Provisioning
	tries int
}

type enrollView struct {
	// NeedProof asks for a current code of an existing device too: the
	// session's own sign-in is no longer fresh (see recentProof).
	NeedProof bool
	Secret    string
	QR        template.URL // data: URL of a PNG we drew (trusted, so not filtered)
	Message   string
}

// enrollForm shows a new secret as a QR code and as text, with a field for
// the first code. The secret lives only in the server's session until it is
// confirmed, and is never shown again after.
func (p *pages) enrollForm(w http.ResponseWriter, r *http.Request) {
	key, s, ok := p.sessions.getKey(r)
	if !ok {
		http.Redirect(w, r, "/signin", http.StatusSeeOther)
		return
	}
	pend, err := p.sessions.pendingOrNew(key, func() (*pendingTOTP, error) {
		prov, err := totp.NewEnrollment(s.user, totp.EnrollOptions{Issuer: p.deps.TOTP.Issuer, Label: "authenticator app",
			Digits: p.deps.TOTP.Digits, Algorithm: p.deps.TOTP.Algorithm, Now: p.deps.Now()})
		if err != nil {
			return nil, err
		}
		return &pendingTOTP{prov: prov}, nil
	})
	if err != nil {
		p.fail(w, "making a secret", err)
		return
	}
	view, err := enrollPage(pend, "")
	if err != nil {
		p.fail(w, "drawing the QR code", err)
		return
	}
	view.NeedProof = p.needProof(s)
	p.render(w, http.StatusOK, "enroll.html", view)
}

func enrollPage(pend *pendingTOTP, msg string) (enrollView, error) {
	k, err := otp.NewKeyFromURL(pend.prov.URI)
	if err != nil {
		return enrollView{}, err
	}
	img, err := k.Image(240, 240)
	if err != nil {
		return enrollView{}, err
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		return enrollView{}, err
	}
	return enrollView{Secret: groupsOf4(pend.prov.Secret), QR: template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(b.Bytes())),
		Message: msg}, nil
}

// stillEntitled re-reads the account, since a session outlives the state it
// was granted for: a locked account adds nothing; an enrollment-only
// session (password alone) may add a first device only, never a second one
// beside a device enrolled meanwhile; a full session needs a device still
// enabled (after the help desk disables a lost phone, its sessions end).
func (p *pages) stillEntitled(r *http.Request, s session) (bool, error) {
	u, err := p.deps.Devices.GetUser(r.Context(), s.user)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return false, nil
	case err != nil:
		return false, err
	case u.Disabled:
		return false, nil
	}
	es, err := p.deps.Devices.Enrollments(r.Context(), s.user)
	if err != nil {
		return false, err
	}
	enabled := 0
	for _, e := range es {
		if !e.Disabled {
			enabled++
		}
	}
	if s.scope == ScopeEnroll {
		return len(es) == 0, nil
	}
	return enabled > 0, nil
}

// enrollConfirm checks the first code against the pending secret and only
// then stores the device, with that code's step already used, so the code
// typed here cannot log in over RADIUS afterwards.
func (p *pages) enrollConfirm(w http.ResponseWriter, r *http.Request) {
	key, s, ok := p.sessions.getKey(r)
	if !ok {
		http.Redirect(w, r, "/signin", http.StatusSeeOther)
		return
	}
	pend := s.pending
	if pend == nil {
		http.Redirect(w, r, "/enroll", http.StatusSeeOther)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "Bad request", http.StatusBadRequest)
		return
	}
	code := strings.TrimSpace(r.PostForm.Get("code"))
	e := pend.prov.Enrollment
	step, matched, err := totp.Match(e, code, p.deps.Now(), p.deps.TOTP.Skew)
	if err != nil {
		p.fail(w, "checking the code", err)
		return
	}
	if !matched {
		if p.sessions.wrongCode(key, pend) {
			p.record(r, s.user, "totp.enroll refused: too many wrong codes")
			http.Redirect(w, r, "/enroll", http.StatusSeeOther)
			return
		}
		view, err := enrollPage(pend, "That code does not match: check the time on your phone and enter the code shown now.")
		if err != nil {
			p.fail(w, "drawing the QR code", err)
			return
		}
		view.NeedProof = p.needProof(s)
		p.render(w, http.StatusBadRequest, "enroll.html", view)
		return
	}
	if p.needProof(s) {
		// A second device from a session signed in a while ago: the
		// session alone (a browser left open) must not add one.
		if !p.allowGuess(r) {
			http.Error(w, "Too many attempts from your address: wait a minute, then try again.", http.StatusTooManyRequests)
			return
		}
		switch err := p.deps.Admin.ProveFactor(as(r, s), s.user, proofCode(r.PostForm.Get("proof")), ""); {
		case errors.Is(err, factors.ErrInvalidCode):
			p.record(r, s.user, "totp.enroll refused: no valid code from an existing device")
			view, err := enrollPage(pend, "Enter a current code from one of your existing devices, or a backup code, to add another.")
			if err != nil {
				p.fail(w, "drawing the QR code", err)
				return
			}
			view.NeedProof = true
			p.render(w, http.StatusForbidden, "enroll.html", view)
			return
		case err != nil:
			p.serviceError(w, r, "checking a code", err)
			return
		}
	}
	entitled, err := p.stillEntitled(r, s)
	if err != nil {
		p.fail(w, "reading the account", err)
		return
	}
	if !entitled {
		p.sessions.endKey(key)
		p.record(r, s.user, "totp.enroll refused: the account changed since sign-in")
		http.Redirect(w, r, "/signin", http.StatusSeeOther)
		return
	}
	if !p.sessions.takePending(key, pend) {
		http.Redirect(w, r, "/me", http.StatusSeeOther) // confirmed by another request
		return
	}
	e.Counter, e.LastUsedAt = step, p.deps.Now()
	add := p.deps.Devices.AddEnrollment
	if s.scope == ScopeEnroll {
		add = p.deps.Devices.AddFirstEnrollment // checked and written in one transaction
	}
	if err := add(r.Context(), e); err != nil {
		if s.scope == ScopeEnroll && errors.Is(err, store.ErrExists) {
			p.sessions.endKey(key)
			p.record(r, s.user, "totp.enroll refused: a device was enrolled meanwhile")
			http.Redirect(w, r, "/signin", http.StatusSeeOther)
			return
		}
		if errors.Is(err, store.ErrNotFound) {
			http.Error(w, "Your account is not known here yet: sign in over the VPN once, or ask your administrator.", http.StatusConflict)
			return
		}
		p.fail(w, "storing the device", err)
		return
	}
	// A new device changes what every other session was granted for.
	p.sessions.endUser(s.user, key)
	p.sessions.setScope(key, ScopeUser)
	p.record(r, s.user, "totp.enroll "+e.ID)
	http.Redirect(w, r, "/me?done=enrolled", http.StatusSeeOther)
}

func (p *pages) fail(w http.ResponseWriter, what string, err error) {
	p.log.Error("enrollment: "+what, slog.Any("err", err))
	http.Error(w, "Internal error", http.StatusInternalServerError)
}

func (p *pages) record(r *http.Request, user, detail string) {
	if p.deps.Audit != nil {
		p.deps.Audit.Record(store.AuditRecord{Time: p.deps.Now(), Kind: "web", User: user, Client: webClient, Detail: detail})
	}
}

// groupsOf4 spaces a base32 secret for reading and typing.
func groupsOf4(s string) string {
	var b strings.Builder
	for i, c := range s {
		if i > 0 && i%4 == 0 {
			b.WriteByte(' ')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// needProof reports whether adding a device from s needs a fresh code: a
// full session whose sign-in is older than recentProof. An enrollment-only
// session adds only a first device, checked in the store.
func (p *pages) needProof(s session) bool {
	return s.scope == ScopeUser && p.deps.Admin != nil && p.deps.Now().Sub(s.created) > recentProof
}
