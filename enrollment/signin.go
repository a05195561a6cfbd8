package enrollment

import (
	"context"
	"log/slog"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"radiusmfa/admin"
	"radiusmfa/auth"
	"radiusmfa/store"
)

// Deps are the parts of the server the site's pages use. With Auth or
// Admin nil the site serves its landing page only.
type Deps struct {
	Auth interface {
		Decide(ctx context.Context, r auth.Request) auth.Decision
	}
	Audit interface{ Record(store.AuditRecord) }
	// Admin is the service layer behind every signed-in page: enrollment,
	// the account page, the console and the JSON API.
	Admin *admin.Service
	// Roles says who may use the console.
	Roles Roles
	// Push serves the approver app; nil without push approval.
	Push *PushDeps
	// Delimiter joins password and code as a RADIUS login would.
	Delimiter string
	Now       func() time.Time
}

// msgSignInFailed is the site's one reply to every credential failure.
const msgSignInFailed = "Sign-in failed. Check your user name and password and, if you have a device, enter its current code."

// webClient is the client name of sign-ins on the site: in the audit, and
// for the group policy (a policy of RADIUS client "web", if any).
const webClient = "web"

// Form limits: far above real values, far below abuse.
const (
	maxFormBytes = 8 << 10
	maxPassword  = 1024
)

type pages struct {
	deps     Deps
	sessions *sessions
	limit    *rateLimiter
	pairs    *pairTokens
	log      *slog.Logger
	// publicURL is web.public_url: see origin.
	publicURL string
}

// origin is the site's https origin as phones reach it: web.public_url,
// else the Host this request came with.
func (p *pages) origin(r *http.Request) string {
	if p.publicURL != "" {
		return p.publicURL
	}
	return "https://" + r.Host
}

type signinView struct {
	User    string
	Message string
	// Send are the ways to have a code sent, one button each; CodeSent
	// says one was, and the page now waits for the password and the code.
	Send     []sendOption
	CodeSent bool
}

// sendOption is a button of the sign-in form that has a code sent.
type sendOption struct{ Kind, Label string }

// sendKeywords are what a sign-in appends to the password to have a code
// of a kind sent, as over RADIUS (password,sms): to the user's first
// device of that kind.
var sendKeywords = map[string]string{auth.KindSMS: "sms", auth.KindVoice: "phone", auth.KindEmail: "email"}

var sendLabels = map[string]string{auth.KindSMS: "Text me a code", auth.KindVoice: "Call me with a code", auth.KindEmail: "Email me a code"}

// signinPage is the sign-in form for user, with the buttons of the kinds
// of code the server sends.
func (p *pages) signinPage(user string) signinView {
	v := signinView{User: user}
	for _, k := range p.deps.Admin.SentKinds() {
		v.Send = append(v.Send, sendOption{Kind: k, Label: sendLabels[k]})
	}
	return v
}

func (p *pages) render(w http.ResponseWriter, status int, name string, data any) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	if err := templates.ExecuteTemplate(w, name, data); err != nil {
		p.log.Error("enrollment: rendering a page", slog.String("page", name), slog.Any("err", err))
	}
}

func (p *pages) landing(w http.ResponseWriter, r *http.Request) {
	if _, ok := p.sessions.get(r); ok {
		http.Redirect(w, r, "/me", http.StatusSeeOther)
		return
	}
	p.render(w, http.StatusOK, "landing.html", struct{ SignIn bool }{p.deps.Auth != nil})
}

func (p *pages) signinForm(w http.ResponseWriter, r *http.Request) {
	p.render(w, http.StatusOK, "signin.html", p.signinPage(""))
}

// signin checks the password and code through the engine, exactly as a
// RADIUS login (one primary check, the same lockout counters), and starts
// a session: full for an accepted login, enrollment-only for a right
// password of a user with no device. A form sent with a send button asks
// the engine to send a code instead (password,sms), as a VPN client
// would; the page then says where it went and asks again for the password
// (never echoed into the page) and the code.
func (p *pages) signin(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "Bad request", http.StatusBadRequest)
		return
	}
	user := strings.TrimSpace(r.PostForm.Get("user"))
	// A backup code may be typed as shown ("1234 5678").
	pw, code := r.PostForm.Get("password"), proofCode(r.PostForm.Get("code"))
	view := p.signinPage(user)
	send := r.PostForm.Get("send")
	if send != "" {
		code = "" // the code field is for the next sign-in
		if !slices.ContainsFunc(view.Send, func(o sendOption) bool { return o.Kind == send }) {
			http.Error(w, "Bad request", http.StatusBadRequest)
			return
		}
	}
	if user == "" || pw == "" || len(pw) > maxPassword || !utf8.ValidString(pw) || !digitsOnly(code) {
		view.Message = "Enter your user name, your password and, if you have a device, its current code."
		p.render(w, http.StatusBadRequest, "signin.html", view)
		return
	}
	secret := pw
	switch {
	case send != "":
		secret += p.deps.Delimiter + sendKeywords[send]
	case code != "":
		secret += p.deps.Delimiter + code
	}
	src, _ := netip.ParseAddrPort(r.RemoteAddr)
	if !p.limit.allow(src.Addr()) {
		view.Message = "Too many sign-in attempts from your address: wait a minute, then try again."
		p.render(w, http.StatusTooManyRequests, "signin.html", view)
		return
	}
	start := time.Now()
	// Wait: a sign-in never pushes (Interactive), but a Pending decision
	// must be followed to its end whatever happens.
	d := p.deps.Auth.Decide(r.Context(), auth.Request{UserName: user, Password: secret, Client: webClient, Source: src, Interactive: true}).Wait(r.Context())
	p.audit(r, user, src, d, time.Since(start))
	switch {
	case d.Outcome == auth.Accept && d.Factor == "":
		// In on the password alone (MFA optional, or before the enrollment
		// deadline): on the site that means no device, so enrollment only.
		p.noteRole(r, d)
		p.sessions.drop(r)
		p.sessions.start(w, d.User, ScopeEnroll, "")
		http.Redirect(w, r, "/me", http.StatusSeeOther)
	case d.Outcome == auth.Accept:
		p.sessions.drop(r) // a session the browser still held ends here
		p.noteRole(r, d)
		p.sessions.start(w, d.User, ScopeUser, p.roleOf(d))
		http.Redirect(w, r, "/me", http.StatusSeeOther)
	case d.Outcome == auth.Reject && d.Reason == auth.ReasonNotEnrolled:
		// The password was right and there is no device: enrollment only.
		p.noteRole(r, d)
		p.sessions.drop(r)
		p.sessions.start(w, d.User, ScopeEnroll, "")
		http.Redirect(w, r, "/me", http.StatusSeeOther)
	case d.Outcome == auth.Drop:
		view.Message = "The server is busy: try again in a moment."
		p.render(w, http.StatusServiceUnavailable, "signin.html", view)
	case d.Outcome == auth.Reject && d.Reason == auth.ReasonCodeSent:
		view.Message, view.CodeSent = codeSentMessage(d.Message), true
		p.render(w, http.StatusOK, "signin.html", view)
	case d.Outcome == auth.Reject && d.Reason == auth.ReasonCodeLimited:
		view.Message = d.Message
		p.render(w, http.StatusTooManyRequests, "signin.html", view)
	default:
		// One message for every credential failure, as over RADIUS (a
		// message of its own for "code missing" would confirm a right
		// password); the engine's other messages (locked, expired) stand.
		view.Message = d.Message
		if d.Message == "" || strings.HasPrefix(d.Message, "Authentication failed") {
			view.Message = msgSignInFailed
		}
		p.render(w, http.StatusUnauthorized, "signin.html", view)
	}
}

func (p *pages) audit(r *http.Request, user string, src netip.AddrPort, d auth.Decision, took time.Duration) {
	if p.deps.Audit == nil {
		return
	}
	name := d.User
	if name == "" {
		name = user
	}
	p.deps.Audit.Record(store.AuditRecord{Time: p.deps.Now(), Kind: "web", User: name, Client: webClient,
		CallingStationID: src.Addr().String(), Factor: d.Factor, Outcome: d.Outcome.String(),
		Reason: string(d.Reason), Detail: "sign-in", Duration: took})
	if d.Err != nil {
		p.log.Error("enrollment: sign-in", slog.String("user", name), slog.String("reason", string(d.Reason)), slog.Any("err", d.Err))
	}
}

func (p *pages) signout(w http.ResponseWriter, r *http.Request) {
	p.sessions.end(w, r)
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// codeSentMessage is the engine's word on where a code went, for the
// site: its first sentence ("A code was sent by text message to
// •••-•••-3816"); the rest tells a VPN user how to append the code.
func codeSentMessage(msg string) string {
	if i := strings.Index(msg, ". "); i > 0 {
		msg = msg[:i]
	}
	return strings.TrimSuffix(msg, ".") + ". Enter your password again, and the code."
}

func digitsOnly(s string) bool {
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return len(s) <= 8
}
