package integration

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
	"unicode/utf8"
)

// ocservHint says how to get the VPN server and client the ocserv tests drive.
const ocservHint = "run `make test-deps`, or as root `apt-get install ocserv openconnect` (Debian packages)"

// ocserv is one ocserv process authenticating through radcli against a
// radiusmfa server, on a loopback port of its own.
type ocserv struct {
	URL  string // https://127.0.0.1:PORT
	Pin  string // --servercert value: pin-sha256 of the certificate's public key
	logs *logBuffer
}

// startOcserv writes a certificate, an ocserv.conf and a radcli
// configuration into a temporary directory and starts ocserv in the
// foreground, stopped when t ends. Its log (which shows the binary RADIUS
// State raw) is attached, escaped, only if t fails.
func startOcserv(t *testing.T, radiusAddr, secret string) *ocserv {
	t.Helper()
	bin := vpnTool(t, "ocserv")
	dir := t.TempDir()
	pin := writeSelfSignedCert(t, filepath.Join(dir, "server.crt"), filepath.Join(dir, "server.key"))
	port := freeLoopbackPort(t)
	o := &ocserv{URL: fmt.Sprintf("https://127.0.0.1:%d", port), Pin: pin, logs: &logBuffer{}}

	radcli := filepath.Join(dir, "radiusclient.conf")
	writeConfFile(t, filepath.Join(dir, "servers"), fmt.Sprintf("%s %s\n", radiusHost(t, radiusAddr), secret))
	writeConfFile(t, radcli, radcliConf(dir, radiusAddr))
	conf := filepath.Join(dir, "ocserv.conf")
	writeConfFile(t, conf, ocservConf(dir, radcli, port, currentUserGroup(t)))

	cmd := exec.Command(bin, "--foreground", "--config", conf)
	cmd.Stdout, cmd.Stderr = o.logs, o.logs
	// Its own process group: ocserv forks sec-mod and a worker per
	// connection, and the cleanup stops them all through the group's id.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", bin, err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		stopProcessGroup(cmd.Process.Pid, done)
		if t.Failed() {
			t.Logf("--- ocserv log (%s) ---\n%s", dir, escapeBinary(o.logs.String()))
		}
	})
	o.waitListening(t, port, done)
	return o
}

// waitListening waits until ocserv says it listens on port and the port
// accepts (the log line first: the port was free a moment ago, and another
// process could have taken it since), or fails t if ocserv exits or takes
// more than 10 s.
func (o *ocserv) waitListening(t *testing.T, port int, done <-chan struct{}) {
	t.Helper()
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	deadline := time.Now().Add(10 * time.Second)
	for {
		if strings.Contains(o.logs.String(), "listening (TCP) on "+addr) {
			c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
			if err == nil {
				c.Close()
				return
			}
		}
		select {
		case <-done:
			t.Fatalf("ocserv exited before listening on %s:\n%s", addr, escapeBinary(o.logs.String()))
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("ocserv not listening on %s after 10 s:\n%s", addr, escapeBinary(o.logs.String()))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// stopProcessGroup sends SIGTERM to the process group pgid and SIGKILL if its
// leader has not exited 5 s later; then the group's remaining children
// (sec-mod, workers) are killed too.
func stopProcessGroup(pgid int, done <-chan struct{}) {
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		<-done
	}
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
}

// ocservConf is a TLS-only ocserv on 127.0.0.1:port (no udp-port: no
// DTLS). Only the authentication phase is used (openconnect
// --authenticate), so no tun device is ever opened, but ocserv refuses to
// start without a device name and an address pool. One client address
// makes every login: banning (max-ban-score) and the wait after a failed
// login (min-reauth-time) are off, so a test may fail and log in again.
func ocservConf(dir, radcli string, port int, runAs [2]string) string {
	return fmt.Sprintf(`auth = "radius[config=%s,groupconfig=true]"
listen-host = 127.0.0.1
tcp-port = %d
socket-file = %s
pid-file = %s
server-cert = %s
server-key = %s
run-as-user = %s
run-as-group = %s
isolate-workers = false
max-clients = 16
max-same-clients = 0
auth-timeout = 60
cookie-timeout = 60
max-ban-score = 0
min-reauth-time = 0
use-occtl = false
log-level = 2
device = itestvpn
ipv4-network = 192.168.253.0/24
`, radcli, port, filepath.Join(dir, "ocserv.sock"), filepath.Join(dir, "ocserv.pid"),
		filepath.Join(dir, "server.crt"), filepath.Join(dir, "server.key"), runAs[0], runAs[1])
}

// currentUserGroup names the test's own user and group for ocserv's
// run-as settings: root when the tests run as root, and a non-root run
// cannot switch to anyone else.
func currentUserGroup(t *testing.T) [2]string {
	t.Helper()
	u, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	g, err := user.LookupGroupId(u.Gid)
	if err != nil {
		t.Fatal(err)
	}
	return [2]string{u.Username, g.Name}
}

// radcliConf points radcli at radiusmfa. Without an acctserver line radcli
// logs an error on every login; --authenticate opens no session, so no
// accounting is ever sent to it.
func radcliConf(dir, radiusAddr string) string {
	return fmt.Sprintf(`nas-identifier ocserv-itest
authserver %s
acctserver %s
servers %s
dictionary /etc/radcli/dictionary
default_realm
radius_timeout 5
radius_retries 1
bindaddr 127.0.0.1
`, radiusAddr, radiusAddr, filepath.Join(dir, "servers"))
}

// radiusHost is the host part of addr, as radcli's servers file names it.
func radiusHost(t *testing.T, addr string) string {
	t.Helper()
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatalf("RADIUS address %q: %v", addr, err)
	}
	return host
}

// writeSelfSignedCert writes an ECDSA P-256 certificate for 127.0.0.1 and
// its key as PEM, and returns openconnect's pin of it: "pin-sha256:" and
// the base64 SHA-256 of the SubjectPublicKeyInfo.
func writeSelfSignedCert(t *testing.T, certPath, keyPath string) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	writeConfFile(t, certPath, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})))
	writeConfFile(t, keyPath, string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})))
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(cert.RawSubjectPublicKeyInfo)
	return "pin-sha256:" + base64.StdEncoding.EncodeToString(sum[:])
}

// freeLoopbackPort returns a loopback TCP port that was free a moment ago.
func freeLoopbackPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// vpnTool finds ocserv or openconnect (Debian installs both in /usr/sbin,
// which a non-root PATH may lack) and fails t loudly when it is missing.
func vpnTool(t *testing.T, name string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	p := filepath.Join("/usr/sbin", name)
	if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
		return p
	}
	t.Fatalf("%s not found in PATH nor /usr/sbin: %s", name, ocservHint)
	return ""
}

func writeConfFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// escapeBinary escapes the bytes of a log that are not printable text (the
// raw State ocserv logs), keeping newlines and tabs.
func escapeBinary(s string) string {
	var b strings.Builder
	for len(s) > 0 {
		r, n := utf8.DecodeRuneInString(s)
		switch {
		case r == utf8.RuneError && n == 1, r < 0x20 && r != '\n' && r != '\t', r == 0x7f:
			fmt.Fprintf(&b, "\\x%02x", s[0])
		default:
			b.WriteString(s[:n])
		}
		s = s[n:]
	}
	return b.String()
}
