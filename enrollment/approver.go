package enrollment

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"html/template"
	"image/png"
	"io"
	"io/fs"
	"log/slog"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/boombuler/barcode"
	"github.com/boombuler/barcode/qr"

	"radiusmfa/admin"
	"radiusmfa/factors/push"
)

// Pairing tokens: a phone pairs within pairTTL of the user asking for it,
// once.
const (
	pairTTL          = 10 * time.Minute
	maxPairsPerUser  = 3
	maxApproverBody  = 16 << 10
	approverListTag  = "radiusmfa-list-v1"
	approverManifest = "approver/manifest.webmanifest"
)

// approverCSP is the site's policy plus what the approver app needs: its
// own service worker, fetches to this origin and its manifest.
const approverCSP = contentSecurityPolicy + "; connect-src 'self'; worker-src 'self'; manifest-src 'self'"

// PushDeps are the parts of push approval the site serves: the approver
// app answers the hub's pending pushes.
type PushDeps struct {
	Hub         *push.Hub
	VAPIDPublic string // the application server key the app subscribes with
	// Ntfy, if set, offers the ntfy app as a second way to get login
	// requests: pairing shows a topic to subscribe to, and the approval
	// links of its notifications are answered here.
	Ntfy *NtfyDeps
}

type pairToken struct {
	user    string
	expires time.Time
}

// pairTokens are the outstanding pairing tokens, keyed by their SHA-256.
type pairTokens struct {
	mu sync.Mutex
	m  map[[32]byte]pairToken
}

func (pt *pairTokens) issue(user string, now time.Time) (string, error) {
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", err
	}
	tok := base64.RawURLEncoding.EncodeToString(raw[:])
	pt.mu.Lock()
	defer pt.mu.Unlock()
	var mine [][32]byte
	for k, t := range pt.m {
		switch {
		case !now.Before(t.expires):
			delete(pt.m, k)
		case t.user == user:
			mine = append(mine, k)
		}
	}
	// The user's oldest tokens make room (map order is random: sort).
	slices.SortFunc(mine, func(a, b [32]byte) int { return pt.m[a].expires.Compare(pt.m[b].expires) })
	for len(mine) >= maxPairsPerUser {
		delete(pt.m, mine[0])
		mine = mine[1:]
	}
	pt.m[sha256.Sum256([]byte(tok))] = pairToken{user: user, expires: now.Add(pairTTL)}
	return tok, nil
}

// take consumes a token and returns whose it was.
func (pt *pairTokens) take(tok string, now time.Time) (string, bool) {
	k := sha256.Sum256([]byte(tok))
	pt.mu.Lock()
	defer pt.mu.Unlock()
	t, ok := pt.m[k]
	delete(pt.m, k)
	if !ok || !now.Before(t.expires) {
		return "", false
	}
	return t.user, true
}

// approverRoutes serves pairing (from the account page) and the approver
// app with its endpoints. Without push, none of it exists.
func (p *pages) approverRoutes(mux *http.ServeMux) {
	if p.deps.Push == nil {
		return
	}
	mux.HandleFunc("POST /me/approver", p.approverPairPage)
	mux.HandleFunc("GET /approver/{$}", p.approverApp)
	mux.HandleFunc("GET /approver/sw.js", p.approverFile("approver/sw.js", "text/javascript; charset=utf-8"))
	mux.HandleFunc("GET /approver/manifest.webmanifest", p.approverFile(approverManifest, "application/manifest+json"))
	mux.HandleFunc("GET /approver/vapid", p.approverVAPID)
	mux.HandleFunc("POST /approver/pair", p.approverPair)
	mux.HandleFunc("POST /approver/pending", p.approverPending)
	mux.HandleFunc("POST /approver/answer", p.approverAnswer)
	p.ntfyRoutes(mux)
}

type approverPairView struct {
	Nav     navView
	URL     string
	QR      template.URL
	Expires string
}

// approverPairPage makes a pairing token and shows it as a QR code for the
// phone's camera (and as a link for the phone's own browser). From a
// session signed in a while ago it asks for a fresh code first, as adding
// any other device does.
func (p *pages) approverPairPage(w http.ResponseWriter, r *http.Request) {
	s, ok := p.full(w, r)
	if !ok || !form(w, r) {
		return
	}
	if !p.freshProof(w, r, s, "push.pair", "pairproof") {
		return
	}
	tok, err := p.pairs.issue(s.user, p.deps.Now())
	if err != nil {
		p.fail(w, "making a pairing token", err)
		return
	}
	link := p.origin(r) + "/approver/#pair=" + tok
	img, err := qrImage(link)
	if err != nil {
		p.fail(w, "drawing the QR code", err)
		return
	}
	p.record(r, s.user, "push.pair started")
	p.render(w, http.StatusOK, "approver_pair.html", approverPairView{Nav: nav(s, "me"), URL: link, QR: img,
		Expires: p.deps.Now().Add(pairTTL).UTC().Format("15:04 UTC")})
}

// qrImage draws text as a QR code PNG data URL.
func qrImage(text string) (template.URL, error) {
	code, err := qr.Encode(text, qr.M, qr.Auto)
	if err != nil {
		return "", err
	}
	img, err := barcode.Scale(code, 280, 280)
	if err != nil {
		return "", err
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		return "", err
	}
	return template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(b.Bytes())), nil
}

// approverApp is the app's shell page; app.js does the rest.
func (p *pages) approverApp(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Security-Policy", approverCSP)
	p.render(w, http.StatusOK, "approver.html", nil)
}

// approverFile serves one file of the app from the embedded assets: the
// service worker must come from /approver/ to control that scope.
func (p *pages) approverFile(name, contentType string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		b, err := fs.ReadFile(assets, "assets/"+name)
		if err != nil {
			p.fail(w, "reading "+name, err)
			return
		}
		w.Header().Set("Content-Type", contentType)
		w.Header().Set("Content-Security-Policy", approverCSP)
		_, _ = w.Write(b)
	}
}

func (p *pages) approverVAPID(w http.ResponseWriter, r *http.Request) {
	writeApproverJSON(w, http.StatusOK, map[string]string{"public_key": p.deps.Push.VAPIDPublic})
}

// approverPair stores the phone's key and subscription for the user whose
// pairing token it presents. The token is spent by the attempt.
func (p *pages) approverPair(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Token        string          `json:"token"`
		Name         string          `json:"name"`
		PublicKey    string          `json:"public_key"`
		Subscription json.RawMessage `json:"subscription"`
	}
	if !p.readApproverJSON(w, r, &in) {
		return
	}
	user, ok := p.pairs.take(in.Token, p.deps.Now())
	if !ok {
		writeApproverError(w, http.StatusForbidden, "this pairing code is unknown, used or expired: make a new one on your account page")
		return
	}
	ctx := admin.WithPrincipal(r.Context(), admin.Principal{Name: user})
	id, err := p.deps.Admin.PairApprover(ctx, admin.PairRequest{User: user, Name: in.Name, PublicKey: in.PublicKey, Subscription: in.Subscription})
	if err != nil {
		status, msg := serviceStatus(err)
		if status == http.StatusInternalServerError {
			p.log.Error("enrollment: pairing an approver", slog.String("user", user), slog.Any("err", err))
		}
		writeApproverError(w, status, msg)
		return
	}
	writeApproverJSON(w, http.StatusOK, map[string]string{"user": user, "device": id})
}

// approverSigned checks a request the app signed with its key: the
// signature, made over the message its handler names, is what proves the
// phone (the app has no cookie). It answers and returns false on failure.
func (p *pages) approverKeyOK(w http.ResponseWriter, r *http.Request, user, device string, msg, sig []byte) bool {
	pub, err := p.deps.Admin.ApproverKey(r.Context(), user, device)
	if err != nil || !push.Verify(pub, msg, sig) {
		writeApproverError(w, http.StatusForbidden, "not signed by a paired approver of this user")
		return false
	}
	return true
}

// approverPending lists the device's pending pushes, for an app opened
// without a push message (or to show a number-matching choice).
func (p *pages) approverPending(w http.ResponseWriter, r *http.Request) {
	var in struct {
		User, Device string
		Time         int64
		Signature    string
	}
	if !p.readApproverJSON(w, r, &in) {
		return
	}
	sig, err := base64.RawURLEncoding.DecodeString(in.Signature)
	at := time.Unix(in.Time, 0)
	if err != nil || p.deps.Now().Sub(at).Abs() > 2*time.Minute {
		writeApproverError(w, http.StatusForbidden, "bad signature or time")
		return
	}
	msg := []byte(approverListTag + "\n" + in.User + "\n" + in.Device + "\n" + strconv.FormatInt(in.Time, 10))
	if !p.approverKeyOK(w, r, in.User, in.Device, msg, sig) {
		return
	}
	out := []push.Pending{}
	for _, pd := range p.deps.Push.Hub.PendingFor(in.User) {
		if pd.DeviceID == in.Device {
			out = append(out, pd)
		}
	}
	writeApproverJSON(w, http.StatusOK, map[string]any{"pending": out})
}

// approverAnswer takes a signed approve, deny or report; the hub checks the
// signature against the key of the device the push went to, which must
// still be an enabled approver of the user (a phone disabled or removed
// while its push was pending answers nothing).
//
// Only refusals count against the address's guess budget: a signed answer
// to a pending push is no guess, the hub bounds the pushes a user gets, and
// phones behind one carrier NAT would otherwise share ten answers a minute.
// Nothing is worth guessing either (the nonce is 128 random bits): the
// budget only slows a client that keeps sending wrong answers.
func (p *pages) approverAnswer(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Nonce, User, Verdict string
		Time                 int64
		Signature            string
		Number               int
	}
	if !p.readApproverJSON(w, r, &in) {
		return
	}
	sig, err := base64.RawURLEncoding.DecodeString(in.Signature)
	if err != nil {
		writeApproverError(w, http.StatusBadRequest, "signature must be base64url")
		return
	}
	v, err := push.Verdict(0), push.ErrUnknown
	if p.stillPaired(r, in.Nonce, in.User) {
		v, err = p.deps.Push.Hub.Answer(push.Answer{Nonce: in.Nonce, User: in.User, Verdict: in.Verdict,
			Time: time.Unix(in.Time, 0), Signature: sig, Number: in.Number})
	}
	if err != nil {
		if !p.allowGuess(r) {
			writeApproverError(w, http.StatusTooManyRequests, "too many refused answers from your address: wait a minute")
			return
		}
		// One reply for every refusal: nothing tells a guesser which part
		// was wrong.
		writeApproverError(w, http.StatusForbidden, "this request cannot be answered (already answered, expired, or not yours)")
		return
	}
	writeApproverJSON(w, http.StatusOK, map[string]string{"verdict": v.String()})
}

// stillPaired reports whether the push of nonce is pending for user on a
// device that is still an enabled approver of theirs.
func (p *pages) stillPaired(r *http.Request, nonce, user string) bool {
	pd, ok := p.deps.Push.Hub.Get(nonce, user)
	if !ok {
		return false
	}
	_, err := p.deps.Admin.ApproverKey(r.Context(), user, pd.DeviceID)
	return err == nil
}

func (p *pages) readApproverJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	// A charset parameter (as some clients add) is still JSON.
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		writeApproverError(w, http.StatusUnsupportedMediaType, "send application/json")
		return false
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxApproverBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		writeApproverError(w, http.StatusBadRequest, "bad JSON")
		return false
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		writeApproverError(w, http.StatusBadRequest, "bad JSON: one object, nothing after it")
		return false
	}
	return true
}

func writeApproverJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Content-Security-Policy", approverCSP)
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeApproverError(w http.ResponseWriter, status int, msg string) {
	writeApproverJSON(w, status, map[string]string{"error": msg})
}
