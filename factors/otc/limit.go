package otc

import (
	"fmt"
	"sync"
	"time"
)

// limits are the rate limits of sends: per user in a window, and for the
// whole server in an hour (a defence against someone with a password
// running up the text-message bill). They are kept in memory: a restart
// starts them again.
type limits struct {
	perUser int
	window  time.Duration
	budget  int // per hour; 0: none

	mu        sync.Mutex
	users     map[string]*userSends
	hourStart time.Time
	hourSent  int
	swept     time.Time
}

type userSends struct {
	start time.Time
	n     int
}

// limitError says which limit refused a send and when it lifts.
type limitError struct {
	which string // "user" or "budget"
	until time.Time
}

func (e *limitError) Error() string {
	if e.which == "budget" {
		return fmt.Sprintf("the server's hourly budget of codes is spent until %s", e.until.UTC().Format(time.TimeOnly))
	}
	return fmt.Sprintf("this user was sent the most codes allowed until %s", e.until.UTC().Format(time.TimeOnly))
}

// take counts one send for user at now, or refuses it.
func (l *limits) take(user string, now time.Time) *limitError {
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.swept) >= l.window {
		for u, s := range l.users {
			if now.Sub(s.start) >= l.window {
				delete(l.users, u)
			}
		}
		l.swept = now
	}
	if now.Sub(l.hourStart) >= time.Hour {
		l.hourStart, l.hourSent = now, 0
	}
	s := l.users[user]
	if s == nil || now.Sub(s.start) >= l.window {
		s = &userSends{start: now}
		l.users[user] = s
	}
	if l.perUser > 0 && s.n >= l.perUser {
		return &limitError{which: "user", until: s.start.Add(l.window)}
	}
	if l.budget > 0 && l.hourSent >= l.budget {
		return &limitError{which: "budget", until: l.hourStart.Add(time.Hour)}
	}
	s.n++
	l.hourSent++
	return nil
}

// giveBack returns the user's share of a send that failed for want of a
// provider (down, timed out): the user should not be refused once it is
// back. The hourly budget keeps it, so a broken provider is not tried
// without end.
func (l *limits) giveBack(user string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if s := l.users[user]; s != nil && s.n > 0 {
		s.n--
	}
}
