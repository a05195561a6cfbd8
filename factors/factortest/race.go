package factortest

import (
	"context"
	"errors"
	"sync"
	"testing"

	"radiusmfa/factors"
	"radiusmfa/store"
)

// Race offers code to f from logins logins at once, all holding e as read
// before any of them wrote, and returns how many were accepted and how many
// refused as replayed. Any other answer fails t.
func Race(t testing.TB, f factors.Factor, e store.Enrollment, code string, logins int) (ok, replayed int) {
	t.Helper()
	var mu sync.Mutex
	var wg sync.WaitGroup
	start := make(chan struct{})
	for range logins {
		wg.Go(func() {
			<-start
			err := f.Verify(context.Background(), e, code)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				ok++
			case errors.Is(err, factors.ErrReplayed):
				replayed++
			default:
				t.Errorf("unexpected %v", err)
			}
		})
	}
	close(start)
	wg.Wait()
	return ok, replayed
}
