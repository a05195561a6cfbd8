package ldaptest

import (
	"crypto/tls"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

const slapdHint = "run `make test-deps` (installs Debian packages slapd ldap-utils)"

// SlapdOptions tunes StartSlapd; the zero value gives the fixed data only.
type SlapdOptions struct {
	// LoadUsers adds load0001..loadNNNN (password "pw-"+uid, mail, mobile),
	// all direct members of vpn-users.
	LoadUsers int
	// Debug is slapd's -d level ("stats" logs every operation to LogFile);
	// empty means 0, which still logs start-up errors.
	Debug string
}

// Slapd is a running throw-away OpenLDAP server; see the package doc for
// its data. The fields are read-only.
type Slapd struct {
	URL      string // ldap://127.0.0.1:Port, plain and StartTLS
	URL6     string // ldap://[::1]:Port, empty when ::1 is unavailable
	LDAPSURL string // ldaps://127.0.0.1:TLSPort
	Host     string // 127.0.0.1
	Port     int
	TLSPort  int

	BaseDN        string // dc=example,dc=org
	AdminDN       string // rootdn
	AdminPassword string
	BindDN        string // search-bind service account
	BindPassword  string

	CAFile         string // PEM; signs the server and client certificates
	ClientCertFile string // PEM client certificate (TLSVerifyClient allow)
	ClientKeyFile  string
	Dir            string // temporary directory holding all of the above
	LogFile        string // slapd's stderr
	StartTime      time.Duration

	pki      *pki
	cmd      *exec.Cmd
	exited   chan struct{}
	stopOnce sync.Once
}

// StartSlapd starts slapd on free loopback ports from a fresh directory
// under tb.TempDir and stops it in tb.Cleanup. It fails the test, with
// slapd's log, when slapd is missing or does not come up.
func StartSlapd(tb testing.TB, opts SlapdOptions) *Slapd {
	tb.Helper()
	s, err := startSlapd(tb.TempDir(), opts)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(s.Stop)
	return s
}

// startSlapd builds and starts a server in the empty directory dir.
func startSlapd(dir string, opts SlapdOptions) (*Slapd, error) {
	bin, err := lookBinary("slapd")
	if err != nil {
		return nil, fmt.Errorf("ldaptest: %v: %s", err, slapdHint)
	}
	t0 := time.Now()
	p, err := writePKI(dir, "ldaptest slapd CA", []string{"localhost"})
	if err != nil {
		return nil, fmt.Errorf("ldaptest: slapd certificates: %w", err)
	}
	if err := seedSlapd(bin, dir, p, opts.LoadUsers); err != nil {
		return nil, fmt.Errorf("ldaptest: %w", err)
	}
	v6 := ipv6Loopback()
	// A free port can be taken between the probe and slapd's bind; retry.
	for attempt := 1; ; attempt++ {
		s, err := runSlapd(bin, dir, p, v6, opts.Debug)
		if err == nil {
			s.StartTime = time.Since(t0)
			return s, nil
		}
		if attempt == 3 || !strings.Contains(err.Error(), "already in use") {
			return nil, fmt.Errorf("ldaptest: %w", err)
		}
	}
}

// seedSlapd writes slapd.conf and loads the seed data with slapadd, which
// is much faster than adds over LDAP and may set ppolicy's operational
// attributes (pwdChangedTime) that an LDAP add may not.
func seedSlapd(bin, dir string, p *pki, loadUsers int) error {
	conf := slapdConf{
		SchemaDir: slapdSchemaDir, ModuleDir: slapdModuleDir, Dir: dir,
		CAFile: p.caFile, CertFile: p.certFile, KeyFile: p.keyFile,
		BaseDN: slapdBase, AdminDN: slapdAdminDN, AdminHash: hashed(slapdAdminPW),
		DefaultPolicy: policyDefault,
	}
	if err := conf.write(filepath.Join(dir, "slapd.conf")); err != nil {
		return err
	}
	if err := os.Mkdir(filepath.Join(dir, "db"), 0o700); err != nil {
		return err
	}
	ldif := filepath.Join(dir, "seed.ldif")
	if err := writeLDIF(ldif, slapdEntries(loadUsers)); err != nil {
		return err
	}
	// slapadd is slapd run under another name (-T add selects the tool).
	out, err := exec.Command(bin, "-T", "add", "-q", "-f", filepath.Join(dir, "slapd.conf"), "-l", ldif).CombinedOutput()
	if err != nil {
		return fmt.Errorf("slapadd: %v\n%s", err, out)
	}
	return nil
}

func runSlapd(bin, dir string, p *pki, v6 bool, debug string) (*Slapd, error) {
	port, err := freePort(v6)
	if err != nil {
		return nil, err
	}
	tlsPort := port
	for tlsPort == port {
		if tlsPort, err = freePort(v6); err != nil {
			return nil, err
		}
	}
	s := &Slapd{
		Host: "127.0.0.1", Port: port, TLSPort: tlsPort,
		URL:      "ldap://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(port)),
		LDAPSURL: "ldaps://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(tlsPort)),
		BaseDN:   slapdBase, AdminDN: slapdAdminDN, AdminPassword: slapdAdminPW,
		BindDN: slapdBindDN, BindPassword: slapdBindPW,
		CAFile: p.caFile, ClientCertFile: p.clientCertFile, ClientKeyFile: p.clientKeyFile,
		Dir: dir, LogFile: filepath.Join(dir, "slapd.log"),
		pki: p, exited: make(chan struct{}),
	}
	if err := s.start(bin, v6, debug); err != nil {
		return nil, err
	}
	return s, nil
}

// start runs slapd in the foreground (-d), so the PID is slapd's own, and
// waits until it answers a root DSE search.
func (s *Slapd) start(bin string, v6 bool, debug string) error {
	urls := []string{s.URL + "/", s.LDAPSURL + "/"}
	if v6 {
		s.URL6 = "ldap://" + net.JoinHostPort("::1", strconv.Itoa(s.Port))
		urls = append(urls, s.URL6+"/", "ldaps://"+net.JoinHostPort("::1", strconv.Itoa(s.TLSPort))+"/")
	}
	if debug == "" {
		debug = "0"
	}
	logf, err := os.Create(s.LogFile)
	if err != nil {
		return err
	}
	defer logf.Close() // the child has its own copy
	s.cmd = exec.Command(bin, "-f", filepath.Join(s.Dir, "slapd.conf"), "-h", strings.Join(urls, " "), "-d", debug)
	s.cmd.Dir = s.Dir
	s.cmd.Stdout, s.cmd.Stderr = logf, logf
	// If the test binary dies without cleanup, slapd goes with it. (Linux
	// ties Pdeathsig to the forking thread; Go ends a thread only when a
	// goroutine exits while locked to it, which test goroutines do not.)
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := s.cmd.Start(); err != nil {
		return fmt.Errorf("start slapd: %w", err)
	}
	go func() {
		s.cmd.Wait()
		close(s.exited)
	}()
	err = waitReady(10*time.Second, s.exited, func() error { return probeLDAP(s.URL, nil, "", "") })
	if err != nil {
		s.Stop()
		log := tail(s.LogFile, 40)
		if strings.Contains(log, "Address already in use") {
			return fmt.Errorf("slapd: port already in use: %v", err)
		}
		return fmt.Errorf("slapd did not start: %v\n--- %s (last lines) ---\n%s", err, s.LogFile, log)
	}
	return nil
}

// Stop stops slapd (SIGTERM, then SIGKILL after 5 s) and waits for it to
// exit. It is idempotent; tb.Cleanup calls it too.
func (s *Slapd) Stop() {
	s.stopOnce.Do(func() {
		s.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-s.exited:
		case <-time.After(5 * time.Second):
			s.cmd.Process.Kill()
			<-s.exited
		}
	})
}

// TLSConfig returns a new client configuration that trusts only the test CA
// and expects the server name 127.0.0.1 (for StartTLS on URL and for
// LDAPSURL). It carries no client certificate.
func (s *Slapd) TLSConfig() *tls.Config { return s.pki.tlsConfig(s.Host) }

// ClientTLSConfig is TLSConfig plus the client certificate.
func (s *Slapd) ClientTLSConfig() (*tls.Config, error) {
	cert, err := tls.LoadX509KeyPair(s.ClientCertFile, s.ClientKeyFile)
	if err != nil {
		return nil, err
	}
	tc := s.TLSConfig()
	tc.Certificates = []tls.Certificate{cert}
	return tc, nil
}

// UserDN returns the DN of the account uid under ou=people.
func (s *Slapd) UserDN(uid string) string { return userDN(uid) }

// GroupDN returns the DN of group cn under ou=groups.
func (s *Slapd) GroupDN(cn string) string { return groupDN(cn) }
