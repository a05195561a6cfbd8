package enrollment

import (
	"errors"
	"html/template"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"radiusmfa/factors/push"
)

// linkCSP is the policy of the approval-link pages: no script at all, the
// site's stylesheet, and a form that posts back to the site.
const linkCSP = "default-src 'none'; style-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// NtfyDeps are the parts of ntfy delivery the site serves.
type NtfyDeps struct {
	// Server is the ntfy server's base URL, as the app subscribes to it.
	Server string
	// Links checks the approval links the notifications carry.
	Links *push.LinkKey
}

// ntfyRoutes serves ntfy pairing (from the account page) and the approval
// links. Without ntfy, none of it exists.
func (p *pages) ntfyRoutes(mux *http.ServeMux) {
	if p.deps.Push == nil || p.deps.Push.Ntfy == nil {
		return
	}
	mux.HandleFunc("POST /me/ntfy", p.ntfyPairPage)
	mux.HandleFunc("GET "+push.LinkPath+"{token}", p.linkPage)
	mux.HandleFunc("POST "+push.LinkPath+"{token}", p.linkAnswer)
}

type ntfyPairView struct {
	Nav                 navView
	Server, Topic, Name string
	Subscribe           template.URL // ntfy://host/topic, for the Android app
	QR                  template.URL
}

// ntfyPairPage makes an ntfy approver with a new topic and shows how to
// subscribe to it. As for pairing a phone, a session signed in a while ago
// proves a current code first.
func (p *pages) ntfyPairPage(w http.ResponseWriter, r *http.Request) {
	s, ok := p.full(w, r)
	if !ok || !form(w, r) {
		return
	}
	if !p.freshProof(w, r, s, "push.pair_ntfy", "ntfyproof") {
		return
	}
	// The links of its notifications point where the user paired, as the
	// approver app answers where it was installed from.
	res, err := p.deps.Admin.PairNtfy(as(r, s), s.user, strings.TrimSpace(r.PostForm.Get("name")), p.origin(r))
	if err != nil {
		p.serviceError(w, r, "pairing an ntfy approver", err)
		return
	}
	server := strings.TrimSuffix(p.deps.Push.Ntfy.Server, "/")
	u, err := url.Parse(server)
	if err != nil {
		p.fail(w, "reading push.ntfy.url", err)
		return
	}
	// The ntfy app's subscribe link: ntfy://host/topic, over https unless
	// it says secure=false.
	sub := "ntfy://" + u.Host + "/" + res.Topic
	if u.Scheme == "http" {
		sub += "?secure=false"
	}
	img, err := qrImage(sub)
	if err != nil {
		p.fail(w, "drawing the QR code", err)
		return
	}
	name := strings.TrimSpace(r.PostForm.Get("name"))
	if name == "" {
		name = push.DefaultNtfyName
	}
	p.render(w, http.StatusOK, "ntfy_pair.html", ntfyPairView{Nav: nav(s, "me"), Server: server, Topic: res.Topic,
		Name: name, Subscribe: template.URL(sub), QR: img})
}

type linkView struct {
	Action, User, Client, NAS, From, Location, Time, Expires string
	Danger                                                   bool
	Done, Message                                            string
}

// linkTarget verifies the request's approval link and finds its push,
// still pending for a device that may still answer. On failure it returns
// the status and message to answer with.
func (p *pages) linkTarget(r *http.Request) (push.Link, push.Pending, int, string) {
	l, err := p.deps.Push.Ntfy.Links.Verify(r.PathValue("token"), p.deps.Now())
	switch {
	case errors.Is(err, push.ErrLinkExpired):
		return l, push.Pending{}, http.StatusGone, "This link has expired: the sign-in it was for is over."
	case err != nil:
		return l, push.Pending{}, http.StatusForbidden, "This is not a valid approval link."
	}
	pd, ok := p.deps.Push.Hub.LinkPending(l)
	if !ok {
		return l, pd, http.StatusGone, "This sign-in was already answered, or it is over: each link works once."
	}
	if err := p.deps.Admin.LinkApprover(r.Context(), pd.User, pd.DeviceID); err != nil {
		return l, pd, http.StatusForbidden, "The device this request was sent to can no longer answer (it was disabled or removed)."
	}
	return l, pd, http.StatusOK, ""
}

// linkPage shows what a link would answer and a button that does it: a
// GET answers nothing, so link previews and prefetchers cannot approve.
func (p *pages) linkPage(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Security-Policy", linkCSP)
	l, pd, status, msg := p.linkTarget(r)
	if status != http.StatusOK {
		p.linkRefused(w, r, status, msg)
		return
	}
	c := pd.Context
	v := linkView{User: c.User, Client: c.Client, NAS: c.NASIdentifier, From: c.CallingStationID, Location: c.Location,
		Time: dateTime(c.Time), Expires: pd.Expires.UTC().Format("15:04:05 UTC")}
	switch l.Verdict() {
	case push.AnswerApprove:
		v.Action = "Approve"
		if l.Number() != 0 {
			v.Action = "Approve with number " + strconv.Itoa(l.Number())
		}
	case push.AnswerDeny:
		v.Action, v.Danger = "Deny", true
	case push.AnswerReport:
		v.Action, v.Danger = "Deny and report: this was not me", true
	}
	p.render(w, http.StatusOK, "approver_link.html", v)
}

// linkAnswer gives the link's answer, as the ntfy app's button does (a
// POST), or the confirmation page's. The link is spent: the Hub settles a
// push once.
//
// Only refusals count against the address's guess budget, as for the
// approver app's answers: a link is 79 characters with a 256-bit MAC, so
// nothing is worth guessing, and the budget only slows a client that keeps
// sending bad links.
func (p *pages) linkAnswer(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Security-Policy", linkCSP)
	// The app may send a body; nothing in it counts.
	_, _ = io.Copy(io.Discard, http.MaxBytesReader(w, r.Body, maxApproverBody))
	l, _, status, msg := p.linkTarget(r)
	if status != http.StatusOK {
		p.linkRefused(w, r, status, msg)
		return
	}
	v, err := p.deps.Push.Hub.AnswerLink(l)
	switch {
	case errors.Is(err, push.ErrUnknown), errors.Is(err, push.ErrExpired):
		p.linkRefused(w, r, http.StatusGone, "This sign-in was already answered, or it is over: each link works once.")
		return
	case err != nil:
		p.log.Error("enrollment: answering an approval link", slog.Any("err", err))
		http.Error(w, "Internal error", http.StatusInternalServerError)
		return
	}
	done := map[push.Verdict]string{
		push.Approved: "Approved: the sign-in goes ahead.",
		push.Denied:   "Denied: the sign-in is refused.",
		push.Reported: "Denied and reported: the sign-in is refused, push requests to you are paused, and the administrators are told. If you did not sign in, change your password.",
	}[v]
	if l.Number() != 0 && v == push.Denied {
		done = "Denied: that was not the number shown at the sign-in, so it is refused."
	}
	p.render(w, http.StatusOK, "approver_link.html", linkView{Done: done})
}

// linkRefused answers a refused link with its message, or, for a POST,
// 429 once the address has used up its budget of refusals. A GET answers
// nothing (a link preview, an expired link opened again), so it is not
// charged to the budget the address's sign-ins share.
func (p *pages) linkRefused(w http.ResponseWriter, r *http.Request, status int, msg string) {
	if r.Method == http.MethodPost && !p.allowGuess(r) {
		status, msg = http.StatusTooManyRequests, "Too many refused links from your address: wait a minute, then try again."
	}
	p.render(w, status, "approver_link.html", linkView{Message: msg})
}
