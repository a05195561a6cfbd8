package main

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestExpand(t *testing.T) {
	vals := [][2]string{{"url", "ldap://127.0.0.1:1"}, {"bind_dn", "cn=svc,dc=example,dc=org"}}
	got := expand([]string{"--ldap-url", "{url}", "--dn={bind_dn}", "{unknown}"}, vals)
	want := []string{"--ldap-url", "ldap://127.0.0.1:1", "--dn=cn=svc,dc=example,dc=org", "{unknown}"}
	if !slices.Equal(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
}

// The command runs while slapd is up, sees the files it is given, and its
// exit status is benchslapd's; the directory is gone afterwards.
func TestRunCommand(t *testing.T) {
	out := filepath.Join(t.TempDir(), "ca-path")
	code := run([]string{"-users", "2", "--", "sh", "-c",
		`test -s "$1" && kill -0 "$2" && printf %s "$1" > "$3" && exit 3`, "sh", "{ca}", "{slapd_pid}", out})
	if code != 3 {
		t.Fatalf("exit status %d, want the command's 3", code)
	}
	ca, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Dir(string(ca))); !os.IsNotExist(err) {
		t.Fatalf("slapd's directory %s is still there (%v)", filepath.Dir(string(ca)), err)
	}
	if code := run([]string{"-users", "-1"}); code != 2 {
		t.Fatalf("negative -users: exit %d", code)
	}
}
