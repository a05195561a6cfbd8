package main

import (
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"radiusmfa/config"
	"radiusmfa/store"
	"radiusmfa/store/bolt"
)

func TestConsoleHint(t *testing.T) {
	ctx := context.Background()
	st, err := bolt.Open(filepath.Join(t.TempDir(), "db"), make([]byte, 32), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	cfg := &config.Config{Auth: config.AuthConfig{Directory: "builtin"}}
	hint := consoleHint(ctx, cfg, st, configArg("examples/dev.yaml"))
	for _, want := range []string{"user add NAME --config examples/dev.yaml", "user roles NAME admin --config examples/dev.yaml", "totp enroll NAME --config examples/dev.yaml"} {
		if !strings.Contains(hint, want) {
			t.Errorf("hint %q does not say %q", hint, want)
		}
	}
	if err := st.CreateUser(ctx, store.User{Name: "helen", Roles: []string{"helpdesk"}}); err != nil {
		t.Fatal(err)
	}
	if consoleHint(ctx, cfg, st, "") == "" {
		t.Error("a help-desk user is not an admin: the hint should stay")
	}
	if err := st.CreateUser(ctx, store.User{Name: "root", Roles: []string{"admin"}}); err != nil {
		t.Fatal(err)
	}
	if h := consoleHint(ctx, cfg, st, ""); h != "" {
		t.Errorf("with an admin: hint %q", h)
	}
	ldap := &config.Config{Auth: config.AuthConfig{Directory: "ldap"}}
	if h := consoleHint(ctx, ldap, st, ""); !strings.Contains(h, "web.admin_groups") {
		t.Errorf("ldap without admin groups: hint %q", h)
	}
	ldap.Web.AdminGroups = []string{"vpn-admins"}
	if h := consoleHint(ctx, ldap, st, ""); h != "" {
		t.Errorf("ldap with admin groups: hint %q", h)
	}
}

func TestFirstStartSettings(t *testing.T) {
	ctx := context.Background()
	log := slog.New(slog.DiscardHandler)
	for _, c := range []struct {
		name    string
		pending string // the mode an upgrade left pending
		auth    config.AuthConfig
		want    string
	}{
		{"new file: the configuration's default", "", config.AuthConfig{}, ""},
		{"upgraded file: MFA stays required", "required", config.AuthConfig{}, "required"},
		{"upgraded file with a configured mode: the configuration", "required", config.AuthConfig{Enforcement: "off"}, ""},
		{"upgraded file with the older key: the configuration", "required", config.AuthConfig{EnrollmentRequired: "allow"}, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			st, err := bolt.Open(filepath.Join(t.TempDir(), "db"), make([]byte, 32), bolt.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			if c.pending != "" {
				err := st.UpdateSettings(ctx, func(s *store.Settings) error { s.Enforcement.Mode = c.pending; return nil })
				if err != nil {
					t.Fatal(err)
				}
			}
			s, err := firstStartSettings(ctx, st, &config.Config{Auth: c.auth}, log)
			if err != nil {
				t.Fatal(err)
			}
			if s.Enforcement.Mode != c.want || s.UpdatedAt.IsZero() {
				t.Fatalf("settings %+v, want mode %q, confirmed", s, c.want)
			}
			// Later starts leave the settings alone, whatever the configuration.
			again, err := firstStartSettings(ctx, st, &config.Config{Auth: config.AuthConfig{Enforcement: "optional"}}, log)
			if err != nil || again.Enforcement.Mode != c.want || !again.UpdatedAt.Equal(s.UpdatedAt) {
				t.Fatalf("second start: %+v, %v", again, err)
			}
		})
	}
}
