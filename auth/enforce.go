package auth

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"radiusmfa/store"
)

// Mode says whether a login needs a second factor.
type Mode string

const (
	// ModeOff accepts the password alone, even from users with devices.
	ModeOff Mode = "off"
	// ModeOptional asks users with a device for it; users without one get
	// in on the password (and may enroll on the site).
	ModeOptional Mode = "optional"
	// ModeRequired asks everyone for a second factor: users with no device
	// are sent to enroll (after the enrollment deadline, if one is set).
	ModeRequired Mode = "required"
)

// Modes lists the modes from the most lenient to the strictest.
var Modes = []Mode{ModeOff, ModeOptional, ModeRequired}

// ParseMode reads a mode; "" is not a mode.
func ParseMode(s string) (Mode, error) {
	m := Mode(strings.ToLower(strings.TrimSpace(s)))
	if slices.Contains(Modes, m) {
		return m, nil
	}
	return "", fmt.Errorf("MFA mode must be one of off, optional, required, got %q", s)
}

func (m Mode) strictness() int { return slices.Index(Modes, m) }

// Kinds of enrollment the engine knows beside the configured factors.
const (
	KindBypass = "bypass" // a help-desk code; always allowed by Methods
)

// Enforcement is the run-time form of store.Enforcement: modes parsed and
// group names ready to compare. Build it with CompileEnforcement.
type Enforcement struct {
	Global   Mode // "" when the settings leave the configuration's mode
	Groups   []groupMode
	Clients  map[string]Mode
	Deadline time.Time
	Methods  []string // empty: every kind
}

type groupMode struct {
	group string
	mode  Mode
}

// CompileEnforcement checks and compiles stored settings; an error names
// the bad entry, so the console can show it.
func CompileEnforcement(s store.Enforcement) (*Enforcement, error) {
	out := &Enforcement{Deadline: s.Deadline, Methods: slices.Clone(s.Methods), Clients: map[string]Mode{}}
	if s.Mode != "" {
		m, err := ParseMode(s.Mode)
		if err != nil {
			return nil, fmt.Errorf("global mode: %w", err)
		}
		out.Global = m
	}
	for _, g := range slices.Sorted(maps.Keys(s.Groups)) {
		m, err := ParseMode(s.Groups[g])
		if err != nil {
			return nil, fmt.Errorf("group %q: %w", g, err)
		}
		if strings.TrimSpace(g) == "" {
			return nil, fmt.Errorf("a group mode needs a group name")
		}
		out.Groups = append(out.Groups, groupMode{group: g, mode: m})
	}
	for c, v := range s.Clients {
		m, err := ParseMode(v)
		if err != nil {
			return nil, fmt.Errorf("client %q: %w", c, err)
		}
		out.Clients[c] = m
	}
	return out, nil
}

// ModeFor is the mode of one login: the client's own setting wins; then
// the strictest mode among the user's groups that have one; then the
// global setting; then def (the configuration's auth.enforcement).
func (e *Enforcement) ModeFor(client string, id Identity, def Mode) Mode {
	if e == nil {
		return def
	}
	if m, ok := e.Clients[client]; ok {
		return m
	}
	best := Mode("")
	for _, g := range e.Groups {
		if IsMember(id, g.group) && (best == "" || g.mode.strictness() > best.strictness()) {
			best = g.mode
		}
	}
	if best != "" {
		return best
	}
	if e.Global != "" {
		return e.Global
	}
	return def
}

// Allows reports whether an enrollment of kind may be used; bypass codes
// always may (they are the help desk's way back in).
func (e *Enforcement) Allows(kind string) bool {
	if e == nil || len(e.Methods) == 0 || kind == KindBypass {
		return true
	}
	return slices.Contains(e.Methods, kind)
}

// InGrace reports whether users with no device still get in at now.
func (e *Enforcement) InGrace(now time.Time) bool {
	return e != nil && !e.Deadline.IsZero() && now.Before(e.Deadline)
}
