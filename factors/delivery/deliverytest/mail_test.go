package deliverytest

import (
	"testing"

	"radiusmfa/notify/notifytest"
)

func TestFindCode(t *testing.T) {
	for in, want := range map[string]string{
		"Your code is 493817.":              "493817",
		"493817":                            "493817",
		"code 12345678 expires":             "12345678",
		"call +15855550123, code 049381":    "049381",
		"12345 is too short, 123456789 too": "",
		"no digits":                         "",
	} {
		if got := FindCode(in); got != want {
			t.Errorf("FindCode(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestMailParts(t *testing.T) {
	raw := "Content-Type: multipart/alternative; boundary=b1\r\n\r\n" +
		"--b1\r\nContent-Type: text/plain; charset=UTF-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n" +
		"Your code is 493817 =E2=80=94 soon gone.\r\n" +
		"--b1\r\nContent-Type: text/html; charset=UTF-8\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
		"PGI+NDkzODE3PC9iPg==\r\n" +
		"--b1--\r\n"
	text, html, err := MailParts(notifytest.Mail{Raw: []byte(raw)})
	if err != nil || text != "Your code is 493817 — soon gone." || html != "<b>493817</b>" {
		t.Errorf("MailParts: %q, %q, %v", text, html, err)
	}
}
