package integration

import (
	"strings"
	"testing"
)

// TestOcservEmailCode: through a real VPN server, the user types the
// password, picks "Email to …" from the menu ocserv shows, and types the
// code read from the mail the SMTP server on loopback received:
// openconnect gets its cookie.
func TestOcservEmailCode(t *testing.T) {
	t.Parallel()
	r := startCodesRig(t, ocservServerOpts(), "twilio", 5)
	vpn := startOcserv(t, r.s.authAddr(t), testSecret)
	a := r.contactAccount(t, "ocserv-mail")

	res := vpn.authenticate(t, a.Name, sentCodeSteps(a.Password, "Email to", func() (string, error) {
		return r.mailedCode(t, 1, a.Name+"@example.com"), nil
	}))
	if res.Err != nil || !res.Cookie || res.ExitCode != 0 {
		r.s.fatalf(t, "openconnect did not log in: %v%s", res, r.s.stateTruncated(t, a.Name))
	}
	if !strings.Contains(res.Prompts[1], "Email to ocs•••@example.com") || !strings.Contains(res.Prompts[1], "Text message to •••-•••-3816") {
		t.Errorf("menu prompt %q", res.Prompts[1])
	}
	if !strings.Contains(res.Prompts[2], "Enter the code sent by email to ocs•••@example.com") {
		t.Errorf("code prompt %q", res.Prompts[2])
	}
	recs := r.s.waitAuthRecords(t, a.Name, 3)
	if last := recs[2]; last.Outcome != "accept" || last.Factor != "email" || last.Client != "localhost" {
		r.s.fatalf(t, "the accept: %v (all: %v)", last, recs)
	}
}
