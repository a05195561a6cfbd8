package ldaptest

import (
	"os"
	"text/template"
)

// sambaConfTmpl is written before provisioning: provision would otherwise
// merge /etc/samba/smb.conf (shares and all), and with a given smb.conf it
// insists on [sysvol] and [netlogon]. Every path points into the temporary
// directory, so nothing under /var or /run is touched.
//
// Only the ldap and kdc services run: the tests speak LDAP, and the KDC
// keeps the DC a normal one. "lo" holds 127.0.0.1 and ::1.
var sambaConfTmpl = template.Must(template.New("smb.conf").Parse(`# written by radiusmfa ldaptest
[global]
	netbios name = DC1
	workgroup = {{.Domain}}
	realm = {{.Realm}}
	server role = active directory domain controller
	server services = ldap, kdc
	interfaces = lo
	bind interfaces only = yes
	dns proxy = no
	ldap server require strong auth = yes
	tls enabled = yes
	tls cafile = {{.CAFile}}
	tls certfile = {{.CertFile}}
	tls keyfile = {{.KeyFile}}
	private dir = {{.Dir}}/private
	binddns dir = {{.Dir}}/bind-dns
	lock directory = {{.Dir}}/lock
	state directory = {{.Dir}}/state
	cache directory = {{.Dir}}/cache
	pid directory = {{.Dir}}/run
	ncalrpc dir = {{.Dir}}/run/ncalrpc
	ntp signd socket directory = {{.Dir}}/run/ntp_signd
	winbindd socket directory = {{.Dir}}/run/winbindd
	log file = {{.Dir}}/log/log.%m
	log level = 1
	load printers = no
	printcap name = /dev/null
	disable spoolss = yes

[sysvol]
	path = {{.Dir}}/state/sysvol
	read only = no

[netlogon]
	path = {{.Dir}}/state/sysvol/{{.DNSDomain}}/scripts
	read only = no
`))

type sambaConf struct {
	Dir, Realm, DNSDomain, Domain string
	CAFile, CertFile, KeyFile     string
}

func (c sambaConf) write(name string) error {
	f, err := os.OpenFile(name, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	if err := sambaConfTmpl.Execute(f, c); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
