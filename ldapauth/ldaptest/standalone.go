package ldaptest

import (
	"fmt"
	"os"
)

// StartSlapdStandalone is StartSlapd for programs that are not tests (the
// benchmark's directory helper): it builds the server in dir, which must
// exist and be empty, and returns an error instead of failing a test. The
// caller stops the server with Stop and removes dir. slapd dies with the
// calling process if that exits first (Pdeathsig), so no server outlives
// its owner.
func StartSlapdStandalone(dir string, opts SlapdOptions) (*Slapd, error) {
	if ents, err := os.ReadDir(dir); err != nil {
		return nil, err
	} else if len(ents) > 0 {
		return nil, fmt.Errorf("ldaptest: %s is not empty", dir)
	}
	return startSlapd(dir, opts)
}

// PID is slapd's process ID (for reading its CPU time).
func (s *Slapd) PID() int { return s.cmd.Process.Pid }

// Exited is closed when slapd has exited, stopped or not.
func (s *Slapd) Exited() <-chan struct{} { return s.exited }
