package ldaptest

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Samba binds the standard AD ports and has no option to move them, so one
// DC runs per machine. Test processes (go test runs packages in parallel)
// take turns through an exclusive flock on sambaLockFile, held until
// StopSamba or process exit. The file also records the owner's directory so
// that the next owner can clean up after a process that died without
// StopSamba.
const (
	sambaLockFile = "/tmp/radiusmfa-samba.lock"
	sambaLockWait = 5 * time.Minute
	sambaDirGlob  = "radiusmfa-samba-"
)

// sambaPorts are what the ldap and kdc services bind on lo.
var sambaPorts = []struct {
	network string
	port    int
	what    string
}{
	{"tcp", 389, "LDAP"}, {"tcp", 636, "LDAPS"}, {"tcp", 3268, "global catalog"},
	{"tcp", 3269, "global catalog TLS"}, {"tcp", 88, "Kerberos"}, {"udp", 88, "Kerberos"},
	{"tcp", 464, "kpasswd"}, {"udp", 464, "kpasswd"},
}

type hostLock struct{ f *os.File }

// lockHost takes the machine-wide Samba lock, waiting up to sambaLockWait
// for another test process to finish, then cleans up what a previous owner
// left behind.
func lockHost(logf func(string, ...any)) (*hostLock, error) {
	f, err := os.OpenFile(sambaLockFile, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	logged := false
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			break
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			f.Close()
			return nil, fmt.Errorf("flock %s: %w", sambaLockFile, err)
		}
		owner := lockRecord(f)["pid"]
		if time.Since(start) > sambaLockWait {
			f.Close()
			return nil, fmt.Errorf("another test process (pid %s) has held %s for %v; it runs the Samba DC this machine can host",
				owner, sambaLockFile, sambaLockWait)
		}
		if !logged {
			logf("ldaptest: waiting for %s, held by pid %s, which runs this machine's Samba DC", sambaLockFile, owner)
			logged = true
		}
		time.Sleep(200 * time.Millisecond)
	}
	l := &hostLock{f}
	if prev := lockRecord(f)["dir"]; prev != "" {
		if err := removeLeftovers(prev); err != nil {
			l.release()
			return nil, fmt.Errorf("cleaning up after an earlier test process: %w", err)
		}
	}
	if err := l.record(""); err != nil {
		l.release()
		return nil, err
	}
	return l, nil
}

// record writes the owner and its Samba directory into the lock file.
func (l *hostLock) record(dir string) error {
	if err := l.f.Truncate(0); err != nil {
		return err
	}
	_, err := l.f.WriteAt([]byte(fmt.Sprintf("pid=%d\ndir=%s\n", os.Getpid(), dir)), 0)
	return err
}

func (l *hostLock) release() {
	l.record("")
	l.f.Close() // drops the flock
}

// lockRecord parses the key=value lines of the lock file.
func lockRecord(f *os.File) map[string]string {
	m := map[string]string{}
	b := make([]byte, 4096)
	n, _ := f.ReadAt(b, 0)
	for _, line := range strings.Split(string(b[:n]), "\n") {
		if k, v, ok := strings.Cut(line, "="); ok {
			m[k] = v
		}
	}
	return m
}

// removeLeftovers kills processes still working in an earlier owner's
// directory and deletes it. Only our own directories are touched.
func removeLeftovers(dir string) error {
	if !filepath.IsAbs(dir) || !strings.HasPrefix(filepath.Base(dir), sambaDirGlob) {
		return nil
	}
	if err := killTree(0, dir); err != nil {
		return err
	}
	return os.RemoveAll(dir)
}

// killTree SIGKILLs every process in process group pgid (when non-zero) or
// whose working directory is inside dir, and waits for them to go. Samba's
// children rename themselves, so neither names nor command lines find them;
// they all inherit the master's group and directory.
func killTree(pgid int, dir string) error {
	deadline := time.Now().Add(5 * time.Second)
	for {
		pids := treePIDs(pgid, dir)
		if len(pids) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("processes %v (group %d, directory %s) survive SIGKILL", pids, pgid, dir)
		}
		for _, pid := range pids {
			syscall.Kill(pid, syscall.SIGKILL)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func treePIDs(pgid int, dir string) []int {
	ents, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		if pgid != 0 && procPgrp(pid) == pgid {
			pids = append(pids, pid)
			continue
		}
		cwd, err := os.Readlink(fmt.Sprintf("/proc/%d/cwd", pid))
		if err != nil {
			continue
		}
		cwd = strings.TrimSuffix(cwd, " (deleted)")
		if cwd == dir || strings.HasPrefix(cwd, dir+"/") {
			pids = append(pids, pid)
		}
	}
	return pids
}

// procPgrp returns field 5 of /proc/PID/stat; the command name (field 2)
// may hold spaces and parentheses, so fields are counted after its last ')'.
func procPgrp(pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return -1
	}
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return -1
	}
	f := strings.Fields(string(b[i+1:])) // state ppid pgrp ...
	if len(f) < 3 {
		return -1
	}
	n, _ := strconv.Atoi(f[2])
	return n
}

// checkPortsFree binds each of Samba's ports on 127.0.0.1 (and ::1) for a
// moment; a failure names the processes holding the port.
func checkPortsFree(v6 bool) error {
	var busy []string
	for _, p := range sambaPorts {
		hosts := []string{"127.0.0.1"}
		if v6 {
			hosts = append(hosts, "::1")
		}
		for _, h := range hosts {
			if err := tryBind(p.network, net.JoinHostPort(h, strconv.Itoa(p.port))); err != nil {
				busy = append(busy, fmt.Sprintf("%s/%d (%s) on %s: %v; held by %s",
					p.network, p.port, p.what, h, err, portHolders(p.network, p.port)))
				break
			}
		}
	}
	if len(busy) > 0 {
		return fmt.Errorf("samba needs its fixed ports, which are in use:\n  %s", strings.Join(busy, "\n  "))
	}
	return nil
}

func tryBind(network, addr string) error {
	if network == "udp" {
		c, err := net.ListenPacket(network, addr)
		if err == nil {
			c.Close()
		}
		return err
	}
	l, err := net.Listen(network, addr)
	if err == nil {
		l.Close()
	}
	return err
}

// portHolders names the processes with a socket bound to port, from
// /proc/net and the /proc/PID/fd links.
func portHolders(network string, port int) string {
	inodes := map[string]bool{}
	for _, suffix := range []string{"", "6"} {
		f, err := os.Open("/proc/net/" + network + suffix)
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(f)
		sc.Scan() // header
		for sc.Scan() {
			// sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
			fs := strings.Fields(sc.Text())
			if len(fs) < 10 {
				continue
			}
			_, hexPort, _ := strings.Cut(fs[1], ":")
			if p, err := strconv.ParseUint(hexPort, 16, 16); err == nil && int(p) == port && fs[9] != "0" {
				inodes["socket:["+fs[9]+"]"] = true
			}
		}
		f.Close()
	}
	if len(inodes) == 0 {
		return "an unknown process (not visible in /proc/net)"
	}
	var who []string
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		fds, _ := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
		for _, fd := range fds {
			if link, _ := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", pid, fd.Name())); inodes[link] {
				who = append(who, describePID(pid))
				break
			}
		}
	}
	if len(who) == 0 {
		return "an unknown process"
	}
	return strings.Join(who, ", ")
}

func describePID(pid int) string {
	cmd, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	args := strings.TrimSpace(strings.ReplaceAll(string(cmd), "\x00", " "))
	cwd, _ := os.Readlink(fmt.Sprintf("/proc/%d/cwd", pid))
	return fmt.Sprintf("pid %d %q (cwd %s)", pid, args, cwd)
}
