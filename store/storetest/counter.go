package storetest

import (
	"bytes"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"radiusmfa/store"
)

func testAdvanceCounter(t *testing.T, s store.Store) {
	ctx := t.Context()
	mustCreateUser(t, s, "alice")
	mustAddEnrollment(t, s, "alice", "e1")
	at := base.Add(time.Minute)
	steps := []struct {
		c    uint64
		want error
	}{
		{5, nil}, {5, store.ErrReplay}, {4, store.ErrReplay}, {0, store.ErrReplay},
		{6, nil}, {1 << 40, nil}, {1<<40 - 1, store.ErrReplay},
	}
	for _, st := range steps {
		err := s.AdvanceCounter(ctx, "alice", "e1", st.c, at)
		wantErr(t, fmt.Sprintf("AdvanceCounter(%d)", st.c), err, st.want)
		if st.want == nil {
			at = at.Add(time.Second)
		}
	}
	got := enrollment(t, s, "alice", "e1")
	if got.Counter != 1<<40 {
		t.Errorf("Counter = %d, want %d", got.Counter, uint64(1<<40))
	}
	if want := at.Add(-time.Second); !got.LastUsedAt.Equal(want) {
		t.Errorf("LastUsedAt = %v, want %v (the last accepted call)", got.LastUsedAt, want)
	}
}

func testAdvanceCounterFromInitial(t *testing.T, s store.Store) {
	ctx := t.Context()
	mustCreateUser(t, s, "alice")
	e := store.Enrollment{ID: "h1", User: "alice", Kind: "hotp", Secret: []byte("k"), Counter: 10}
	wantErr(t, "AddEnrollment", s.AddEnrollment(ctx, e), nil)
	wantErr(t, "AdvanceCounter(10)", s.AdvanceCounter(ctx, "alice", "h1", 10, base), store.ErrReplay)
	wantErr(t, "AdvanceCounter(11)", s.AdvanceCounter(ctx, "alice", "h1", 11, base), nil)
}

func testAdvanceCounterNotFound(t *testing.T, s store.Store) {
	ctx := t.Context()
	mustCreateUser(t, s, "alice")
	err := s.AdvanceCounter(ctx, "alice", "missing", 1, base)
	wantErr(t, "unknown enrollment", err, store.ErrNotFound)
	err = s.AdvanceCounter(ctx, "ghost", "e1", 1, base)
	wantErr(t, "unknown user", err, store.ErrNotFound)
}

// testAdvanceCounterKeepsRecord checks that advancing rewrites only the
// counter: the secret and settings must come back intact.
func testAdvanceCounterKeepsRecord(t *testing.T, s store.Store) {
	mustCreateUser(t, s, "alice")
	want := mustAddEnrollment(t, s, "alice", "e1")
	at := base.Add(time.Hour)
	wantErr(t, "AdvanceCounter", s.AdvanceCounter(t.Context(), "alice", "e1", 99, at), nil)
	want.Counter, want.LastUsedAt = 99, at
	if got := enrollment(t, s, "alice", "e1"); !equalEnrollments(got, want) {
		t.Errorf("after AdvanceCounter:\n got %+v\nwant %+v", got, want)
	}
}

// testAdvanceCounterRaceSameCode is the replay invariant under load: many
// requests presenting the same code at once, exactly one accepted.
func testAdvanceCounterRaceSameCode(t *testing.T, s store.Store) {
	mustCreateUser(t, s, "alice")
	mustAddEnrollment(t, s, "alice", "e1")
	const n = 50
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			errs[i] = s.AdvanceCounter(t.Context(), "alice", "e1", 7, base)
		})
	}
	close(start)
	wg.Wait()
	accepted := 0
	for i, err := range errs {
		switch {
		case err == nil:
			accepted++
		case !errors.Is(err, store.ErrReplay):
			t.Errorf("goroutine %d: got %v, want nil or ErrReplay", i, err)
		}
	}
	if accepted != 1 {
		t.Errorf("%d of %d identical codes accepted, want exactly 1", accepted, n)
	}
}

// testAdvanceCounterConcurrentEnrollments runs independent enrollments side
// by side: none may lose an update or see another's counter.
func testAdvanceCounterConcurrentEnrollments(t *testing.T, s store.Store) {
	const enrollments, steps = 16, 10
	mustCreateUser(t, s, "alice")
	for i := range enrollments {
		mustAddEnrollment(t, s, "alice", fmt.Sprint("e", i))
	}
	var wg sync.WaitGroup
	errs := make(chan error, enrollments*steps)
	for i := range enrollments {
		wg.Go(func() {
			for c := uint64(1); c <= steps; c++ {
				if err := s.AdvanceCounter(t.Context(), "alice", fmt.Sprint("e", i), c, base); err != nil {
					errs <- fmt.Errorf("e%d counter %d: %w", i, c, err)
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	list, err := s.Enrollments(t.Context(), "alice")
	wantErr(t, "Enrollments", err, nil)
	for _, e := range list {
		if e.Counter != steps || !bytes.Equal(e.Secret, []byte("secret of alice/"+e.ID)) {
			t.Errorf("%s: counter %d, want %d (secret intact: %v)", e.ID, e.Counter, steps,
				bytes.Equal(e.Secret, []byte("secret of alice/"+e.ID)))
		}
	}
}
