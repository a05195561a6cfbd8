package main

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"radiusmfa/admin"
)

// newContactsEnv is newCLIEnv with the phone rules of the codes section:
// national numbers are of the US, and only US and Canadian ones are
// accepted.
func newContactsEnv(t *testing.T) *cliEnv {
	t.Helper()
	e := newCLIEnv(t)
	f, err := os.OpenFile(e.cfgPath, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString("codes:\n  phone: {default_region: US, allowed_countries: [US, CA]}\n"); err != nil {
		t.Fatal(err)
	}
	return e
}

func TestContactCommandsInProcess(t *testing.T) {
	contactCommands(t, newContactsEnv(t))
}

func TestContactCommandsThroughSocket(t *testing.T) {
	e := newContactsEnv(t)
	e.serveSocket(t)
	contactCommands(t, e)
}

var addedLine = regexp.MustCompile(`^added text-message phone •••-•••-0123 \(id ([0-9a-f]{16})\) for alice\n$`)

func contactCommands(t *testing.T, e *cliEnv) {
	e.must(t, "correct-horse\n", "user", "add", "alice")
	out := e.must(t, "", "phone", "add", "Alice", "(585) 555-0123")
	m := addedLine.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("phone add: %q", out)
	}
	phoneID := m[1]
	if out := e.must(t, "", "phone", "add", "alice", "+1 585 555 0123", "--voice", "--label", "desk phone"); !strings.HasPrefix(out, "added voice-call phone •••-•••-0123 (id ") {
		t.Errorf("phone add --voice: %q", out)
	}
	mail := decode[map[string]string](t, e.must(t, "", "email", "add", "alice", "Alice.Smith@Example.COM", "--json"))
	if mail["kind"] != "email" || mail["to"] != "Ali•••@example.com" || mail["id"] == "" {
		t.Errorf("email add --json: %v", mail)
	}
	devs := decode[[]admin.Device](t, e.must(t, "", "device", "list", "alice", "--json"))
	byKind := map[string]admin.Device{}
	for _, d := range devs {
		byKind[d.Kind] = d
	}
	if len(devs) != 3 || byKind["sms"].Label != "Phone •••-•••-0123" || byKind["voice"].Label != "desk phone" ||
		byKind["email"].To != "Ali•••@example.com" || byKind["sms"].CreatedBy == "" {
		t.Errorf("devices %+v", devs)
	}

	e.fails(t, 1, "not allowed (DE); allowed: US, CA", "phone", "add", "alice", "+49 30 1234567")
	e.fails(t, 1, "not a valid phone number", "phone", "add", "alice", "555-0123")
	e.fails(t, 1, "already has this phone for text messages", "phone", "add", "alice", "+15855550123")
	e.fails(t, 1, "not a valid email address", "email", "add", "alice", "alice at example")
	e.fails(t, 1, "not found", "phone", "add", "ghost", "+1 650 253 0000")
	e.fails(t, 2, "usage", "phone", "add", "alice")
	e.fails(t, 2, "usage", "email")
	e.fails(t, 2, "unknown subcommand", "phone", "list", "alice")

	// The new kinds are managed as any device.
	if out := e.must(t, "", "device", "disable", "alice", phoneID); out != "device "+phoneID+" of alice: disabled\n" {
		t.Errorf("disable: %q", out)
	}
	e.must(t, "", "totp", "remove", "alice", phoneID)
	if devs := decode[[]admin.Device](t, e.must(t, "", "device", "list", "alice", "--json")); len(devs) != 2 {
		t.Errorf("after removing the phone: %+v", devs)
	}
	recs := auditLines(t, e.must(t, "", "audit", "tail", "--user", "alice", "--kind", "admin", "-n", "5", "--json"))
	var actions []string
	for _, r := range recs {
		actions = append(actions, strings.Fields(r.Detail)[0])
	}
	if got := strings.Join(actions, " "); got != "sms.add voice.add email.add device.disable device.remove" {
		t.Errorf("audited %q", got)
	}
}
