package main

import (
	"context"
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
	for _, want := range []string{"--config examples/dev.yaml user add NAME", "user roles NAME admin", "totp enroll NAME"} {
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
