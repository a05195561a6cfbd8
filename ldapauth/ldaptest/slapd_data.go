package ldaptest

import (
	"bufio"
	"crypto/rand"
	"crypto/sha1" // {SSHA} is SHA-1 by definition; slapd verifies it
	"encoding/base64"
	"fmt"
	"io"
	"os"
	"strconv"
)

// The slapd directory's fixed names. Test files read them from the Slapd
// fields; they are constants here so the data below can use them.
const (
	slapdBase      = "dc=example,dc=org"
	slapdPeople    = "ou=people," + slapdBase
	slapdGroups    = "ou=groups," + slapdBase
	slapdPolicies  = "ou=policies," + slapdBase
	slapdAdminDN   = "cn=admin," + slapdBase
	slapdAdminPW   = "adminpw"
	slapdBindDN    = "cn=svc-radius,ou=services," + slapdBase
	slapdBindPW    = "svcpass"
	policyDefault  = "cn=default," + slapdPolicies
	policyMustChg  = "cn=mustchange," + slapdPolicies
	policyExpiring = "cn=expiring," + slapdPolicies
)

// attr is one attribute value; an entry keeps the order it is written in.
type attr struct{ name, value string }

type entry struct {
	dn    string
	attrs []attr
}

func (e *entry) add(name string, values ...string) *entry {
	for _, v := range values {
		if v != "" {
			e.attrs = append(e.attrs, attr{name, v})
		}
	}
	return e
}

// person is one fixed account under ou=people.
type person struct {
	uid, given, sn      string
	mail, mobile, phone string
	extra               []attr // ppolicy state
}

func fixedPeople() []person {
	return []person{
		{uid: "alice", given: "Alice", sn: "Anders", mail: "alice@example.org", mobile: "+15551230001"},
		{uid: "bob", given: "Bob", sn: "Brown", mail: "bob@example.org", phone: "+15551230002"},
		{uid: "carol", given: "Carol", sn: "Clark", mail: "carol@example.org", mobile: "+15551230003"},
		{uid: "dave", given: "Dave", sn: "Locked", mail: "dave@example.org", mobile: "+15551230004",
			extra: []attr{{"pwdAccountLockedTime", "000001010000Z"}}},
		{uid: "eve", given: "Eve", sn: "Mustchange", mail: "eve@example.org", mobile: "+15551230005",
			extra: []attr{{"pwdPolicySubentry", policyMustChg}, {"pwdReset", "TRUE"}}},
		{uid: "frank", given: "Frank", sn: "Plain"},
		{uid: "gina", given: "Gina", sn: "Expired", mail: "gina@example.org", mobile: "+15551230007",
			extra: []attr{{"pwdPolicySubentry", policyExpiring}, {"pwdChangedTime", "20000101000000Z"}}},
	}
}

func userDN(uid string) string { return "uid=" + uid + "," + slapdPeople }
func groupDN(cn string) string { return "cn=" + cn + "," + slapdGroups }
func loadUID(i int) string     { return fmt.Sprintf("load%04d", i) }

// group is one entry under ou=groups; members are values of memberAttr.
type group struct {
	cn, class, memberAttr string
	members               []string
	extra                 []attr
}

func fixedGroups(loadUsers int) []group {
	vpnUsers := []string{userDN("alice"), groupDN("vpn-admins")}
	for i := 1; i <= loadUsers; i++ {
		vpnUsers = append(vpnUsers, userDN(loadUID(i)))
	}
	return []group{
		{cn: "vpn-users", class: "groupOfNames", memberAttr: "member", members: vpnUsers},
		{cn: "vpn-admins", class: "groupOfNames", memberAttr: "member",
			members: []string{userDN("bob"), groupDN("vpn-level3")}},
		{cn: "vpn-level3", class: "groupOfNames", memberAttr: "member", members: []string{userDN("carol")}},
		{cn: "staff", class: "groupOfUniqueNames", memberAttr: "uniqueMember",
			members: []string{userDN("alice"), userDN("carol")}},
		{cn: "developers", class: "posixGroup", memberAttr: "memberUid",
			members: []string{"carol", "frank"}, extra: []attr{{"gidNumber", "10100"}}},
	}
}

// directMemberOf is what the memberof overlay writes, which slapadd does
// not run: each member DN of a groupOfNames gets the group's DN, once per
// direct membership.
func directMemberOf(gs []group) map[string][]string {
	m := map[string][]string{}
	for _, g := range gs {
		if g.class == "groupOfNames" {
			for _, member := range g.members {
				m[member] = append(m[member], groupDN(g.cn))
			}
		}
	}
	return m
}

// slapdEntries returns the whole seed directory, parents first.
func slapdEntries(loadUsers int) []*entry {
	groups := fixedGroups(loadUsers)
	memberOf := directMemberOf(groups)
	es := []*entry{(&entry{dn: slapdBase}).
		add("objectClass", "dcObject", "organization").add("o", "Example Org").add("dc", "example")}
	for _, ou := range []string{"people", "groups", "services", "policies"} {
		es = append(es, (&entry{dn: "ou=" + ou + "," + slapdBase}).
			add("objectClass", "organizationalUnit").add("ou", ou))
	}
	es = append(es,
		policy("default", attr{"pwdLockout", "TRUE"}, attr{"pwdMaxFailure", "0"}),
		policy("mustchange", attr{"pwdMustChange", "TRUE"}),
		policy("expiring", attr{"pwdMaxAge", "3600"}, attr{"pwdGraceAuthNLimit", "0"}),
		(&entry{dn: slapdBindDN}).add("objectClass", "applicationProcess", "simpleSecurityObject").
			add("cn", "svc-radius").add("userPassword", hashed(slapdBindPW)).
			add("description", "search-bind service account"))
	for i, p := range fixedPeople() {
		es = append(es, p.entry(10001+i, memberOf[userDN(p.uid)]))
	}
	for i := 1; i <= loadUsers; i++ {
		uid := loadUID(i)
		es = append(es, (&entry{dn: userDN(uid)}).
			add("objectClass", "inetOrgPerson").add("uid", uid).
			add("cn", "Load "+uid[4:]).add("sn", uid[4:]).
			add("mail", uid+"@example.org").add("mobile", "+1555100"+uid[4:]).
			add("userPassword", hashed("pw-"+uid)).add("memberOf", memberOf[userDN(uid)]...))
	}
	for _, g := range groups {
		e := (&entry{dn: groupDN(g.cn)}).add("objectClass", g.class).add("cn", g.cn).
			add(g.memberAttr, g.members...).add("memberOf", memberOf[groupDN(g.cn)]...)
		e.attrs = append(e.attrs, g.extra...)
		es = append(es, e)
	}
	return es
}

func (p person) entry(uidNumber int, memberOf []string) *entry {
	e := (&entry{dn: userDN(p.uid)}).
		add("objectClass", "inetOrgPerson", "posixAccount").
		add("uid", p.uid).add("cn", p.given+" "+p.sn).add("sn", p.sn).
		add("givenName", p.given).add("displayName", p.given+" "+p.sn).
		add("mail", p.mail).add("mobile", p.mobile).add("telephoneNumber", p.phone).
		add("uidNumber", strconv.Itoa(uidNumber)).add("gidNumber", "10000").
		add("homeDirectory", "/home/"+p.uid).add("userPassword", hashed(p.uid+"-pass")).
		add("memberOf", memberOf...)
	e.attrs = append(e.attrs, p.extra...)
	return e
}

// policy is a ppolicy subentry; 2.5 has no namedPolicy class yet, so it
// hangs off applicationProcess.
func policy(cn string, settings ...attr) *entry {
	e := (&entry{dn: "cn=" + cn + "," + slapdPolicies}).
		add("objectClass", "applicationProcess", "pwdPolicy").add("cn", cn).
		add("pwdAttribute", "userPassword").add("pwdAllowUserChange", "TRUE")
	e.attrs = append(e.attrs, settings...)
	return e
}

// hashed returns the {SSHA} form of pw with a fresh 8-byte salt.
func hashed(pw string) string {
	salt := make([]byte, 8)
	rand.Read(salt) // never fails since Go 1.24
	h := sha1.New()
	h.Write([]byte(pw))
	h.Write(salt)
	return "{SSHA}" + base64.StdEncoding.EncodeToString(append(h.Sum(nil), salt...))
}

func writeLDIF(name string, es []*entry) error {
	f, err := os.Create(name)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	for _, e := range es {
		writeEntry(w, e)
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// writeEntry writes plain values; the seed data is ASCII without leading
// spaces or colons, so no value needs base64.
func writeEntry(w io.Writer, e *entry) {
	fmt.Fprintf(w, "dn: %s\n", e.dn)
	for _, a := range e.attrs {
		fmt.Fprintf(w, "%s: %s\n", a.name, a.value)
	}
	fmt.Fprintln(w)
}
