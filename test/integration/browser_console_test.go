package integration

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"radiusmfa/ldapauth/ldaptest"
)

// enrollCLI enrolls an authenticator app for a directory user with the CLI
// and returns the account and the device id.
func (s *server) enrollCLI(t *testing.T, name, password string) (*account, string) {
	t.Helper()
	var e enrollment
	out := s.mustCLI(t, "", "totp", "enroll", name, "--json")
	if err := json.Unmarshal([]byte(out), &e); err != nil {
		s.fatalf(t, "totp enroll %s --json printed %q: %v", name, out, err)
	}
	return &account{Name: name, Password: password, Secret: e.Secret, oathFlags: []string{"--totp"}}, e.ID
}

// browserSignIn signs a on in the browser with password and current code
// and waits for the account page.
func browserSignIn(t *testing.T, s *server, ctx context.Context, a *account) {
	t.Helper()
	c := a.code(t)
	if err := chromedp.Do(ctx,
		chromedp.Navigate(s.webURL(t)+"signin"),
		chromedp.SendKeys(chromedp.CSS("#user"), a.Name),
		chromedp.SendKeys(chromedp.CSS("#password"), a.Password),
		chromedp.SendKeys(chromedp.CSS("#code"), c.Code),
		chromedp.Click(chromedp.CSS(`main button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS("#who")),
	); err != nil {
		s.fatalf(t, "signing %s in: %v", a.Name, err)
	}
	a.accepted(c)
}

// TestBrowserHelpDesk is the console path in a real Chromium, with
// OpenLDAP as the directory: a help-desk member (bob, in vpn-admins) finds
// alice, disables her device, and her RADIUS login (radclient) with a
// right code fails; a bypass code issued on the page logs her in exactly
// once; another user (frank) cannot reach alice's page or devices.
func TestBrowserHelpDesk(t *testing.T) {
	t.Parallel()
	sl := ldaptest.StartSlapd(t, ldaptest.SlapdOptions{})
	s := startServer(t, serverOpts{Directory: "ldap", Web: "  helpdesk_groups: [vpn-admins]\n",
		Extra: slapdSection([]string{sl.LDAPSURL}, sl.CAFile, sl.BindDN, sl.BindPassword, sl.BaseDN)})
	alice, aliceDev := s.enrollCLI(t, "alice", "alice-pass")
	bob, _ := s.enrollCLI(t, "bob", "bob-pass")
	frank, _ := s.enrollCLI(t, "frank", "frank-pass")

	// alice logs in over RADIUS with her device: the baseline.
	c := alice.code(t)
	s.expectCode(t, login(t, s.authAddr(t), "alice", "alice-pass,"+c.Code), "Access-Accept")
	alice.accepted(c)

	dir := screenshotDir(t)
	shoot := func(ctx context.Context, name string) {
		t.Helper()
		shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), shot, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	helpdesk := newBrowser(t, s.dataDir)
	ctx, cancel := context.WithTimeout(helpdesk, 2*time.Minute)
	defer cancel()
	browserSignIn(t, s, ctx, bob)
	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`nav a[href="/console/users"]`)),
		chromedp.WaitVisible(chromedp.CSS(`input[name="q"]`)),
		chromedp.SendKeys(chromedp.CSS(`input[name="q"]`), "ali"),
		chromedp.Submit(chromedp.CSS(`input[name="q"]`)),
		chromedp.WaitVisible(chromedp.CSS(`a[href="/console/users/alice"]`)),
	); err != nil {
		s.fatalf(t, "searching for alice: %v", err)
	}
	shoot(ctx, "console-users.png")
	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`a[href="/console/users/alice"]`)),
		chromedp.WaitVisible(chromedp.CSS(`form[action$="/disable"] button`)),
	); err != nil {
		s.fatalf(t, "opening alice's page: %v", err)
	}
	shoot(ctx, "console-user.png")
	fitsPhone(t, ctx, "the console's user page", func() { shoot(ctx, "console-user-phone.png") })
	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`form[action$="/disable"] button`)),
		chromedp.WaitVisible(chromedp.CSS(`form[action$="/enable"] button`)),
	); err != nil {
		s.fatalf(t, "disabling alice's device: %v", err)
	}
	// A right code of the disabled device no longer logs in.
	c = alice.code(t)
	if r := login(t, s.authAddr(t), "alice", "alice-pass,"+c.Code); r.Code != "Access-Reject" {
		s.fatalf(t, "alice logged in with a disabled device: %s", r.Code)
	}
	alice.accepted(c)

	// A single-use bypass code, read from the page.
	if err := chromedp.Do(ctx,
		chromedp.SetValue(chromedp.CSS("#uses"), "1"),
		chromedp.Click(chromedp.CSS(`form[action$="/bypass"] button`)),
		chromedp.WaitVisible(chromedp.CSS("p.bypass-code code")),
	); err != nil {
		s.fatalf(t, "issuing a bypass code: %v", err)
	}
	shoot(ctx, "console-bypass.png")
	code, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("p.bypass-code code")))
	if err != nil {
		t.Fatal(err)
	}
	code = strings.TrimSpace(code)
	s.expectCode(t, login(t, s.authAddr(t), "alice", "alice-pass,"+code), "Access-Accept")
	if r := login(t, s.authAddr(t), "alice", "alice-pass,"+code); r.Code != "Access-Reject" {
		s.fatalf(t, "the single-use bypass code logged in twice: %s", r.Code)
	}
	// Both actions are in the audit log under bob's name.
	var disabled, issued bool
	for _, r := range s.auditTail(t, 200) {
		disabled = disabled || (r.Kind == "admin" && r.User == "alice" && r.Client == "bob" && strings.HasPrefix(r.Detail, "device.disable "+aliceDev))
		issued = issued || (r.Kind == "admin" && r.User == "alice" && r.Client == "bob" && strings.HasPrefix(r.Detail, "bypass.issue"))
	}
	if !disabled || !issued {
		t.Errorf("audit: device.disable by bob %v, bypass.issue by bob %v", disabled, issued)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(s.webURL(t)+"console/audit?user=alice"),
		chromedp.WaitVisible(chromedp.CSS("table"))); err != nil {
		s.fatalf(t, "audit page: %v", err)
	}
	shoot(ctx, "console-audit.png")
	if err := chromedp.Do(ctx, chromedp.Navigate(s.webURL(t)+"console/enforcement"),
		chromedp.WaitVisible(chromedp.CSS("h1"))); err != nil {
		s.fatalf(t, "enforcement page: %v", err)
	}
	shoot(ctx, "console-enforcement.png")

	// frank, a plain user, reaches none of it.
	other := newBrowser(t, s.dataDir)
	octx, ocancel := context.WithTimeout(other, time.Minute)
	defer ocancel()
	browserSignIn(t, s, octx, frank)
	for _, path := range []string{"console/users/alice", "console", "me/devices/" + aliceDev + "/remove"} {
		if err := chromedp.Do(octx, chromedp.Navigate(s.webURL(t)+path)); err != nil {
			s.fatalf(t, "frank opening /%s: %v", path, err)
		}
		body, err := chromedp.Run(octx, chromedp.Text(chromedp.CSS("body")))
		if err != nil {
			s.fatalf(t, "frank opening /%s: %v", path, err)
		}
		if !strings.Contains(body, "Not found") || strings.Contains(body, "alice") {
			t.Errorf("frank opening /%s saw: %q", path, body)
		}
	}
}
