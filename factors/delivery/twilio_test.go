package delivery

import (
	"context"
	"encoding/xml"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"radiusmfa/factors/delivery/deliverytest"
)

func twilioFor(t *testing.T, srv *deliverytest.TwilioServer, edit func(*TwilioOptions)) *Twilio {
	t.Helper()
	o := TwilioOptions{BaseURL: srv.URL, AccountSID: srv.AccountSID, AuthToken: srv.AuthToken,
		From: "+15005550006", AllowLoopbackPlaintext: true, RootCAs: srv.RootCAs}
	if edit != nil {
		edit(&o)
	}
	p, err := NewTwilio(o)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestTwilioSMS(t *testing.T) {
	srv := deliverytest.NewTwilio(t)
	m := codeMessage(SMS, "+15855550123")
	if err := send(t, twilioFor(t, srv, nil), m); err != nil {
		t.Fatal(err)
	}
	got := srv.WaitFor(t, 1, 5*time.Second)
	want := deliverytest.TwilioRequest{Kind: "sms", AccountSID: srv.AccountSID, To: "+15855550123",
		From: "+15005550006", Body: m.Text, SID: got[0].SID}
	if len(got) != 1 || got[0] != want {
		t.Errorf("requests %+v, want one %+v", got, want)
	}
}

func TestTwilioMessagingService(t *testing.T) {
	srv := deliverytest.NewTwilio(t)
	p := twilioFor(t, srv, func(o *TwilioOptions) { o.From, o.MessagingServiceSID = "", "MG0123" })
	if err := send(t, p, codeMessage(SMS, "+447700900123")); err != nil {
		t.Fatal(err)
	}
	if r := srv.WaitFor(t, 1, 5*time.Second)[0]; r.MessagingServiceSID != "MG0123" || r.From != "" || r.To != "+447700900123" {
		t.Errorf("request %+v, want the messaging service and no From", r)
	}
}

// TestTwilioVoice: the call's TwiML says the text twice, escaped, so that
// text cannot become markup.
func TestTwilioVoice(t *testing.T) {
	srv := deliverytest.NewTwilio(t)
	m := codeMessage(Voice, "+15855550123")
	m.Text = `Your code is 4, 9, 3, 8, 1, 7. <Play>x</Play> & "bye"`
	if err := send(t, twilioFor(t, srv, nil), m); err != nil {
		t.Fatal(err)
	}
	r := srv.WaitFor(t, 1, 5*time.Second)[0]
	if r.Kind != "voice" || r.To != m.To || r.From != "+15005550006" || r.Body != "" {
		t.Errorf("request %+v", r)
	}
	say := `<Say>Your code is 4, 9, 3, 8, 1, 7. &lt;Play&gt;x&lt;/Play&gt; &amp; &#34;bye&#34;</Say>`
	if want := "<Response>" + say + `<Pause length="1"/>` + say + "</Response>"; r.Twiml != want {
		t.Errorf("Twiml\n%s\nwant\n%s", r.Twiml, want)
	}
	var doc struct {
		Say   []string `xml:"Say"`
		Pause []struct {
			Length string `xml:"length,attr"`
		} `xml:"Pause"`
		Play []string `xml:"Play"`
	}
	if err := xml.Unmarshal([]byte(r.Twiml), &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Say) != 2 || doc.Say[0] != m.Text || doc.Say[1] != m.Text || len(doc.Pause) != 1 || len(doc.Play) != 0 {
		t.Errorf("TwiML reads as %+v", doc)
	}
}

func TestTwilioError(t *testing.T) {
	srv := deliverytest.NewTwilio(t)
	p := twilioFor(t, srv, nil)
	m := codeMessage(SMS, "+15855550123")
	srv.FailNext(400, 21211, "The 'To' number is not valid; message 'Your radiusmfa code is "+testCode+".' dropped")
	err := send(t, p, m)
	checkSecretFree(t, err, m, srv.AuthToken, "/2010-04-01", srv.AccountSID)
	for _, want := range []string{"400 Bad Request", "21211", "is not valid", "[code]"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%v: no %q", err, want)
		}
	}
	if !errors.Is(err, ErrRefused) {
		t.Errorf("%v does not wrap ErrRefused", err)
	}

	srv.FailNext(429, 20429, "Too Many Requests")
	if err := send(t, p, m); err == nil || errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "20429") {
		t.Errorf("429: %v, want an error not refused", err)
	}
	if n := len(srv.Requests()); n != 0 {
		t.Errorf("%d requests recorded as accepted", n)
	}
}

func TestTwilioWrongToken(t *testing.T) {
	srv := deliverytest.NewTwilio(t)
	p := twilioFor(t, srv, func(o *TwilioOptions) { o.AuthToken = "not-the-token" })
	err := send(t, p, codeMessage(SMS, "+15855550123"))
	checkSecretFree(t, err, codeMessage(SMS, ""), "not-the-token")
	if !strings.Contains(err.Error(), "401") || !strings.Contains(err.Error(), "20003") {
		t.Errorf("wrong token: %v", err)
	}
}

// TestTwilioBodyNotJSON: an answer from something in front of the API
// (a proxy's HTML page) is quoted, short and without the code.
func TestTwilioBodyNotJSON(t *testing.T) {
	m := codeMessage(SMS, "+15855550123")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		w.WriteHeader(http.StatusBadGateway)
		_, _ = w.Write([]byte("<html>\n<h1>Bad gateway</h1> for body " + r.PostForm.Get("Body") + strings.Repeat(" pad", 200)))
	}))
	defer srv.Close()
	p, err := NewTwilio(TwilioOptions{BaseURL: srv.URL, AccountSID: "AC1", AuthToken: "tok", From: "+15005550006", AllowLoopbackPlaintext: true})
	if err != nil {
		t.Fatal(err)
	}
	err = send(t, p, m)
	checkSecretFree(t, err, m, "tok")
	if errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "502 Bad Gateway: <html> <h1>Bad gateway</h1>") || len(err.Error()) > 320 {
		t.Errorf("502: %v", err)
	}
}

func TestTwilioTLS(t *testing.T) {
	srv := deliverytest.NewTwilioTLS(t)
	if err := send(t, twilioFor(t, srv, nil), codeMessage(SMS, "+15855550123")); err != nil {
		t.Fatal(err)
	}
	srv.WaitFor(t, 1, 5*time.Second)
	untrusted := twilioFor(t, srv, func(o *TwilioOptions) { o.RootCAs = nil })
	if err := send(t, untrusted, codeMessage(SMS, "+15855550123")); err == nil {
		t.Error("sent to a server whose certificate the system does not trust")
	}
}

// TestTwilioNoRedirect: a redirect is not followed, not even to the API
// itself; the credentials and the code go to the configured URL only.
func TestTwilioNoRedirect(t *testing.T) {
	api := deliverytest.NewTwilio(t)
	redirector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, api.URL+r.URL.Path, http.StatusTemporaryRedirect)
	}))
	defer redirector.Close()
	p := twilioFor(t, api, func(o *TwilioOptions) { o.BaseURL = redirector.URL })
	err := send(t, p, codeMessage(SMS, "+15855550123"))
	if err == nil || !strings.Contains(err.Error(), "307") {
		t.Errorf("redirect: %v, want an error naming 307", err)
	}
	if n := len(api.Requests()); n != 0 {
		t.Errorf("the redirect was followed: %d requests", n)
	}
}

func TestTwilioRespectsContext(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	defer srv.Close()
	defer close(release)
	p, err := NewTwilio(TwilioOptions{BaseURL: srv.URL, AccountSID: "AC1", AuthToken: "tok", From: "+15005550006", AllowLoopbackPlaintext: true})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	m := codeMessage(SMS, "+15855550123")
	err = p.Send(ctx, m)
	checkSecretFree(t, err, m, "/2010-04-01", "AC1")
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 3*time.Second {
		t.Errorf("after %v: %v, want the context's deadline", time.Since(start), err)
	}
}

func TestTwilioRefusesBeforeSending(t *testing.T) {
	srv := deliverytest.NewTwilio(t)
	p := twilioFor(t, srv, nil)
	noFrom := twilioFor(t, srv, func(o *TwilioOptions) { o.From, o.MessagingServiceSID = "", "MG1" })
	tests := []struct {
		name string
		p    *Twilio
		m    Message
	}{
		{"email", p, codeMessage(Email, "alice@example.com")},
		{"not E.164", p, codeMessage(SMS, "5855550123")},
		{"letters", p, codeMessage(SMS, "+1585CALLNOW")},
		{"call without from", noFrom, codeMessage(Voice, "+15855550123")},
		{"empty", p, Message{Channel: SMS, To: "+15855550123", Code: testCode}},
	}
	for _, tt := range tests {
		err := send(t, tt.p, tt.m)
		if err == nil {
			t.Errorf("%s: sent", tt.name)
			continue
		}
		checkSecretFree(t, err, tt.m)
	}
	if n := len(srv.Requests()); n != 0 {
		t.Errorf("%d requests reached the API", n)
	}
}

func TestNewTwilioChecks(t *testing.T) {
	ok := TwilioOptions{AccountSID: "AC0123", AuthToken: "tok", From: "+15005550006"}
	tests := []struct {
		name string
		edit func(o *TwilioOptions)
		want string // "" for success
	}{
		{"defaults", func(*TwilioOptions) {}, ""},
		{"service instead of from", func(o *TwilioOptions) { o.From, o.MessagingServiceSID = "", "MG1" }, ""},
		{"loopback http", func(o *TwilioOptions) { o.BaseURL, o.AllowLoopbackPlaintext = "http://[::1]:8080/api/", true }, ""},
		{"http", func(o *TwilioOptions) { o.BaseURL, o.AllowLoopbackPlaintext = "http://api.example.com", true }, "must be https"},
		{"http loopback name", func(o *TwilioOptions) { o.BaseURL, o.AllowLoopbackPlaintext = "http://localhost:8080", true }, "must be https"},
		{"http without switch", func(o *TwilioOptions) { o.BaseURL = "http://127.0.0.1:8080" }, "must be https"},
		{"scheme", func(o *TwilioOptions) { o.BaseURL = "ftp://api.example.com" }, "scheme"},
		{"query", func(o *TwilioOptions) { o.BaseURL = "https://api.example.com/?key=secret-key" }, "no query"},
		{"no sid", func(o *TwilioOptions) { o.AccountSID = "" }, "account SID"},
		{"sid with a slash", func(o *TwilioOptions) { o.AccountSID = "AC1/../x" }, "account SID"},
		{"no token", func(o *TwilioOptions) { o.AuthToken = "" }, "auth token"},
		{"no sender", func(o *TwilioOptions) { o.From = "" }, "from or messaging service"},
	}
	for _, tt := range tests {
		o := ok
		tt.edit(&o)
		p, err := NewTwilio(o)
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%s: %v", tt.name, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("%s: %v, want an error about %q", tt.name, err, tt.want)
		case err != nil && strings.Contains(err.Error(), "secret-key"):
			t.Errorf("%s: the error repeats the URL: %v", tt.name, err)
		case tt.name == "defaults" && (p.base != DefaultTwilioURL || p.o.Timeout != DefaultHTTPTimeout):
			t.Errorf("defaults: %q, %v", p.base, p.o.Timeout)
		case tt.name == "loopback http" && p.base != "http://[::1]:8080/api":
			t.Errorf("base %q keeps its slash", p.base)
		}
	}
}
