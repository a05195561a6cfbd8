package mailer

import (
	"context"
	"strings"
	"testing"
)

func TestCheck(t *testing.T) {
	tests := []struct {
		name     string
		o        Options
		want     string // "" for success
		wantPort int
	}{
		{"defaults", Options{Host: "smtp.example.com"}, "", 587},
		{"implicit", Options{Host: "smtp.example.com", TLS: TLSImplicit}, "", 465},
		{"none loopback", Options{Host: "::1", TLS: TLSNone, AllowLoopbackPlaintext: true}, "", 25},
		{"port kept", Options{Host: "smtp.example.com", Port: 2525}, "", 2525},
		{"no host", Options{}, "no SMTP host", 587},
		{"bad tls", Options{Host: "h", TLS: "ssl"}, `tls must be starttls, tls or none, got "ssl"`, 0},
		{"none remote", Options{Host: "smtp.example.com", TLS: TLSNone, AllowLoopbackPlaintext: true}, "loopback", 25},
		{"none by name", Options{Host: "localhost", TLS: TLSNone, AllowLoopbackPlaintext: true}, "loopback", 25},
		{"none without switch", Options{Host: "127.0.0.1", TLS: TLSNone}, "loopback", 25},
		{"none with auth", Options{Host: "127.0.0.1", TLS: TLSNone, AllowLoopbackPlaintext: true, Username: "u"}, "no authentication without TLS", 25},
		{"port", Options{Host: "h", Port: 70000}, "out of range", 70000},
	}
	for _, tt := range tests {
		o := tt.o
		errs := o.Check()
		var all []string
		for _, err := range errs {
			all = append(all, err.Error())
		}
		got := strings.Join(all, "; ")
		switch {
		case tt.want == "" && len(errs) != 0:
			t.Errorf("%s: %s", tt.name, got)
		case tt.want != "" && !strings.Contains(got, tt.want):
			t.Errorf("%s: %q, want an error about %q", tt.name, got, tt.want)
		case o.Port != tt.wantPort:
			t.Errorf("%s: port %d, want %d", tt.name, o.Port, tt.wantPort)
		}
	}
}

// TestClientRefusesAnUncheckedMode: a mode Check would refuse does not
// fall through to go-mail's default (opportunistic TLS).
func TestClientRefusesAnUncheckedMode(t *testing.T) {
	if _, err := Client(context.Background(), Options{Host: "smtp.example.com", Port: 587, TLS: "ssl"}); err == nil {
		t.Error("a client for an unknown TLS mode")
	}
	if c, err := Client(context.Background(), Options{Host: "smtp.example.com", Port: 587, TLS: TLSStartTLS}); err != nil || c.TLSPolicy() != "TLSMandatory" {
		t.Errorf("starttls: %v, policy %q", err, c.TLSPolicy())
	}
}
