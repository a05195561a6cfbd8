package radiusd

import (
	"bytes"
	"context"
	"encoding/hex"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"radiusmfa/auth"
)

// radclientAttrRe matches an attribute line of radclient -x's report of a
// received packet: `	Cisco-AVPair = "shell:priv-lvl=15"`.
var radclientAttrRe = regexp.MustCompile(`^\s+([A-Za-z0-9-]+) = (.*)$`)

// radclientReply sends one Access-Request made of attrs (radclient's
// "A = v, B = w" syntax, Message-Authenticator added) to addr with
// FreeRADIUS's radclient. It returns the received packet's header line, its
// attributes as radclient decoded them with its own dictionaries
// ("Name = value", in order), and radclient's output for failure messages.
func radclientReply(t *testing.T, addr, attrs string) (header string, got []string, output string) {
	t.Helper()
	if _, err := exec.LookPath("radclient"); err != nil {
		t.Fatal("radclient not found in PATH: run `make test-deps` (Debian package freeradius-utils)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "radclient", "-x", "-r", "1", "-t", "2", addr, "auth", testSecret)
	cmd.Stdin = strings.NewReader(attrs + ", Message-Authenticator = 0x00\n")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	for _, line := range strings.Split(out.String(), "\n") {
		if strings.HasPrefix(line, "Received ") {
			header = line
			continue
		}
		if m := radclientAttrRe.FindStringSubmatch(line); header != "" && m != nil {
			got = append(got, m[1]+" = "+m[2])
		}
	}
	if header == "" {
		t.Fatalf("radclient received nothing (err %v):\n%s", err, out.String())
	}
	return header, got, out.String()
}

// TestRadclientDecodesGrantedAttributes sends an Access-Request with
// FreeRADIUS's radclient to the real server and checks that radclient,
// decoding with FreeRADIUS's own dictionaries rather than ours or layeh's,
// reads every grantable attribute back by name and value, in order, after
// checking the reply's authenticators.
func TestRadclientDecodesGrantedAttributes(t *testing.T) {
	values := map[string]string{
		"Class":                    "OU=VPN-Admins;",
		"Filter-Id":                "acl-vpn",
		"Cisco-AVPair":             "shell:priv-lvl=15",
		"Fortinet-Group-Name":      "vpn-admins",
		"PaloAlto-Admin-Role":      "superuser",
		"PaloAlto-User-Group":      "gp-users",
		"Juniper-Local-User-Name":  "read-only",
		"Juniper-Local-Group-Name": "ops",
		"Aruba-User-Role":          "employee",
		"Aruba-Admin-Role":         "root",
		"Mikrotik-Group":           "full",
	}
	var attrs []auth.Attribute
	want := []string{`Reply-Message = "Welcome"`}
	for _, name := range AttributeNames() { // every known attribute, so a new one is checked too
		v, ok := values[name]
		if !ok {
			t.Fatalf("no test value for %s", name)
		}
		attrs = append(attrs, mustAttributes(t, name, v)...)
		if name == "Class" { // octets in FreeRADIUS's dictionary: printed in hex
			want = append(want, "Class = 0x"+hex.EncodeToString([]byte(v)))
		} else {
			want = append(want, name+` = "`+v+`"`)
		}
	}
	// A second Cisco-AVPair: several of one attribute keep their order.
	attrs = append(attrs, mustAttributes(t, "Cisco-AVPair", "ip:inacl#1=permit ip any any")...)
	want = append(want, `Cisco-AVPair = "ip:inacl#1=permit ip any any"`)

	dec := &fakeDecider{fn: func(_ context.Context, r auth.Request) auth.Decision {
		return auth.Decision{Outcome: auth.Accept, Reason: auth.ReasonOK, Message: "Welcome", User: r.UserName, Attributes: attrs}
	}}
	ts := startServer(t, nil, dec)
	header, got, output := radclientReply(t, ts.authAddr, `User-Name = "alice", User-Password = "pw,123456"`)
	if !strings.HasPrefix(header, "Received Access-Accept ") {
		t.Fatalf("radclient got no Access-Accept:\n%s", output)
	}
	if len(got) == 0 || !strings.HasPrefix(got[0], "Message-Authenticator = 0x") {
		t.Fatalf("first attribute is not Message-Authenticator:\n%s", output)
	}
	if got = got[1:]; !slices.Equal(got, want) {
		t.Errorf("radclient decoded\n  %s\nwant\n  %s\n%s", strings.Join(got, "\n  "), strings.Join(want, "\n  "), output)
	}
}
