package enrollment

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"radiusmfa/auth"
)

var backupCodeRe = regexp.MustCompile(`<li><code>(\d{4} \d{4})</code></li>`)

// radius is the RADIUS login of user with a code, through the same engine.
func (fx *realSite) radius(user, code string) auth.Decision {
	return fx.engine.Decide(context.Background(), auth.Request{UserName: user, Password: user + testPasswordSuffix + "," + code, Client: "vpn"})
}

func TestBackupCodes(t *testing.T) {
	fx := newRealSite(t)
	fx.addUser("alice")
	_, secret := fx.addTOTP("alice")
	c := fx.signInTOTP("alice", secret)

	w := fx.do("POST", "/me/backup-codes", nil, c)
	if w.Code != http.StatusOK {
		t.Fatalf("POST /me/backup-codes: %d %s", w.Code, w.Body)
	}
	m := backupCodeRe.FindAllStringSubmatch(w.Body.String(), -1)
	if len(m) != 10 {
		t.Fatalf("%d codes shown, want 10:\n%s", len(m), w.Body)
	}
	code := strings.ReplaceAll(m[0][1], " ", "")
	if d := fx.radius("alice", code); d.Outcome != auth.Accept || d.Factor != "backup" {
		t.Fatalf("backup code over RADIUS: %v/%s", d.Outcome, d.Reason)
	}
	if d := fx.radius("alice", code); d.Outcome != auth.Reject {
		t.Fatalf("backup code used twice: %v/%s", d.Outcome, d.Reason)
	}
	// The site signs in with one too, and the account page counts what is left.
	c2 := fx.signIn("alice", m[1][1]) // typed as shown, with its space
	page := fx.do("GET", "/me", nil, c2).Body.String()
	if !strings.Contains(page, "<strong>8</strong> unused backup code(s)") {
		t.Errorf("account page does not show 8 codes left:\n%s", page)
	}
	// A new set replaces the old one.
	fx.do("POST", "/me/backup-codes", nil, c2)
	if d := fx.radius("alice", strings.ReplaceAll(m[2][1], " ", "")); d.Outcome != auth.Reject {
		t.Errorf("a code of the replaced set still works: %v", d.Outcome)
	}
	// Nothing in the store reads back as a code.
	if rec := fx.lastAudit(50); strings.Contains(recordsText(rec), code) {
		t.Error("a backup code appears in the audit log")
	}
}

func recordsText[T any](v []T) string {
	var b strings.Builder
	for _, x := range v {
		b.WriteString(strings.ReplaceAll(strings.ReplaceAll(fmtAny(x), "\n", " "), "\t", " "))
	}
	return b.String()
}

func fmtAny(x any) string { return fmt.Sprint(x) }

func TestRemoveDeviceNeedsAnotherFactor(t *testing.T) {
	fx := newRealSite(t)
	fx.addUser("alice")
	phone, s1 := fx.addTOTP("alice")
	_, s2 := fx.addTOTP("alice")
	thief := fx.signInTOTP("alice", s1) // another browser, signed in with the phone
	c := fx.signInTOTP("alice", s1)

	if w := fx.do("GET", "/me/devices/"+phone+"/remove", nil, c); w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `name="code"`) {
		t.Fatalf("remove form: %d %s", w.Code, w.Body)
	}
	if w := fx.do("POST", "/me/devices/"+phone+"/remove", url.Values{"code": {""}}, c); w.Code != http.StatusForbidden {
		t.Fatalf("remove without a code: %d", w.Code)
	}
	// The device being removed cannot vouch for its own removal.
	if w := fx.do("POST", "/me/devices/"+phone+"/remove", url.Values{"code": {fx.code(s1)}}, c); w.Code != http.StatusForbidden {
		t.Fatalf("remove with the same device's code: %d", w.Code)
	}
	proof := fx.code(s2)
	if w := fx.do("POST", "/me/devices/"+phone+"/remove", url.Values{"code": {proof}}, c); w.Code != http.StatusSeeOther {
		t.Fatalf("remove with another device's code: %d %s", w.Code, w.Body)
	}
	devs, _ := fx.st.Enrollments(context.Background(), "alice")
	if len(devs) != 1 || devs[0].ID == phone {
		t.Fatalf("devices after removal: %+v", devs)
	}
	// The other sessions end; the one that removed the phone goes on.
	if w := fx.do("GET", "/me", nil, thief); w.Code != http.StatusSeeOther {
		t.Errorf("another session survived the removal: %d", w.Code)
	}
	if w := fx.do("GET", "/me", nil, c); w.Code != http.StatusOK {
		t.Errorf("the removing session ended: %d", w.Code)
	}
	// The proof was a real use of the code: it cannot log in afterwards.
	if d := fx.radius("alice", proof); d.Outcome != auth.Reject || d.Reason != auth.ReasonReplayedPasscode {
		t.Errorf("the proof code logs in after: %v/%s", d.Outcome, d.Reason)
	}
	// The last device cannot be removed on the site: nothing else vouches.
	last := devs[0].ID
	w := fx.do("GET", "/me/devices/"+last+"/remove", nil, c)
	if !strings.Contains(w.Body.String(), "no other device") {
		t.Errorf("the last device's remove page does not explain: %s", w.Body)
	}
	fx.tick()
	if w := fx.do("POST", "/me/devices/"+last+"/remove", url.Values{"code": {fx.code(s2)}}, c); w.Code != http.StatusForbidden {
		t.Errorf("last device removed with its own code: %d", w.Code)
	}
}

func TestRenameAndPrefer(t *testing.T) {
	fx := newRealSite(t)
	fx.addUser("alice")
	fx.addUser("bob")
	phone, s1 := fx.addTOTP("alice")
	tablet, _ := fx.addTOTP("alice")
	bobs, _ := fx.addTOTP("bob")
	c := fx.signInTOTP("alice", s1)

	if w := fx.do("POST", "/me/devices/"+phone+"/rename", url.Values{"label": {"Pixel 9"}}, c); w.Code != http.StatusSeeOther {
		t.Fatalf("rename: %d %s", w.Code, w.Body)
	}
	if w := fx.do("POST", "/me/devices/"+phone+"/rename", url.Values{"label": {"bad\x07name"}}, c); w.Code != http.StatusBadRequest {
		t.Fatalf("rename with a control character: %d", w.Code)
	}
	if w := fx.do("POST", "/me/devices/"+tablet+"/prefer", nil, c); w.Code != http.StatusSeeOther {
		t.Fatalf("prefer: %d", w.Code)
	}
	page := fx.do("GET", "/me?done=renamed", nil, c).Body.String()
	if !strings.Contains(page, "Pixel 9") || !strings.Contains(page, "(preferred)") || !strings.Contains(page, "The device was renamed.") {
		t.Errorf("account page after rename and prefer:\n%s", page)
	}
	// Bob's device is not Alice's to touch: it does not exist for her.
	for _, path := range []string{"/me/devices/" + bobs + "/rename", "/me/devices/" + bobs + "/prefer", "/me/devices/" + bobs + "/remove"} {
		if w := fx.do("POST", path, url.Values{"label": {"mine"}, "code": {"123456"}}, c); w.Code != http.StatusNotFound {
			t.Errorf("POST %s as alice: %d, want 404", path, w.Code)
		}
	}
	bd, _ := fx.st.Enrollments(context.Background(), "bob")
	if bd[0].Label != "phone" || bd[0].Preferred {
		t.Errorf("bob's device changed: %+v", bd[0])
	}
	// A query cannot make the page say anything else.
	if page := fx.do("GET", "/me?done=<script>", nil, c).Body.String(); strings.Contains(page, "<script>") {
		t.Error("the done parameter is echoed")
	}
}

func TestReportLogin(t *testing.T) {
	fx := newRealSite(t)
	fx.addUser("alice")
	fx.addUser("bob")
	_, secret := fx.addTOTP("alice")
	_, bsecret := fx.addTOTP("bob")
	c := fx.signInTOTP("alice", secret)
	page := fx.do("GET", "/me", nil, c).Body.String()
	m := regexp.MustCompile(`/me/logins/(\d+)/report`).FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no report button:\n%s", page)
	}
	if w := fx.do("POST", "/me/logins/"+m[1]+"/report", nil, c); w.Code != http.StatusSeeOther {
		t.Fatalf("report: %d %s", w.Code, w.Body)
	}
	if len(fx.alerts) != 1 || fx.alerts[0].User != "alice" || fx.alerts[0].Kind != "report" {
		t.Fatalf("alerts: %+v", fx.alerts)
	}
	if page := fx.do("GET", "/me", nil, c).Body.String(); !strings.Contains(page, "<td>reported</td>") {
		t.Errorf("the reported login is not marked:\n%s", page)
	}
	// Bob cannot report Alice's login.
	cb := fx.signInTOTP("bob", bsecret)
	if w := fx.do("POST", "/me/logins/"+m[1]+"/report", nil, cb); w.Code != http.StatusNotFound {
		t.Errorf("bob reporting alice's login: %d", w.Code)
	}
	if len(fx.alerts) != 1 {
		t.Errorf("alerts after bob's try: %d", len(fx.alerts))
	}
}

func TestSecondDeviceNeedsFreshProof(t *testing.T) {
	fx := newRealSite(t)
	fx.addUser("alice")
	_, secret := fx.addTOTP("alice")
	c := fx.signInTOTP("alice", secret)
	fx.mu.Lock()
	fx.now = fx.now.Add(recentProof + time.Minute)
	fx.mu.Unlock()
	w := fx.do("GET", "/enroll", nil, c)
	if !strings.Contains(w.Body.String(), `name="proof"`) {
		t.Fatalf("the enroll page of an old session asks no proof:\n%s", w.Body)
	}
	code := codeFor(t, w.Body.String(), fx.clock())
	if w := fx.do("POST", "/enroll", url.Values{"code": {code}}, c); w.Code != http.StatusForbidden {
		t.Fatalf("second device without proof: %d", w.Code)
	}
	// A mistyped code for the new app does not use up the proof.
	proof := fx.code(secret)
	if w := fx.do("POST", "/enroll", url.Values{"code": {"000000"}, "proof": {proof}}, c); w.Code != http.StatusBadRequest {
		t.Fatalf("wrong new code with a proof: %d", w.Code)
	}
	if w := fx.do("POST", "/enroll", url.Values{"code": {code}, "proof": {proof}}, c); w.Code != http.StatusSeeOther {
		t.Fatalf("second device with proof: %d %s", w.Code, w.Body)
	}
	// The proof was used: it cannot log in afterwards.
	if d := fx.radius("alice", proof); d.Outcome != auth.Reject {
		t.Errorf("the proof code logged in after: %v/%s", d.Outcome, d.Reason)
	}
	if devs, _ := fx.st.Enrollments(context.Background(), "alice"); len(devs) != 2 {
		t.Errorf("%d devices, want 2", len(devs))
	}
}

func TestEnrollOnlySessionHasNoAccountActions(t *testing.T) {
	fx := newRealSite(t)
	fx.addUser("newbie")
	w := fx.do("POST", "/signin", url.Values{"user": {"newbie"}, "password": {"newbie" + testPasswordSuffix}})
	c := sessionOf(t, w)
	for _, path := range []string{"/me/backup-codes", "/me/devices/x/rename", "/me/logins/1/report"} {
		if w := fx.do("POST", path, url.Values{}, c); w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/me" {
			t.Errorf("POST %s from an enrollment-only session: %d %q", path, w.Code, w.Header().Get("Location"))
		}
	}
}

// Codes typed to prove a factor share the address's sign-in budget, so a
// stolen session cannot guess them faster than a sign-in could.
func TestRemoveDeviceGuessesAreLimited(t *testing.T) {
	fx := newRealSite(t)
	fx.addUser("alice")
	phone, s1 := fx.addTOTP("alice")
	fx.addTOTP("alice")
	c := fx.signInTOTP("alice", s1) // one token of the budget
	limited := false
	for i := range 20 {
		w := fx.do("POST", "/me/devices/"+phone+"/remove", url.Values{"code": {fmt.Sprintf("%06d", i)}}, c)
		if w.Code == http.StatusTooManyRequests {
			limited = true
			break
		}
		if w.Code != http.StatusForbidden {
			t.Fatalf("wrong code %d: status %d", i, w.Code)
		}
	}
	if !limited {
		t.Fatal("20 wrong codes in a row were all checked")
	}
}

func TestAccountRoutesNeedASession(t *testing.T) {
	fx := newRealSite(t)
	for _, path := range []string{"/me/devices/x/rename", "/me/devices/x/prefer", "/me/devices/x/remove", "/me/backup-codes", "/me/logins/1/report"} {
		if w := fx.do("POST", path, url.Values{}); w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/signin" {
			t.Errorf("POST %s without a session: %d %q", path, w.Code, w.Header().Get("Location"))
		}
	}
	if w := fx.do("GET", "/me/devices/x/remove", nil); w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/signin" {
		t.Errorf("GET remove without a session: %d", w.Code)
	}
}

// A session signed in a while ago makes backup codes only with a fresh
// code (a left-open browser must not mint a second factor), on the page
// and through the API; new codes end the user's other sessions.
func TestBackupCodesFromAnOldSessionNeedProof(t *testing.T) {
	fx := newRealSite(t)
	fx.addUser("alice")
	_, secret := fx.addTOTP("alice")
	c := fx.signInTOTP("alice", secret)
	other := fx.signInTOTP("alice", secret)
	fx.mu.Lock()
	fx.now = fx.now.Add(recentProof + time.Minute)
	fx.mu.Unlock()
	if page := fx.do("GET", "/me", nil, c).Body.String(); !strings.Contains(page, `name="proof"`) {
		t.Fatalf("the account page of an old session asks no proof")
	}
	w := fx.do("POST", "/me/backup-codes", url.Values{}, c)
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/me?done=proof" {
		t.Fatalf("backup codes without proof: %d %q", w.Code, w.Header().Get("Location"))
	}
	if devs, _ := fx.st.Enrollments(context.Background(), "alice"); len(devs) != 1 {
		t.Fatalf("codes made without proof: %d devices", len(devs))
	}
	if w := fx.api("POST", "/api/v1/users/alice/backup-codes", nil, c); w.Code != http.StatusForbidden {
		t.Fatalf("API backup codes without proof: %d %s", w.Code, w.Body)
	}
	w = fx.do("POST", "/me/backup-codes", url.Values{"proof": {fx.code(secret)}}, c)
	if w.Code != http.StatusOK || len(backupCodeRe.FindAllString(w.Body.String(), -1)) != 10 {
		t.Fatalf("backup codes with proof: %d", w.Code)
	}
	if w := fx.do("GET", "/me", nil, other); w.Code != http.StatusSeeOther {
		t.Errorf("another session survived new backup codes: %d", w.Code)
	}
}
