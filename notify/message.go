package notify

import (
	"fmt"
	"strings"
	"time"
	"unicode"
)

// Summary is one line saying what happened, for a subject or a chat line.
func (ev Event) Summary() string {
	user := oneLine(ev.User)
	switch ev.Kind {
	case PushReported:
		return fmt.Sprintf("%s denied a push and reported it as not theirs", user)
	case PushSuspended:
		return fmt.Sprintf("push approval suspended for %s", user)
	case LoginReported:
		return fmt.Sprintf("%s reports a login that was not theirs", user)
	}
	return fmt.Sprintf("%s about %s", oneLine(ev.Kind), user)
}

// advice says what an admin should make of each kind.
var advice = map[string]string{
	PushReported: "Someone who knew the user's password started a login, and the user says it was not " +
		"them: treat the password as known to someone else and have it changed. Push approval is " +
		"suspended for the user until an admin or the help desk unlocks them (the console, or " +
		"`radiusmfa user unlock NAME`).",
	PushSuspended: "Pushes to the user's phone were denied or left unanswered several times in a row, " +
		"which is how push fatigue attacks look. Push approval stays suspended for the user until an " +
		"admin or the help desk unlocks them (the console, or `radiusmfa user unlock NAME`).",
	LoginReported: "The user pressed \"This wasn't me\" on one of their logins. If that login was " +
		"accepted, someone has their password, and their second factor too unless the login needed " +
		"none: have the password changed and check the user's devices.",
}

// Text is the plain-text body of an email about ev.
func (ev Event) Text() string {
	var b strings.Builder
	b.WriteString(ev.Summary() + ".\n\n")
	if a := advice[ev.Kind]; a != "" {
		b.WriteString(wrap(a, 72) + "\n\n")
	}
	for _, f := range []struct{ name, value string }{
		{"Event", ev.Kind},
		{"Time", ev.Time.UTC().Format(time.RFC3339)},
		{"User", ev.User},
		{"RADIUS client", ev.Client},
		{"NAS-Identifier", ev.NASIdentifier},
		{"Calling-Station-Id", ev.CallingStationID},
		{"Detail", ev.Detail},
		{"Server", ev.Server},
	} {
		if f.value != "" {
			fmt.Fprintf(&b, "%-19s %s\n", f.name+":", oneLine(f.value))
		}
	}
	fmt.Fprintf(&b, "\nThe audit log has the record: radiusmfa audit tail --user %s\n", shellQuote(oneLine(ev.User)))
	return b.String()
}

// wrap breaks text into lines of at most width bytes, between words.
func wrap(text string, width int) string {
	var b strings.Builder
	n := 0
	for _, w := range strings.Fields(text) {
		if n > 0 && n+1+len(w) > width {
			b.WriteByte('\n')
			n = 0
		} else if n > 0 {
			b.WriteByte(' ')
			n++
		}
		b.WriteString(w)
		n += len(w)
	}
	return b.String()
}

// oneLine replaces control characters (line breaks included) with spaces
// and bounds the length, so a name cannot add lines or headers.
func oneLine(s string) string {
	const maxLen = 200
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
	if len(s) > maxLen {
		s = strings.ToValidUTF8(s[:maxLen], "") + "…"
	}
	return s
}

// shellQuote quotes s for a POSIX shell, so a user name holding $(...) or
// backquotes is only text when an admin pastes the suggested command.
func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("@%+=:,./-_", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
