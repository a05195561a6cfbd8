package ldaptest

import (
	"crypto/tls"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
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

const sambaHint = "run `make test-deps` (installs Debian packages samba samba-ad-dc samba-dsdb-modules " +
	"samba-vfs-modules samba-ad-provision winbind ldb-tools)"

// sambaPython is Debian's interpreter, which has the samba module; a pyenv
// or venv python3 earlier on PATH does not.
const sambaPython = "/usr/bin/python3"

//go:embed samba_populate.py
var sambaPopulate []byte

// SambaLoadUsers is how many load users (load0001.. / "Pw-load0001!",
// members of vpn-users) the shared DC gets. Set it before the first
// StartSamba, e.g. in TestMain.
var SambaLoadUsers = 0

// Samba is the shared Samba AD DC of this test process; see the package doc
// for its data. The fields are read-only.
type Samba struct {
	LDAPURL  string // ldap://127.0.0.1:389: StartTLS or SASL only (strong auth required)
	LDAPSURL string // ldaps://127.0.0.1:636
	Host     string // 127.0.0.1

	BaseDN    string // DC=example,DC=test
	Realm     string // EXAMPLE.TEST
	Domain    string // EXAMPLE (NetBIOS)
	DomainSID string

	AdminUPN      string // Administrator@example.test
	AdminPassword string
	BindDN        string // CN=svc-radius,CN=Users,DC=example,DC=test
	BindUPN       string // svc-radius@example.test
	BindPassword  string

	CAFile  string // PEM CA of the DC's certificate
	Dir     string // temporary directory, removed by StopSamba
	LogFile string // samba's own log

	ProvisionTime time.Duration // samba-tool domain provision alone
	StartTime     time.Duration // provision + certificates + data + DC ready for LDAPS binds

	pki    *pki
	cmd    *exec.Cmd
	stdin  io.Closer
	exited chan struct{}
	lock   *hostLock
}

var shared struct {
	once    sync.Once
	mu      sync.Mutex
	samba   *Samba
	err     error
	stopped bool
}

// StartSamba returns the test process's Samba AD DC, provisioning and
// starting it on the first call (7 s on an idle machine); later calls share
// it, and if the first start failed they fail with the same error. The DC
// outlives the test that started it: call StopSamba in TestMain after
// m.Run. It needs root, the Samba packages, and ports 88/389/636/464/3268/
// 3269 on loopback.
func StartSamba(tb testing.TB) *Samba {
	tb.Helper()
	shared.once.Do(func() {
		s, err := startSamba(tb.Logf)
		shared.mu.Lock()
		shared.samba, shared.err = s, err
		shared.mu.Unlock()
	})
	shared.mu.Lock()
	defer shared.mu.Unlock()
	switch {
	case shared.err != nil:
		tb.Fatalf("ldaptest: Samba AD DC: %v", shared.err)
	case shared.stopped:
		tb.Fatalf("ldaptest: StartSamba called after StopSamba")
	}
	return shared.samba
}

// StopSamba stops the shared DC and its whole process tree, removes its
// directory and releases the machine-wide lock. It waits for a start in
// progress, does nothing when no DC runs, and may be called more than once.
func StopSamba() {
	shared.once.Do(func() { shared.err = errors.New("StopSamba was called before StartSamba") })
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if shared.samba != nil && !shared.stopped {
		shared.samba.stop()
	}
	shared.stopped = true
}

func startSamba(logf func(string, ...any)) (*Samba, error) {
	if uid := os.Geteuid(); uid != 0 {
		return nil, fmt.Errorf("a Samba AD DC must run as root (it binds ports below 1024 and "+
			"stores ACLs in xattrs), but this test runs as uid %d: run it as root, or skip it", uid)
	}
	bins := map[string]string{}
	for _, name := range []string{"samba", "samba-tool"} {
		p, err := lookBinary(name)
		if err != nil {
			return nil, fmt.Errorf("%v: %s", err, sambaHint)
		}
		bins[name] = p
	}
	for _, p := range []string{sambaPython, "/usr/share/samba/setup"} {
		if _, err := os.Stat(p); err != nil {
			return nil, fmt.Errorf("%v: %s", err, sambaHint)
		}
	}
	lock, err := lockHost(logf)
	if err != nil {
		return nil, err
	}
	v6 := ipv6Loopback()
	if err := checkPortsFree(v6); err != nil {
		lock.release()
		return nil, err
	}
	t0 := time.Now()
	dir, err := os.MkdirTemp("", sambaDirGlob)
	if err == nil {
		err = lock.record(dir)
	}
	if err != nil {
		lock.release()
		return nil, err
	}
	s := &Samba{
		LDAPURL: "ldap://127.0.0.1:389", LDAPSURL: "ldaps://127.0.0.1:636", Host: "127.0.0.1",
		BaseDN: "DC=example,DC=test", Realm: "EXAMPLE.TEST", Domain: "EXAMPLE",
		AdminUPN: "Administrator@example.test", AdminPassword: "LabAdm1n!pw",
		BindDN:  "CN=svc-radius,CN=Users,DC=example,DC=test",
		BindUPN: "svc-radius@example.test", BindPassword: "Svc-Passw0rd",
		Dir: dir, LogFile: filepath.Join(dir, "log", "samba.log"),
		lock: lock,
	}
	if err := s.build(bins); err != nil {
		s.stop()
		return nil, err
	}
	s.StartTime = time.Since(t0)
	return s, nil
}

// build provisions the domain, seeds it and starts the DC.
func (s *Samba) build(bins map[string]string) error {
	for _, sub := range []string{"etc", "log", "lock", "state", "cache", "run", "private/tls"} {
		if err := os.MkdirAll(filepath.Join(s.Dir, sub), 0o700); err != nil {
			return err
		}
	}
	p, err := writePKI(filepath.Join(s.Dir, "private", "tls"), "ldaptest Samba CA",
		[]string{"dc1.example.test", "localhost"})
	if err != nil {
		return fmt.Errorf("certificates: %w", err)
	}
	s.pki, s.CAFile = p, p.caFile
	conf := filepath.Join(s.Dir, "etc", "smb.conf")
	err = sambaConf{Dir: s.Dir, Realm: s.Realm, DNSDomain: "example.test", Domain: s.Domain,
		CAFile: p.caFile, CertFile: p.certFile, KeyFile: p.keyFile}.write(conf)
	if err != nil {
		return err
	}

	t := time.Now()
	if err := s.run("provision", bins["samba-tool"], "domain", "provision", "-s", conf,
		"--targetdir="+s.Dir, "--realm="+s.Realm, "--domain="+s.Domain, "--server-role=dc",
		"--dns-backend=NONE", "--host-name=dc1", "--adminpass="+s.AdminPassword); err != nil {
		return err
	}
	s.ProvisionTime = time.Since(t)

	script := filepath.Join(s.Dir, "populate.py")
	if err := os.WriteFile(script, sambaPopulate, 0o600); err != nil {
		return err
	}
	if err := s.run("populate", sambaPython, script, conf,
		filepath.Join(s.Dir, "private", "sam.ldb"), strconv.Itoa(SambaLoadUsers)); err != nil {
		return err
	}
	var facts struct {
		DomainSID string `json:"domain_sid"`
	}
	out, _ := os.ReadFile(filepath.Join(s.Dir, "log", "populate.log"))
	if err := json.Unmarshal([]byte(lastLine(string(out))), &facts); err != nil {
		return fmt.Errorf("populate printed no facts: %v\n%s", err, out)
	}
	s.DomainSID = facts.DomainSID
	return s.startDC(bins["samba"])
}

// run runs one preparation step in s.Dir with its output in log/<step>.log.
func (s *Samba) run(step, bin string, args ...string) error {
	logName := filepath.Join(s.Dir, "log", step+".log")
	logf, err := os.Create(logName)
	if err != nil {
		return err
	}
	defer logf.Close()
	cmd := exec.Command(bin, args...)
	cmd.Dir, cmd.Env = s.Dir, sambaEnv()
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s: %v\n--- %s (last lines) ---\n%s", step, err, logName, tail(logName, 30))
	}
	return nil
}

// startDC runs samba in the foreground, single process model. -i makes it
// a process group leader that ends the group when its stdin closes, so the
// DC goes with the test process even without StopSamba.
func (s *Samba) startDC(bin string) error {
	logf, err := os.Create(s.LogFile)
	if err != nil {
		return err
	}
	defer logf.Close()
	s.cmd = exec.Command(bin, "-s", filepath.Join(s.Dir, "etc", "smb.conf"), "-i", "-M", "single")
	s.cmd.Dir, s.cmd.Env = s.Dir, sambaEnv()
	s.cmd.Stdout, s.cmd.Stderr = logf, logf
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	stdin, err := s.cmd.StdinPipe()
	if err != nil {
		return err
	}
	if err := s.cmd.Start(); err != nil {
		return fmt.Errorf("start samba: %w", err)
	}
	s.stdin, s.exited = stdin, make(chan struct{})
	go func() {
		s.cmd.Wait()
		close(s.exited)
	}()
	err = waitReady(60*time.Second, s.exited, func() error {
		return probeLDAP(s.LDAPSURL, s.TLSConfig(), s.BindUPN, s.BindPassword)
	})
	if err != nil {
		return fmt.Errorf("samba did not start: %v\n--- %s (last lines) ---\n%s", err, s.LogFile, tail(s.LogFile, 40))
	}
	return nil
}

// stop ends the DC (EOF on its stdin, then SIGKILL to whatever is left of
// its group or works in its directory), deletes the directory and releases
// the lock. Errors are printed: there is no test left to fail.
func (s *Samba) stop() {
	if s.cmd != nil && s.cmd.Process != nil {
		s.stdin.Close()
		select {
		case <-s.exited:
		case <-time.After(10 * time.Second):
		}
	}
	pgid := 0
	if s.cmd != nil && s.cmd.Process != nil {
		pgid = s.cmd.Process.Pid
	}
	if err := killTree(pgid, s.Dir); err != nil {
		fmt.Fprintf(os.Stderr, "ldaptest: stopping samba: %v\n", err)
	}
	if s.exited != nil {
		<-s.exited
	}
	if err := os.RemoveAll(s.Dir); err != nil {
		fmt.Fprintf(os.Stderr, "ldaptest: %v\n", err)
	}
	s.lock.release()
}

// TLSConfig returns a new client configuration that trusts only the DC's
// CA and expects the server name 127.0.0.1.
func (s *Samba) TLSConfig() *tls.Config { return s.pki.tlsConfig(s.Host) }

// UserDN returns the DN of a seeded account by sAMAccountName: CN=<name>
// under CN=Users, except alice, whose CN is "Alice Anders".
func (s *Samba) UserDN(sam string) string {
	if sam == "alice" {
		return "CN=Alice Anders,CN=Users," + s.BaseDN
	}
	return "CN=" + sam + ",CN=Users," + s.BaseDN
}

// GroupDN returns the DN of a seeded group (all live under CN=Users).
func (s *Samba) GroupDN(cn string) string { return "CN=" + cn + ",CN=Users," + s.BaseDN }

// sambaEnv is the environment minus Python settings that would point
// Debian's python3 at another installation's modules.
func sambaEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PYTHONHOME=") && !strings.HasPrefix(kv, "PYTHONPATH=") {
			env = append(env, kv)
		}
	}
	return env
}

func lastLine(s string) string {
	s = strings.TrimRight(s, "\n")
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}
