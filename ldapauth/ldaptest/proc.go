package ldaptest

import (
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"

	"github.com/go-ldap/ldap/v3"
)

// lookBinary finds a server binary on PATH or in the sbin directories,
// which a non-login root shell may leave off PATH.
func lookBinary(name string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	for _, dir := range []string{"/usr/sbin", "/sbin", "/usr/bin"} {
		p := filepath.Join(dir, name)
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s not found on PATH or in /usr/sbin", name)
}

// tail returns the last n lines of a log file, for failure messages.
func tail(name string, n int) string {
	b, err := os.ReadFile(name)
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	b = bytes.TrimRight(b, "\n")
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] == '\n' {
			if n--; n == 0 {
				return string(b[i+1:])
			}
		}
	}
	return string(b)
}

// ipv6Loopback reports whether ::1 can be bound here (some containers have
// no IPv6 at all); servers then listen on 127.0.0.1 only.
func ipv6Loopback() bool {
	l, err := net.Listen("tcp6", "[::1]:0")
	if err != nil {
		return false
	}
	l.Close()
	return true
}

// freePort returns a TCP port that is free on 127.0.0.1 and, with v6, on
// ::1 too. Another process may take it before the server binds it; callers
// retry on "address already in use".
func freePort(v6 bool) (int, error) {
	for range 20 {
		l, err := net.Listen("tcp4", "127.0.0.1:0")
		if err != nil {
			return 0, err
		}
		port := l.Addr().(*net.TCPAddr).Port
		if !v6 {
			l.Close()
			return port, nil
		}
		l6, err := net.Listen("tcp6", net.JoinHostPort("::1", strconv.Itoa(port)))
		l.Close()
		if err == nil {
			l6.Close()
			return port, nil
		}
	}
	return 0, errors.New("no TCP port free on both 127.0.0.1 and ::1")
}

// waitReady retries probe until it succeeds, the process exits or the
// timeout passes; the error names the last probe failure.
func waitReady(timeout time.Duration, exited <-chan struct{}, probe func() error) error {
	deadline := time.Now().Add(timeout)
	for {
		err := probe()
		if err == nil {
			return nil
		}
		select {
		case <-exited:
			return fmt.Errorf("server exited before it was ready (last probe: %v)", err)
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("server not ready after %v: %v", timeout, err)
		}
	}
}

// probeLDAP dials url and, with bindDN set, binds; a fresh connection each
// time, so a half-started server is not mistaken for a ready one.
func probeLDAP(url string, tc *tls.Config, bindDN, password string) error {
	conn, err := ldap.DialURL(url, ldap.DialWithTLSConfig(tc),
		ldap.DialWithDialer(&net.Dialer{Timeout: time.Second}))
	if err != nil {
		return err
	}
	defer conn.Close()
	conn.SetTimeout(2 * time.Second)
	if bindDN != "" {
		return conn.Bind(bindDN, password)
	}
	_, err = conn.Search(ldap.NewSearchRequest("", ldap.ScopeBaseObject, ldap.NeverDerefAliases,
		0, 2, false, "(objectClass=*)", []string{"namingContexts"}, nil))
	return err
}
