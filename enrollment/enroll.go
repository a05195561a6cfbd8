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

	"radiusmfa/admin"
	"radiusmfa/factors"
	"radiusmfa/store"
)

// maxConfirmTries bounds wrong confirmation codes for one new secret; then
// the secret is dropped and the user starts again with a new one.
const maxConfirmTries = 5

// pendingTOTP is a secret shown to the user and not stored until they
// prove, with a code, that their app holds it.
type pendingTOTP struct {
	offer admin.TOTPOffer
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
		offer, err := p.deps.Admin.BeginTOTP(as(r, s), s.user, "authenticator app")
		if err != nil {
			return nil, err
		}
		return &pendingTOTP{offer: offer}, nil
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
	k, err := otp.NewKeyFromURL(pend.offer.URI)
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
	return enrollView{Secret: groupsOf4(pend.offer.Secret), QR: template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(b.Bytes())),
		Message: msg}, nil
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
	// A second device from a session signed in a while ago needs a fresh
	// code of an existing device too: the session alone (a browser left
	// open) must not add one.
	needProof := p.needProof(s)
	if needProof && !p.allowGuess(r) {
		http.Error(w, "Too many attempts from your address: wait a minute, then try again.", http.StatusTooManyRequests)
		return
	}
	if !p.sessions.takePending(key, pend) {
		http.Redirect(w, r, "/me", http.StatusSeeOther) // confirmed by another request
		return
	}
	_, err := p.deps.Admin.ConfirmTOTP(as(r, s), pend.offer, code, admin.ConfirmOptions{First: s.scope == ScopeEnroll,
		NeedProof: needProof, Proof: proofCode(r.PostForm.Get("proof"))})
	switch {
	case errors.Is(err, admin.ErrBadProof):
		p.sessions.restorePending(key, pend)
		p.record(r, s.user, "totp.enroll refused: no valid code from an existing device")
		p.enrollAgain(w, pend, http.StatusForbidden, "Enter a current code from one of your existing devices, or a backup code, to add another.", true)
		return
	case errors.Is(err, factors.ErrInvalidCode):
		p.sessions.restorePending(key, pend)
		if p.sessions.wrongCode(key, pend) {
			p.record(r, s.user, "totp.enroll refused: too many wrong codes")
			http.Redirect(w, r, "/enroll", http.StatusSeeOther)
			return
		}
		p.enrollAgain(w, pend, http.StatusBadRequest, "That code does not match: check the time on your phone and enter the code shown now.", p.needProof(s))
		return
	case errors.Is(err, admin.ErrAccountChanged):
		p.sessions.endKey(key)
		p.record(r, s.user, "totp.enroll refused: "+err.Error())
		http.Redirect(w, r, "/signin", http.StatusSeeOther)
		return
	case errors.Is(err, store.ErrNotFound):
		http.Error(w, "Your account is not known here yet: sign in over the VPN once, or ask your administrator.", http.StatusConflict)
		return
	case err != nil:
		p.serviceError(w, r, "storing the device", err)
		return
	}
	// A new device changes what every other session was granted for.
	p.sessions.endUser(s.user, key)
	p.sessions.setScope(key, ScopeUser)
	http.Redirect(w, r, "/me?done=enrolled", http.StatusSeeOther)
}

// enrollAgain shows the pending secret again with a message.
func (p *pages) enrollAgain(w http.ResponseWriter, pend *pendingTOTP, status int, msg string, needProof bool) {
	view, err := enrollPage(pend, msg)
	if err != nil {
		p.fail(w, "drawing the QR code", err)
		return
	}
	view.NeedProof = needProof
	p.render(w, status, "enroll.html", view)
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
	return s.scope == ScopeUser && p.deps.Now().Sub(s.created) > recentProof
}
