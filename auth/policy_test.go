package auth

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"radiusmfa/factors"
	"radiusmfa/store"
)

func attr(name, value string) Attribute {
	return Attribute{Name: name, Value: value, Type: 25, Data: []byte(value)}
}

func TestIsMember(t *testing.T) {
	id := Identity{Groups: []string{"VPN Users", "staff"},
		GroupDNs: []string{"CN=VPN Users,OU=Groups,DC=example,DC=test", "cn=staff,ou=groups,dc=example,dc=org"}}
	for _, c := range []struct {
		g    string
		want bool
	}{
		{"vpn users", true},
		{"VPN USERS", true},
		{"staff", true},
		{"vpn", false},
		{"cn=vpn users, ou=groups, dc=example, dc=test", true},
		{"CN=staff,OU=Groups,DC=example,DC=org", true},
		{"CN=VPN Users,OU=Other,DC=example,DC=test", false},
		{"", false},
	} {
		if got := IsMember(id, c.g); got != c.want {
			t.Errorf("IsMember(%q) = %v, want %v", c.g, got, c.want)
		}
	}
}

func TestGroupPolicyEvaluate(t *testing.T) {
	asa := attr("Class", "OU=Admins")
	users := attr("Class", "OU=Users")
	avp := attr("Cisco-AVPair", "ip:inacl#1=permit ip any any")
	fallback := attr("Filter-Id", "default")
	p := GroupPolicy{
		Require:     []string{"vpn-users", "contractors"},
		Deny:        []string{"blocked"},
		MFAExempt:   []string{"break-glass"},
		MFARequired: []string{"vpn-admins"},
		Reply: []ReplyRule{
			{Groups: []string{"vpn-admins"}, Attributes: []Attribute{asa, avp}, Final: true},
			{Groups: []string{"vpn-users"}, Attributes: []Attribute{users}},
			{Attributes: []Attribute{fallback}},
		},
	}
	g := func(names ...string) Identity { return Identity{Groups: names} }
	cases := []struct {
		name      string
		id        Identity
		groupOnly bool
		want      PolicyResult
	}{
		{"denied even when required", g("vpn-users", "blocked"), false, PolicyResult{Reason: ReasonGroupDenied}},
		{"in no required group", g("staff"), false, PolicyResult{Reason: ReasonNotInRequiredGroup}},
		{"no groups at all", g(), false, PolicyResult{Reason: ReasonNotInRequiredGroup}},
		{"final rule stops", g("vpn-users", "vpn-admins"), false,
			PolicyResult{Allowed: true, MFARequired: true, Attributes: []Attribute{asa, avp}}},
		{"rules add up", g("vpn-users"), false,
			PolicyResult{Allowed: true, MFARequired: true, Attributes: []Attribute{users, fallback}}},
		{"exempt", g("contractors", "break-glass"), false,
			PolicyResult{Allowed: true, Reason: ReasonMFAExempt, Attributes: []Attribute{fallback}}},
		{"groups-only mode, not in an MFA group", g("vpn-users"), true,
			PolicyResult{Allowed: true, Reason: ReasonMFANotRequired, Attributes: []Attribute{users, fallback}}},
		{"groups-only mode, in an MFA group", g("vpn-admins", "vpn-users"), true,
			PolicyResult{Allowed: true, MFARequired: true, Attributes: []Attribute{asa, avp}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := p
			p.MFAGroupsOnly = c.groupOnly
			got := p.Evaluate(c.id)
			if got.Allowed != c.want.Allowed || got.Reason != c.want.Reason || got.MFARequired != c.want.MFARequired ||
				!slices.EqualFunc(got.Attributes, c.want.Attributes, func(a, b Attribute) bool { return a.Name == b.Name && a.Value == b.Value }) {
				t.Errorf("Evaluate = %+v, want %+v", got, c.want)
			}
		})
	}
	if r := (&GroupPolicy{}).Evaluate(Identity{}); !r.Allowed || !r.MFARequired || r.Attributes != nil {
		t.Errorf("empty policy: %+v, want allowed with MFA and no attributes", r)
	}
}

// groupPrimary is a directory with groups, a profile and explained denials.
type groupPrimary struct {
	calls int
}

func (g *groupPrimary) NormalizeName(name string) string {
	if _, user, ok := cutDomain(name); ok {
		return user
	}
	return name
}

func cutDomain(s string) (string, string, bool) {
	for i := range len(s) {
		if s[i] == '\\' {
			return s[:i], s[i+1:], true
		}
	}
	return "", "", false
}

func (g *groupPrimary) Authenticate(_ context.Context, name, pw string) (Identity, bool, error) {
	g.calls++
	switch {
	case name == "expired" && pw == "right":
		return Identity{Reason: ReasonPasswordExpired, Message: MsgPasswordExpired}, false, nil
	case pw != "right":
		return Identity{}, false, nil
	}
	id := Identity{Name: name, Profile: store.Profile{Mail: name + "@example.org"}}
	switch name {
	case "admin":
		id.Groups = []string{"vpn-users", "vpn-admins"}
	case "user":
		id.Groups = []string{"vpn-users"}
	case "outsider":
		id.Groups = []string{"staff"}
	case "exempt":
		id.Groups = []string{"vpn-users", "break-glass"}
	}
	return id, true, nil
}

func TestEngineGroupPolicy(t *testing.T) {
	prim := &groupPrimary{}
	ms := &memStore{users: map[string]store.User{}, locks: map[string]store.Lockout{},
		enrolled: map[string][]store.Enrollment{"admin": {{ID: "a1", User: "admin", Kind: "totp"}}}}
	now := time.Unix(1_700_000_000, 0)
	avp := attr("Cisco-AVPair", "shell:priv-lvl=15")
	p := Policy{
		Lockout:       store.LockoutPolicy{Threshold: 3, Duration: time.Minute},
		EnrollMessage: "enroll first",
		Directory:     "ldap",
		Groups: GroupPolicy{Require: []string{"vpn-users"}, MFAExempt: []string{"break-glass"},
			Reply: []ReplyRule{{Groups: []string{"vpn-admins"}, Attributes: []Attribute{avp}}}},
		ClientGroups: map[string]GroupPolicy{"lab": {Name: "lab"}},
	}
	e := NewEngine(prim, ms, []factors.Factor{&fakeFactor{used: map[string]bool{}}}, p, func() time.Time { return now })
	decide := func(client, user, pw string) Decision {
		return e.Decide(context.Background(), Request{Client: client, UserName: user, Password: pw})
	}

	d := decide("vpn", `EXAMPLE\admin`, "right,111111")
	if d.Outcome != Accept || d.User != "admin" || len(d.Attributes) != 1 || d.Attributes[0].Value != avp.Value {
		t.Fatalf("admin: %+v, want accept as admin with the Cisco-AVPair", d)
	}
	if u := ms.users["admin"]; u.Directory != "ldap" || u.Profile.Mail != "admin@example.org" {
		t.Errorf("admin's record after the first login: %+v, want a directory user with the mail", u)
	}
	writes := ms.writes
	if d := decide("vpn", "admin", "right,111111"); d.Outcome != Reject || d.Reason != ReasonReplayedPasscode || d.Attributes != nil {
		t.Errorf("replayed code: %+v, want a reject without attributes", d)
	}
	if ms.writes != writes {
		t.Errorf("an unchanged profile was written again (%d writes, want %d)", ms.writes, writes)
	}

	before := ms.locks["outsider"].Failures
	if d := decide("vpn", "outsider", "right"); d.Outcome != Reject || d.Reason != ReasonNotInRequiredGroup || d.Message != MsgNotAllowed {
		t.Errorf("outsider: %+v, want not_in_required_group", d)
	}
	if ms.locks["outsider"].Failures != before {
		t.Error("a group denial after a right password counted toward the lockout")
	}
	if d := decide("lab", "outsider", "right"); d.Reason != ReasonNotEnrolled {
		t.Errorf("outsider through the client with its own (empty) policy: %+v, want not_enrolled", d)
	}
	if d := decide("vpn", "exempt", "right"); d.Outcome != Accept || d.Reason != ReasonMFAExempt || d.Factor != "" {
		t.Errorf("exempt: %+v, want an accept on the password", d)
	}
	if d := decide("vpn", "exempt", "wrong"); d.Outcome != Reject || d.Reason != ReasonBadCredentials {
		t.Errorf("exempt with a wrong password: %+v, want bad_credentials", d)
	}
	d = decide("vpn", "expired", "right")
	if d.Outcome != Reject || d.Reason != ReasonPasswordExpired || d.Message != MsgPasswordExpired {
		t.Errorf("expired: %+v, want password_expired with its message", d)
	}
	if ms.locks["expired"].Failures != 1 {
		t.Errorf("an explained denial is counted like any failure: %d, want 1", ms.locks["expired"].Failures)
	}
	if d := decide("vpn", "user", "right"); d.Reason != ReasonNotEnrolled || ms.users["user"].Profile.Mail != "user@example.org" {
		t.Errorf("user without devices: %+v, record %+v, want not_enrolled and the profile kept", d, ms.users["user"])
	}
	// `radiusmfa user lock` holds for a directory user whose password is right.
	u := ms.users["admin"]
	u.Disabled = true
	ms.users["admin"] = u
	if d := decide("vpn", "admin", "right,111111"); d.Outcome != Reject || d.Reason != ReasonAccountDisabled || d.Message == MsgAccountDisabled {
		t.Errorf("admin-locked directory user: %+v, want account_disabled with the generic reply", d)
	}
}

// canonPrimary answers for alice under any spelling, naming her "Alice",
// and fails after a (simulated) bind for "spent".
type canonPrimary struct{ calls int }

func (c *canonPrimary) Authenticate(ctx context.Context, name, pw string) (Identity, bool, error) {
	c.calls++
	if name == "spent" {
		<-ctx.Done()
		return Identity{}, false, fmt.Errorf("bind answer lost: %w", ErrAttemptSpent)
	}
	return Identity{Name: "Alice"}, pw == "right", nil
}

func TestEngineDirectoryNames(t *testing.T) {
	prim := &canonPrimary{}
	ms := &memStore{users: map[string]store.User{}, locks: map[string]store.Lockout{},
		enrolled: map[string][]store.Enrollment{"alice": {{ID: "a1", User: "alice", Kind: "totp"}}}}
	now := time.Unix(1_700_000_000, 0)
	e := NewEngine(prim, ms, []factors.Factor{&fakeFactor{used: map[string]bool{}}},
		Policy{Lockout: store.LockoutPolicy{Threshold: 2}, EnrollMessage: "enroll", Directory: "ldap"}, func() time.Time { return now })
	decide := func(ctx context.Context, user, pw string) Decision {
		return e.Decide(ctx, Request{UserName: user, Password: pw})
	}
	// Another spelling of the account logs in as the directory's name, with
	// that user's devices: no password-only way in through a new spelling.
	d := decide(context.Background(), "alice@corp.example", "right")
	if d.User != "alice" || d.Reason != ReasonPasscodeRequired {
		t.Fatalf("UPN spelling: %+v, want alice's record and her device asked for", d)
	}
	if d := decide(context.Background(), "alice@corp.example", "right,111111"); d.Outcome != Accept || d.User != "alice" {
		t.Fatalf("UPN spelling with alice's code: %+v", d)
	}
	if _, ok := ms.users["alice@corp.example"]; ok {
		t.Error("a record was created for the spelling")
	}

	// A lost bind answer rejects, even past the deadline: a drop would have
	// the client's retransmission send the password again.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	if d := decide(ctx, "spent", "pw"); d.Outcome != Reject || d.Reason != ReasonDirectoryUnavailable {
		t.Fatalf("spent attempt: %+v, want a reject", d)
	}

	// A locked name is refused without asking the directory.
	ms.locks["bob"] = store.Lockout{Failures: 2, Locked: true}
	calls := prim.calls
	if d := decide(context.Background(), "bob", "right"); d.Reason != ReasonLockedOut || prim.calls != calls {
		t.Errorf("locked name: %+v after %d directory calls, want locked_out and none", d, prim.calls-calls)
	}
}
