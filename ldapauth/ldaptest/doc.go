// Package ldaptest starts real directory servers on loopback for tests:
// a throw-away OpenLDAP slapd per call (StartSlapd) and one Samba Active
// Directory domain controller per test process (StartSamba). Both run from
// temporary directories with test CAs generated in Go, use nothing from
// /etc/ldap or /etc/samba but the schema files, and send nothing beyond
// 127.0.0.1 and ::1. The facts below are asserted by tests (slapd's in this
// package, Samba's in test/integration, which starts the one DC of a test
// run); other tests may rely on them.
//
// # OpenLDAP (StartSlapd)
//
// slapd 2.5 with back_mdb and the memberof and ppolicy overlays, on free
// ports: URL (ldap://127.0.0.1:P, plain and StartTLS; also URL6 on [::1])
// and LDAPSURL. TLSConfig trusts the test CA; the server certificate names
// 127.0.0.1, ::1 and localhost. TLSVerifyClient is "allow": the client
// certificate (ClientCertFile/ClientKeyFile, ClientTLSConfig) is accepted,
// not required. Stop stops the server early (failover tests); Cleanup stops
// it anyway. Start-up takes 0.2-0.4 s on an idle machine, 2000 load users
// included.
//
// Base dc=example,dc=org:
//
//   - cn=admin,dc=example,dc=org / adminpw: the rootdn.
//   - cn=svc-radius,ou=services,dc=example,dc=org / svcpass: search-bind
//     account; reads everything except userPassword. Every bound user
//     reads the same; users may write their own userPassword.
//   - Anonymous: the root DSE is readable; anything under the base gives
//     53 unwillingToPerform "authentication required".
//   - People, uid=<name>,ou=people,... (inetOrgPerson + posixAccount,
//     uidNumber 10001-10007, gidNumber 10000), password "<name>-pass",
//     cn/displayName "<Given> <Surname>", mail <name>@example.org:
//     alice (displayName "Alice Anders", mobile +15551230001);
//     bob (telephoneNumber +15551230002, no mobile);
//     carol (mobile +15551230003);
//     dave, LOCKED: pwdAccountLockedTime 000001010000Z, bind 49, ppolicy
//     control accountLocked (1);
//     eve, MUST CHANGE: pwdReset under policy cn=mustchange; bind succeeds,
//     the ppolicy control (when requested) says changeAfterReset (2), and
//     every other operation gets 50 insufficientAccessRights;
//     frank, no mail, mobile or DN-based group (only memberUid in developers);
//     gina, PASSWORD EXPIRED: policy cn=expiring (pwdMaxAge 3600, no grace
//     logins) and pwdChangedTime 2000; bind 49, ppolicy control
//     passwordExpired (0).
//     mobile of dave, eve, gina: +1555123000N (N = 4, 5, 7).
//   - Load users (SlapdOptions.LoadUsers): uid=load0001.. (inetOrgPerson),
//     password "pw-load0001", mail load0001@example.org, mobile
//     +15551000001, direct members of vpn-users.
//   - Groups under ou=groups: vpn-users (groupOfNames: alice,
//     cn=vpn-admins, load users) ⊃ vpn-admins (bob, cn=vpn-level3) ⊃
//     vpn-level3 (carol); staff (groupOfUniqueNames, uniqueMember alice,
//     carol); developers (posixGroup, gidNumber 10100, memberUid carol,
//     frank).
//   - Password policies under ou=policies: cn=default (every account:
//     pwdLockout TRUE, pwdMaxFailure 0, so wrong passwords never lock),
//     cn=mustchange (eve), cn=expiring (gina).
//
// OpenLDAP gotchas: memberOf holds DIRECT groupOfNames membership only
// (bob: vpn-admins, not vpn-users; nothing for staff or developers);
// nested groups are the client's job. OpenLDAP does not implement AD's
// LDAP_MATCHING_RULE_IN_CHAIN filter: it returns no entries and no error.
// A pwdReset user can bind; only a client sending the ppolicy control
// learns why it can do nothing else. Adds and modifies over LDAP run the
// overlays (cleartext passwords are stored {SSHA}, memberOf is kept).
//
// # Samba AD DC (StartSamba)
//
// Samba 4.17, process model "single" (one process, about 55 MB), services
// ldap and kdc only, bound to lo. Its ports are fixed (389, 636, 3268,
// 3269, 88, 464), so one DC runs per machine: test processes take turns
// through a flock on /tmp/radiusmfa-samba.lock (waiting up to 5 minutes),
// and StartSamba fails naming the process when a port is taken. It needs
// root. On a 2-core machine provisioning takes 5.5-8 s and the DC answers
// LDAPS binds 1.2-2 s later, 7-10 s in all (ProvisionTime, StartTime);
// under heavy load from parallel tests both doubled. Use it from TestMain:
//
//	func TestMain(m *testing.M) {
//		code := m.Run()
//		ldaptest.StopSamba()
//		os.Exit(code)
//	}
//
// Without StopSamba the DC still ends with the test process (samba -i
// quits when its stdin closes), and the next owner of the lock deletes the
// directory left behind.
//
// Realm EXAMPLE.TEST, NetBIOS domain EXAMPLE, base DC=example,DC=test,
// "ldap server require strong auth = yes": a simple bind on plain
// ldap://127.0.0.1:389 gets 8 strongAuthRequired; use LDAPSURL or StartTLS
// on LDAPURL. The certificate names 127.0.0.1, ::1, localhost and
// dc1.example.test (TLSConfig). Anonymous searches get 1 operationsError
// ("00002020: Operation unavailable without authentication").
//
//   - Administrator@example.test / LabAdm1n!pw.
//   - svc-radius@example.test (CN=svc-radius,CN=Users,DC=example,DC=test)
//     / Svc-Passw0rd, password never expires.
//   - Users in CN=Users, password "<Name>-Passw0rd" (Alice-Passw0rd ...),
//     userPrincipalName and mail <name>@example.test, mobile +1555000000N
//     with N = 1..8 in this order, displayName "<Given> <Surname>":
//     alice (CN "Alice Anders", so her DN differs from her sAMAccountName;
//     binds as alice@example.test, EXAMPLE\alice or her DN);
//     bob; carol;
//     dave DISABLED (bind: data 533);
//     eve MUST CHANGE PASSWORD, pwdLastSet 0 (data 773);
//     frank ACCOUNT EXPIRED, accountExpires a day before the start (data 701);
//     gina PASSWORD EXPIRED, pwdLastSet 400 days back against the domain's
//     42-day maxPwdAge (data 532);
//     henry, primary group contractors: primaryGroupID is contractors' RID,
//     and, as in AD, he is then in neither contractors' member nor his own
//     memberOf, and is an explicit member of Domain Users.
//     A wrong password or an unknown user gives data 52e. All bind failures
//     are 49 invalidCredentials with the sub-code in the diagnostic message.
//     The domain's lockoutThreshold is 1000: Samba counts failed binds in
//     badPwdCount only while a threshold is set, and none of the tests'
//     accounts ever reaches it.
//   - Load users (SambaLoadUsers, default 0): load0001.. / Pw-load0001!,
//     in vpn-users.
//   - Groups (global security, CN=<name>,CN=Users): vpn-users (alice, dave,
//     eve, frank, gina, vpn-admins) ⊃ vpn-admins (bob, vpn-level3) ⊃
//     vpn-level3 (carol); staff (alice, carol); contractors (henry, as
//     primary group only). (member:1.2.840.113556.1.4.1941:=<carol's DN>)
//     finds vpn-level3, vpn-admins, vpn-users and staff.
//
// AD gotchas: subtree searches from the base return referrals
// (CN=Configuration, ...), which go-ldap puts in SearchResult.Referrals;
// do not chase them. After an administrator resets a password, the old one
// keeps working for LDAP binds for 60 minutes (AD's "old password allowed
// period", seen in the project's lab, not asserted here).
package ldaptest
