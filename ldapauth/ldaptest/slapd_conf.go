package ldaptest

import (
	"os"
	"text/template"
)

// Debian's slapd package puts its modules and schema files here; only the
// schema files are read, never the package's own configuration.
const (
	slapdModuleDir = "/usr/lib/ldap"
	slapdSchemaDir = "/etc/ldap/schema"
)

// slapdConfTmpl is a complete slapd.conf. Notes on the choices:
//   - the root DSE and subschema are readable anonymously (clients and
//     health checks read them); the DIT is not (require authc on the database);
//   - the memberOf overlay tracks groupOfNames/member only, direct membership;
//   - ppolicy_hash_cleartext hashes passwords that tests add or modify over
//     LDAP; the seed data is loaded with slapadd, already {SSHA}-hashed;
//   - dbnosync: a test directory need not survive a power cut.
var slapdConfTmpl = template.Must(template.New("slapd.conf").Parse(`# written by radiusmfa ldaptest
include {{.SchemaDir}}/core.schema
include {{.SchemaDir}}/cosine.schema
include {{.SchemaDir}}/inetorgperson.schema
include {{.SchemaDir}}/nis.schema

modulepath {{.ModuleDir}}
moduleload back_mdb
moduleload memberof
moduleload ppolicy

pidfile  {{.Dir}}/slapd.pid
argsfile {{.Dir}}/slapd.args
sizelimit 5000

TLSCACertificateFile  {{.CAFile}}
TLSCertificateFile    {{.CertFile}}
TLSCertificateKeyFile {{.KeyFile}}
TLSVerifyClient allow

access to dn.base="" by * read
access to dn.base="cn=Subschema" by * read

database mdb
suffix    "{{.BaseDN}}"
rootdn    "{{.AdminDN}}"
rootpw    {{.AdminHash}}
directory {{.Dir}}/db
maxsize   1073741824
dbnosync
require   authc
index objectClass eq
index uid,mail,cn eq,sub
index member,uniqueMember,memberUid,memberOf eq

overlay memberof
memberof-group-oc groupOfNames
memberof-member-ad member
memberof-memberof-ad memberOf
memberof-refint TRUE

overlay ppolicy
ppolicy_default "{{.DefaultPolicy}}"
ppolicy_hash_cleartext
ppolicy_use_lockout

access to attrs=userPassword
	by self write
	by anonymous auth
	by * none
access to *
	by self read
	by users read
	by anonymous auth
	by * none
`))

type slapdConf struct {
	SchemaDir, ModuleDir, Dir  string
	CAFile, CertFile, KeyFile  string
	BaseDN, AdminDN, AdminHash string
	DefaultPolicy              string
}

func (c slapdConf) write(name string) error {
	f, err := os.OpenFile(name, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if err := slapdConfTmpl.Execute(f, c); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
