package ldaptest

import (
	"fmt"
	"os"
	"strings"
	"time"
)

// StartSlapdStandalone is StartSlapd for programs that are not tests (the
// benchmark's directory helper): it builds the server in dir, which must
// exist and be empty, and returns an error instead of failing a test. The
// caller stops the server with Stop and removes dir. slapd dies with the
// calling process if that exits first (Pdeathsig), so no server outlives
// its owner.
func StartSlapdStandalone(dir string, opts SlapdOptions) (*Slapd, error) {
	bin, err := lookBinary("slapd")
	if err != nil {
		return nil, fmt.Errorf("ldaptest: %v: %s", err, slapdHint)
	}
	if ents, err := os.ReadDir(dir); err != nil {
		return nil, err
	} else if len(ents) > 0 {
		return nil, fmt.Errorf("ldaptest: %s is not empty", dir)
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

// PID is slapd's process ID (for reading its CPU time).
func (s *Slapd) PID() int { return s.cmd.Process.Pid }

// Exited is closed when slapd has exited, stopped or not.
func (s *Slapd) Exited() <-chan struct{} { return s.exited }
