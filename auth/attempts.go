package auth

import "sync"

// attempts counts the logins in progress per user name. The lockout counter
// in the store only moves when an attempt ends, so without this many
// concurrent guesses would all read "not locked" and together exceed the
// lockout budget.
type attempts struct {
	mu sync.Mutex
	n  map[string]int
}

// begin registers an attempt and returns how many are now in progress for
// name, this one included.
func (a *attempts) begin(name string) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.n == nil {
		a.n = make(map[string]int)
	}
	a.n[name]++
	return a.n[name]
}

func (a *attempts) end(name string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.n[name] <= 1 {
		delete(a.n, name)
		return
	}
	a.n[name]--
}
