package config

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const ldapAD = `
auth: {directory: LDAP}
ldap:
  type: AD
  servers: ["ldaps://dc1.example.test", "ldaps://dc2.example.test:636"]
  round_robin: true
  timeout: 3s
  bind_dn: "CN=svc-radius,CN=Users,DC=example,DC=test"
  bind_password_file: %s
  base_dn: "DC=example,DC=test"
  username: {strip_realm: true, realms: [example.test]}
  tls: {ca_file: /etc/ssl/ad-ca.pem}
policy:
  require_groups: [vpn-users]
  mfa_exempt_groups: ["CN=break-glass,OU=Groups,DC=example,DC=test"]
  reply:
    - groups: [vpn-admins]
      attributes:
        - {name: Class, value: "OU=AdminPolicy"}
        - {name: Cisco-AVPair, value: "shell:priv-lvl=15"}
      final: true
policies:
  - name: forti
    mfa: groups
    mfa_required_groups: [vpn-admins]
    reply:
      - attributes: [{name: Fortinet-Group-Name, value: vpn}]
radius:
  clients:
    - {name: asa, networks: [10.0.0.1], secret: a-secret-of-24-characters}
    - {name: fgt, networks: [10.0.0.2], secret: a-secret-of-24-characters, policy: forti}
`

func TestLoadLDAPAndPolicies(t *testing.T) {
	pw := filepath.Join(t.TempDir(), "bindpw")
	if err := os.WriteFile(pw, []byte("Svc-Passw0rd\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, _ := mustLoad(t, fmt.Sprintf(ldapAD, pw))
	l := cfg.LDAP
	if cfg.Auth.Directory != "ldap" || l.Type != "ad" || len(l.Servers) != 2 || !l.RoundRobin || l.Timeout != 3*time.Second {
		t.Errorf("ldap section: %+v", l)
	}
	if l.BindPassword != "Svc-Passw0rd" {
		t.Errorf("bind_password_file was not read into the password")
	}
	if !l.Username.StripDomain || !l.Username.StripRealm || !l.Groups.Nested || l.Profile.Mail != "mail" {
		t.Errorf("defaults inside the ldap section lost: %+v", l)
	}
	if got := cfg.Policy.Reply; len(got) != 1 || !got[0].Final || len(got[0].Attributes) != 2 || got[0].Attributes[1].Name != "Cisco-AVPair" {
		t.Errorf("policy.reply: %+v", got)
	}
	if len(cfg.Policies) != 1 || cfg.Policies[0].MFA != "groups" || cfg.Radius.Clients[1].Policy != "forti" {
		t.Errorf("named policies: %+v, clients %+v", cfg.Policies, cfg.Radius.Clients)
	}
}

func TestLDAPAndPolicyErrors(t *testing.T) {
	tests := []struct{ name, yaml, want string }{
		{"directory", "auth: {directory: kerberos}\n" + oneClient, `auth.directory: must be one of builtin, ldap, got "kerberos"`},
		{"no servers", "auth: {directory: ldap}\nldap: {base_dn: dc=x, bind_template: '{username}@x'}\n" + oneClient,
			"ldap.servers: auth.directory is ldap: list at least one"},
		{"plaintext", "auth: {directory: ldap}\nldap: {servers: ['ldap://x'], base_dn: dc=x, bind_template: '{username}@x'}\n" + oneClient,
			"ldap.servers[0]: ldap://x sends passwords in clear"},
		{"scheme", "auth: {directory: ldap}\nldap: {servers: ['http://x'], base_dn: dc=x, bind_template: '{username}@x'}\n" + oneClient,
			`ldap.servers[0]: want an ldap:// or ldaps:// URL, got "http://x"`},
		{"base_dn", "auth: {directory: ldap}\nldap: {servers: ['ldaps://x'], bind_template: '{username}@x'}\n" + oneClient,
			"ldap.base_dn: must be set"},
		{"no bind", "auth: {directory: ldap}\nldap: {servers: ['ldaps://x'], base_dn: dc=x}\n" + oneClient,
			"ldap.bind_dn: set bind_dn and bind_password"},
		{"empty bind password", "auth: {directory: ldap}\nldap: {servers: ['ldaps://x'], base_dn: dc=x, bind_dn: cn=svc}\n" + oneClient,
			"ldap.bind_password: bind_dn is set but the password is empty"},
		{"type", "auth: {directory: ldap}\nldap: {type: novell, servers: ['ldaps://x'], base_dn: dc=x, bind_template: '{username}@x'}\n" + oneClient,
			`ldap.type: must be one of openldap, ad, got "novell"`},
		{"policy mfa", "policy: {mfa: sometimes}\n" + oneClient, `policy.mfa: must be one of all, groups, got "sometimes"`},
		{"groups mode without groups", "policy: {mfa: groups}\n" + oneClient, "policy.mfa_required_groups: mfa is \"groups\" but no group"},
		{"rule without attributes", "policy: {reply: [{groups: [a]}]}\n" + oneClient, "policy.reply[0].attributes: a rule needs at least one attribute"},
		{"attribute value", "policy: {reply: [{attributes: [{name: Class}]}]}\n" + oneClient, "policy.reply[0].attributes[0].value: must not be empty"},
		{"unnamed policy", "policies: [{mfa: all}]\n" + oneClient, "policies[0].name: must be set"},
		{"unknown policy", client("name: a", "networks: [127.0.0.1]", "secret: a-secret-of-24-characters", "policy: nope"),
			`radius.clients[0].policy (a): no entry of policies is named "nope"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := loadString(t, tc.yaml)
			wantErr(t, err, tc.want)
		})
	}
}

func TestBindPasswordIsNeverEchoed(t *testing.T) {
	_, _, err := loadString(t, "ldap: {bind_password: [Sup3r-Secret-Value]}\n"+oneClient)
	if err == nil || strings.Contains(err.Error(), "Sup3r") {
		t.Fatalf("a wrongly typed bind_password must be reported without its value, got %v", err)
	}
}
