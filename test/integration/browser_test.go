package integration

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"radiusmfa/ldapauth/ldaptest"
)

// browserHint names what the browser tests need.
const browserHint = "run `make test-deps` (Debian packages chromium, chromium-driver)"

// newBrowser starts a headless Chromium (the system's, never a download)
// that trusts exactly the enrollment site's certificate in dataDir, and
// returns a context for chromedp actions, ended with t.
func newBrowser(t *testing.T, dataDir string) context.Context {
	t.Helper()
	exe, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatalf("chromium not found: %s", browserHint)
	}
	certPEM, err := os.ReadFile(filepath.Join(dataDir, "web.crt"))
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(certPEM)
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	spki := sha256.Sum256(cert.RawSubjectPublicKeyInfo)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe),
		chromedp.NoSandbox, // tests run as root in a container
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
		// Trust the site's self-signed key, and nothing else unusual.
		chromedp.Flag("ignore-certificate-errors-spki-list", base64.StdEncoding.EncodeToString(spki[:])),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	t.Cleanup(func() { cancelCtx(); cancelAlloc() })
	// The first Run starts the browser, under no timeout of its own (a
	// timeout there would end the browser): later steps get timeouts.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting chromium: %v (%s)", err, browserHint)
	}
	return ctx
}

// screenshotDir is where browser tests save their screenshots:
// $RADIUSMFA_SCREENSHOTS when set (docs/screenshots holds the committed
// ones), else the test's temporary directory.
func screenshotDir(t *testing.T) string {
	if d := os.Getenv("RADIUSMFA_SCREENSHOTS"); d != "" {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		return d
	}
	return t.TempDir()
}

// TestBrowserLandingPage loads the enrollment site in a real headless
// Chromium over HTTPS: the page renders, its stylesheet loads under the
// site's Content-Security-Policy, and a screenshot is saved.
func TestBrowserLandingPage(t *testing.T) {
	t.Parallel()
	s := startServer(t, serverOpts{})
	browser := newBrowser(t, s.dataDir)
	ctx, cancel := context.WithTimeout(browser, 60*time.Second)
	defer cancel()
	err := chromedp.Do(ctx,
		chromedp.Navigate(s.webURL(t)),
		chromedp.WaitVisible(chromedp.CSS("h1")),
	)
	if err != nil {
		s.fatalf(t, "browser: %v", err)
	}
	title, err := chromedp.Run(ctx, chromedp.Title())
	if err != nil {
		t.Fatal(err)
	}
	heading, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("h1")))
	if err != nil {
		t.Fatal(err)
	}
	rules, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.styleSheets.length ? document.styleSheets[0].cssRules.length : 0`))
	if err != nil {
		t.Fatal(err)
	}
	shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	if title != "radiusmfa enrollment" || heading != "radiusmfa enrollment" {
		t.Errorf("title %q, heading %q", title, heading)
	}
	if rules == 0 {
		t.Error("the stylesheet did not load (blocked by the Content-Security-Policy?)")
	}
	if len(shot) == 0 {
		t.Fatal("empty screenshot")
	}
	if err := os.WriteFile(filepath.Join(screenshotDir(t), "landing.png"), shot, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestBrowserSignIn: a user signs in on the site in a real Chromium with
// password and the current TOTP code (the same engine and single-use code
// as RADIUS), sees their device, and signs out; the sign-in is audited.
func TestBrowserSignIn(t *testing.T) {
	t.Parallel()
	s := startServer(t, serverOpts{})
	a := s.newAccount(t, "web-user")
	browser := newBrowser(t, s.dataDir)
	ctx, cancel := context.WithTimeout(browser, 90*time.Second)
	defer cancel()
	dir := screenshotDir(t)
	shoot := func(name string) {
		t.Helper()
		shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), shot, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := chromedp.Do(ctx,
		chromedp.Navigate(s.webURL(t)),
		chromedp.Click(chromedp.CSS(`a[href="/signin"]`)),
		chromedp.WaitVisible(chromedp.CSS("#password")),
	); err != nil {
		s.fatalf(t, "browser: %v", err)
	}
	shoot("signin.png")
	c := a.code(t)
	if err := chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.CSS("#user"), a.Name),
		chromedp.SendKeys(chromedp.CSS("#password"), a.Password),
		chromedp.SendKeys(chromedp.CSS("#code"), c.Code),
		chromedp.Click(chromedp.CSS(`button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS("#who")),
	); err != nil {
		s.fatalf(t, "signing in: %v", err)
	}
	a.accepted(c)
	who, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#who")))
	if err != nil {
		t.Fatal(err)
	}
	table, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("table")))
	if err != nil {
		t.Fatal(err)
	}
	if who != a.Name || !strings.Contains(table, "Authenticator app") || !strings.Contains(table, "active") {
		t.Errorf("devices page: user %q, table %q", who, table)
	}
	shoot("devices.png")
	fitsPhone(t, ctx, "the account page", func() { shoot("devices-phone.png") })
	s.waitAuditKind(t, "web", a.Name)

	// Backup codes, shown once on the page, log in over RADIUS once each.
	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`form[action="/me/backup-codes"] button`)),
		chromedp.WaitVisible(chromedp.CSS("#backup-codes")),
	); err != nil {
		s.fatalf(t, "making backup codes: %v", err)
	}
	shoot("backup-codes.png")
	list, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#backup-codes")))
	if err != nil {
		t.Fatal(err)
	}
	codes := regexp.MustCompile(`\d{4} \d{4}`).FindAllString(list, -1)
	if len(codes) != 10 {
		t.Fatalf("%d backup codes on the page, want 10: %q", len(codes), list)
	}
	backup := strings.ReplaceAll(codes[0], " ", "")
	s.expectCode(t, login(t, s.authAddr(t), a.Name, a.Password+","+backup), "Access-Accept")
	if r := login(t, s.authAddr(t), a.Name, a.Password+","+backup); r.Code != "Access-Reject" {
		t.Errorf("a backup code logged in twice over RADIUS: %s", r.Code)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(s.webURL(t)+"me"), chromedp.WaitVisible(chromedp.CSS("#backup-left"))); err != nil {
		s.fatalf(t, "back to the account page: %v", err)
	}
	left, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#backup-left")))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(left, "9 unused") {
		t.Errorf("account page after one backup code: %q", left)
	}

	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`form[action="/signout"] button`)),
		chromedp.WaitVisible(chromedp.CSS(`a[href="/signin"]`)),
		chromedp.Navigate(s.webURL(t)+"me"),
		chromedp.WaitVisible(chromedp.CSS("#password")),
	); err != nil {
		s.fatalf(t, "signing out: %v", err)
	}
}

// TestBrowserEnrollThenRADIUS is the path: a directory (OpenLDAP)
// user with no device signs in with the password alone, is sent to enroll,
// reads the secret from the page, confirms with a code from oathtool, and
// then logs in over RADIUS (radclient) with password and the next code.
func TestBrowserEnrollThenRADIUS(t *testing.T) {
	t.Parallel()
	sl := ldaptest.StartSlapd(t, ldaptest.SlapdOptions{})
	s := startServer(t, serverOpts{Directory: "ldap",
		Extra: slapdSection([]string{sl.LDAPSURL}, sl.CAFile, sl.BindDN, sl.BindPassword, sl.BaseDN)})
	browser := newBrowser(t, s.dataDir)
	ctx, cancel := context.WithTimeout(browser, 90*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx,
		chromedp.Navigate(s.webURL(t)+"signin"),
		chromedp.SendKeys(chromedp.CSS("#user"), "carol"),
		chromedp.SendKeys(chromedp.CSS("#password"), "carol-pass"),
		chromedp.Click(chromedp.CSS(`button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`a[href="/enroll"]`)),
		chromedp.Click(chromedp.CSS(`a[href="/enroll"]`)),
		chromedp.WaitVisible(chromedp.CSS("#secret")),
	); err != nil {
		s.fatalf(t, "signing in and opening enrollment: %v", err)
	}
	shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(screenshotDir(t), "enroll.png"), shot, 0o644); err != nil {
		t.Fatal(err)
	}
	secret, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#secret")))
	if err != nil {
		t.Fatal(err)
	}
	a := &account{Name: "carol", Password: "carol-pass", Secret: strings.ReplaceAll(secret, " ", ""), oathFlags: []string{"--totp"}}
	c := a.code(t)
	if err := chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.CSS("#code"), c.Code),
		chromedp.Click(chromedp.CSS(`button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS("table")),
	); err != nil {
		s.fatalf(t, "confirming: %v", err)
	}
	a.accepted(c)
	s.waitAuditKind(t, "web", "carol")
	// The confirming code was used up; the next step's code logs in (the
	// server allows one step of skew), over RADIUS.
	next := a.oathtool(t, (c.Step+1)*totpPeriod, 0)[0]
	r := login(t, s.authAddr(t), "carol", "carol-pass,"+next)
	s.expectCode(t, r, "Access-Accept")
	if r := login(t, s.authAddr(t), "carol", "carol-pass,"+c.Code); r.Code != "Access-Reject" {
		t.Errorf("the code that confirmed the enrollment logged in over RADIUS: %s", r.Code)
	}
}

// fitsPhone shows the current page on a phone-sized screen (390 px wide),
// calls shot, and fails when the page needs sideways scrolling (wide
// tables scroll inside their own box); then it restores the desktop size.
func fitsPhone(t *testing.T, ctx context.Context, what string, shot func()) {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(390, 844)); err != nil {
		t.Fatal(err)
	}
	shot()
	overflow, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.documentElement.scrollWidth > window.innerWidth`))
	if err != nil {
		t.Fatal(err)
	}
	if overflow {
		t.Errorf("%s is wider than a 390 px phone screen", what)
	}
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1280, 900)); err != nil {
		t.Fatal(err)
	}
}
