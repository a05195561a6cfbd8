package enrollment

import (
	"errors"
	"net/http"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"radiusmfa/admin"
	"radiusmfa/auth"
	"radiusmfa/factors"
	"radiusmfa/factors/otc"
	"radiusmfa/store"
)

// pendingContact is a phone or an email address a code was sent to, kept
// in the session and not stored until the user enters the code.
type pendingContact struct {
	proof *otc.Proof
	tries int
}

// contactRoutes serve adding a phone or an email address: a form that
// sends a code to it, then a page to enter the code.
func (p *pages) contactRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /enroll/phone", p.contactForm(true))
	mux.HandleFunc("POST /enroll/phone", p.contactSend(true))
	mux.HandleFunc("GET /enroll/email", p.contactForm(false))
	mux.HandleFunc("POST /enroll/email", p.contactSend(false))
	mux.HandleFunc("GET /enroll/code", p.contactCodeForm)
	mux.HandleFunc("POST /enroll/code", p.contactConfirm)
	mux.HandleFunc("POST /enroll/code/resend", p.contactResend)
}

// contactFormView is the form of a phone (Phone) or an email address.
type contactFormView struct {
	Phone      bool
	SMS, Voice bool   // the phone channels sent: with both, the user chooses
	Kind       string // the channel chosen
	To, Label  string // as typed: kept when the form comes back
	Message    string
}

// contactView is the empty form of a phone or an address; false when the
// server sends no codes that way.
func (p *pages) contactView(phone bool) (contactFormView, bool) {
	sent := p.deps.Admin.SentKinds()
	if !phone {
		return contactFormView{Kind: auth.KindEmail}, slices.Contains(sent, auth.KindEmail)
	}
	v := contactFormView{Phone: true, SMS: slices.Contains(sent, auth.KindSMS), Voice: slices.Contains(sent, auth.KindVoice)}
	v.Kind = auth.KindSMS
	if !v.SMS {
		v.Kind = auth.KindVoice
	}
	return v, v.SMS || v.Voice
}

func (p *pages) contactForm(phone bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if _, _, v, ok := p.contactPage(w, r, phone); ok {
			p.render(w, http.StatusOK, "contact.html", v)
		}
	}
}

// contactPage reads the session and the form's view of a page adding a
// phone (or an address); when there is no session, or no such channel,
// it has answered and ok is false.
func (p *pages) contactPage(w http.ResponseWriter, r *http.Request, phone bool) (key [32]byte, s session, v contactFormView, ok bool) {
	if key, s, ok = p.sessions.getKey(r); !ok {
		http.Redirect(w, r, "/signin", http.StatusSeeOther)
		return key, s, v, false
	}
	if v, ok = p.contactView(phone); !ok {
		http.Error(w, "Not found", http.StatusNotFound)
	}
	return key, s, v, ok
}

// contactSend sends a code to the phone or address typed and keeps what
// it proves in the session, in place of any other pending one. A refusal
// shows the form again, with what was typed and what is wrong.
func (p *pages) contactSend(phone bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		key, s, v, ok := p.contactPage(w, r, phone)
		if !ok || !form(w, r) {
			return
		}
		v.To, v.Label = strings.TrimSpace(r.PostForm.Get("to")), strings.TrimSpace(r.PostForm.Get("label"))
		if k := r.PostForm.Get("kind"); phone && (k == auth.KindSMS && v.SMS || k == auth.KindVoice && v.Voice) {
			v.Kind = k
		}
		proof, err := p.deps.Admin.BeginContact(as(r, s), s.user, v.Kind, v.To, v.Label)
		if err != nil {
			status, msg := sendProblem(err)
			if status == 0 {
				p.serviceError(w, r, "sending a code", err)
				return
			}
			v.Message = msg
			p.render(w, status, "contact.html", v)
			return
		}
		if err := p.sessions.setContact(key, &pendingContact{proof: proof}); err != nil {
			http.Redirect(w, r, "/signin", http.StatusSeeOther)
			return
		}
		http.Redirect(w, r, "/enroll/code", http.StatusSeeOther)
	}
}

// sendProblem is the status and message of a code that was not sent, for
// the page that asked; status 0 for an error that is the server's.
func sendProblem(err error) (int, string) {
	switch {
	case errors.Is(err, auth.ErrCodeLimited):
		return http.StatusTooManyRequests, auth.MsgCodeLimited
	case errors.Is(err, auth.ErrCodeNotSent):
		return http.StatusServiceUnavailable, auth.MsgCodeNotSent
	case errors.Is(err, admin.ErrInvalid):
		return http.StatusBadRequest, sentence(errMessage(err))
	}
	return 0, ""
}

// sentence capitalises a message of the service and ends it with a stop.
func sentence(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	s = string(unicode.ToUpper(r)) + s[n:]
	if !strings.HasSuffix(s, ".") {
		s += "."
	}
	return s
}

// contactCodeView is the page to enter the code sent.
type contactCodeView struct {
	To        string // "by text message to •••-•••-3816"
	Expires   string
	NeedProof bool
	Done      string
	Message   string
}

func (p *pages) codePage(w http.ResponseWriter, status int, pend *pendingContact, needProof bool, done, msg string) {
	p.render(w, status, "contact_code.html", contactCodeView{To: pend.proof.To,
		Expires: pend.proof.Expires.UTC().Format("15:04 UTC"), NeedProof: needProof, Done: done, Message: msg})
}

func (p *pages) contactCodeForm(w http.ResponseWriter, r *http.Request) {
	s, ok := p.sessions.get(r)
	if !ok {
		http.Redirect(w, r, "/signin", http.StatusSeeOther)
		return
	}
	if s.contact == nil {
		http.Redirect(w, r, "/me", http.StatusSeeOther)
		return
	}
	done := ""
	if r.URL.Query().Get("sent") == "again" {
		done = "A new code was sent: the one before no longer works."
	}
	p.codePage(w, http.StatusOK, s.contact, p.needProof(s), done, "")
}

// contactConfirm checks the code entered against the one sent and only
// then stores the phone or address, as enrollConfirm stores an app.
func (p *pages) contactConfirm(w http.ResponseWriter, r *http.Request) {
	key, s, pend, ok := p.pendingContactForm(w, r)
	if !ok {
		return
	}
	// As for an app: from a session signed in a while ago, a fresh code
	// of an existing device too.
	needProof := p.needProof(s)
	if needProof && !p.allowGuess(r) {
		http.Error(w, "Too many attempts from your address: wait a minute, then try again.", http.StatusTooManyRequests)
		return
	}
	if !p.sessions.takeContact(key, pend) {
		http.Redirect(w, r, "/me", http.StatusSeeOther) // confirmed, or replaced, by another request
		return
	}
	kind := pend.proof.Enrollment.Kind
	_, err := p.deps.Admin.ConfirmContact(as(r, s), pend.proof, proofCode(r.PostForm.Get("code")),
		admin.ConfirmOptions{First: s.scope == ScopeEnroll, NeedProof: needProof, Proof: proofCode(r.PostForm.Get("proof"))})
	switch {
	case errors.Is(err, admin.ErrBadProof):
		p.sessions.restoreContact(key, pend)
		p.record(r, s.user, kind+".enroll refused: no valid code from an existing device")
		p.codePage(w, http.StatusForbidden, pend, true, "", "Enter a current code from one of your existing devices, or a backup code, to add another.")
	case errors.Is(err, otc.ErrExpired):
		p.sessions.restoreContact(key, pend)
		p.codePage(w, http.StatusBadRequest, pend, needProof, "", "That code has expired: send a new one.")
	case errors.Is(err, factors.ErrInvalidCode):
		p.sessions.restoreContact(key, pend)
		if p.sessions.wrongContactCode(key, pend) {
			p.record(r, s.user, kind+".enroll refused: too many wrong codes")
			p.contactAgain(w, pend, "Too many wrong codes: send a new code to try again.")
			return
		}
		p.codePage(w, http.StatusBadRequest, pend, needProof, "", "That code does not match: check it and enter it again, or send a new one.")
	case errors.Is(err, admin.ErrAccountChanged):
		p.sessions.endKey(key)
		p.record(r, s.user, kind+".enroll refused: "+err.Error())
		http.Redirect(w, r, "/signin", http.StatusSeeOther)
	case errors.Is(err, admin.ErrInvalid):
		p.contactAgain(w, pend, sentence(errMessage(err)))
	case errors.Is(err, store.ErrNotFound):
		http.Error(w, "Your account is not known here yet: sign in over the VPN once, or ask your administrator.", http.StatusConflict)
	case err != nil:
		p.serviceError(w, r, "storing the device", err)
	default:
		// A new device changes what every other session was granted for.
		p.sessions.endUser(s.user, key)
		p.sessions.setScope(key, ScopeUser)
		http.Redirect(w, r, "/me?done=enrolled", http.StatusSeeOther)
	}
}

// pendingContactForm reads the session of a form posted about the phone
// or address being added; when there is none, or the form is bad, it has
// answered and ok is false.
func (p *pages) pendingContactForm(w http.ResponseWriter, r *http.Request) (key [32]byte, s session, pend *pendingContact, ok bool) {
	key, s, ok = p.sessions.getKey(r)
	if !ok {
		http.Redirect(w, r, "/signin", http.StatusSeeOther)
		return key, session{}, nil, false
	}
	if pend = s.contact; pend == nil {
		http.Redirect(w, r, "/me", http.StatusSeeOther)
		return key, session{}, nil, false
	}
	if !form(w, r) {
		return key, session{}, nil, false
	}
	return key, s, pend, true
}

// contactAgain shows the form of a dropped phone or address again, filled
// in, to send a new code.
func (p *pages) contactAgain(w http.ResponseWriter, pend *pendingContact, msg string) {
	en := pend.proof.Enrollment
	v, ok := p.contactView(en.Kind != auth.KindEmail)
	if !ok {
		http.Error(w, msg, http.StatusBadRequest)
		return
	}
	v.To, _ = otc.Destination(en)
	v.Kind, v.Label, v.Message = en.Kind, en.Label, msg
	p.render(w, http.StatusBadRequest, "contact.html", v)
}

// contactResend sends a new code to the pending phone or address; it
// replaces the one sent before. The sender's rate limits apply.
func (p *pages) contactResend(w http.ResponseWriter, r *http.Request) {
	key, s, pend, ok := p.pendingContactForm(w, r)
	if !ok {
		return
	}
	en := pend.proof.Enrollment
	dest, err := otc.Destination(en)
	if err != nil {
		p.fail(w, "reading a pending device", err)
		return
	}
	proof, err := p.deps.Admin.BeginContact(as(r, s), s.user, en.Kind, dest, en.Label)
	if err != nil {
		status, msg := sendProblem(err)
		if status == 0 {
			p.serviceError(w, r, "sending a code", err)
			return
		}
		p.codePage(w, status, pend, p.needProof(s), "", msg)
		return
	}
	if err := p.sessions.setContact(key, &pendingContact{proof: proof}); err != nil {
		http.Redirect(w, r, "/signin", http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, "/enroll/code?sent=again", http.StatusSeeOther)
}
