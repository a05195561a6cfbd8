# Seeds the ldaptest Samba AD domain. Run by samba.go, embedded with go:embed,
# as: /usr/bin/python3 samba_populate.py <smb.conf> <sam.ldb> <load users>
# It writes sam.ldb through samba's own bindings before the DC starts: one
# process instead of one samba-tool call (1-2 s each) per object.
# Prints one JSON line of facts for the Go side.
import json
import sys
import time

import ldb
from samba import dsdb, unix2nttime
from samba.auth import system_session
from samba.dcerpc import security
from samba.ndr import ndr_unpack
from samba.param import LoadParm
from samba.samdb import SamDB

conf, url, nload = sys.argv[1], sys.argv[2], int(sys.argv[3])
lp = LoadParm()
lp.load(conf)
db = SamDB(url=url, session_info=system_session(), lp=lp)
base = str(db.domain_dn())


def dn_of(sam):
    return db.search(base=base, expression="(sAMAccountName=%s)" % sam,
                     attrs=[])[0].dn


def replace(dn, name, value, controls=None):
    m = ldb.Message()
    m.dn = dn
    m[name] = ldb.MessageElement(value, ldb.FLAG_MOD_REPLACE, name)
    db.modify(m, controls=controls or [])


def rid(sam):
    sid = db.search(base=base, expression="(sAMAccountName=%s)" % sam,
                    attrs=["objectSid"])[0]["objectSid"][0]
    return ndr_unpack(security.dom_sid, sid).split()[1]


db.transaction_start()
try:
    # Samba counts failed binds (badPwdCount) only while a lockout threshold
    # is set; 1000 keeps that count without ever locking a test account.
    replace(ldb.Dn(db, base), "lockoutThreshold", "1000")
    db.newuser("svc-radius", "Svc-Passw0rd", useusernameascn=True,
               description="RADIUS search-bind account")
    db.setexpiry("(sAMAccountName=svc-radius)", 0, no_expiry_req=True)

    # (sAMAccountName, given name, surname); N in the mobile number is the
    # position. alice's CN is her display name, so her DN != her login name.
    people = [("alice", "Alice", "Anders"), ("bob", "Bob", "Brown"),
              ("carol", "Carol", "Clark"), ("dave", "Dave", "Disabled"),
              ("eve", "Eve", "Mustchange"), ("frank", "Frank", "Expired"),
              ("gina", "Gina", "Pwexpired"), ("henry", "Henry", "Contractor")]
    for n, (sam, given, sn) in enumerate(people, 1):
        db.newuser(sam, sam.capitalize() + "-Passw0rd",
                   useusernameascn=None if sam == "alice" else True,
                   givenname=given, surname=sn,
                   mailaddress=sam + "@example.test",
                   force_password_change_at_next_login_req=(sam == "eve"))
        replace(dn_of(sam), "mobile", "+1555000000%d" % n)

    db.disable_account("(sAMAccountName=dave)")
    db.setexpiry("(sAMAccountName=frank)", -86400)  # accountExpires yesterday
    # pwdLastSet 400 days back, past the domain's 42-day maxPwdAge. Samba
    # accepts only 0 or -1 there unless password_hash is bypassed.
    replace(dn_of("gina"), "pwdLastSet", str(unix2nttime(int(time.time()) - 400 * 86400)),
            ["local_oid:%s:0" % dsdb.DSDB_CONTROL_BYPASS_PASSWORD_HASH_OID])

    for g in ("vpn-users", "vpn-admins", "vpn-level3", "staff", "contractors"):
        db.newgroup(g)
    db.add_remove_group_members("vpn-users", ["vpn-admins", "alice", "dave", "eve", "frank", "gina"])
    db.add_remove_group_members("vpn-admins", ["vpn-level3", "bob"])
    db.add_remove_group_members("vpn-level3", ["carol"])
    db.add_remove_group_members("staff", ["alice", "carol"])
    # A new primary group must already hold the user.
    db.add_remove_group_members("contractors", ["henry"])
    replace(dn_of("henry"), "primaryGroupID", str(rid("contractors")))

    loads = []
    for i in range(1, nload + 1):
        sam = "load%04d" % i
        db.newuser(sam, "Pw-%s!" % sam, useusernameascn=True,
                   mailaddress=sam + "@example.test")
        loads.append(sam)
    if loads:
        db.add_remove_group_members("vpn-users", loads)
except Exception:
    db.transaction_cancel()
    raise
db.transaction_commit()

print(json.dumps({"domain_sid": str(db.get_domain_sid())}))
