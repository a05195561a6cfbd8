package bolt

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"go.etcd.io/bbolt"

	"radiusmfa/store"
)

var testBucket = []byte("t")

// openCommitter starts a committer on a fresh bbolt file with one bucket.
func openCommitter(t *testing.T) (*committer, *bbolt.DB) {
	t.Helper()
	db, err := bbolt.Open(filepath.Join(t.TempDir(), "commit.db"), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bbolt.Tx) error {
		_, err := tx.CreateBucket(testBucket)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	c := startCommitter(db)
	t.Cleanup(func() {
		c.stop()
		_ = db.Close()
	})
	return c, db
}

func put(key string) func(*bbolt.Tx) error {
	return func(tx *bbolt.Tx) error {
		return tx.Bucket(testBucket).Put([]byte(key), []byte("v"))
	}
}

func has(t *testing.T, db *bbolt.DB, key string) bool {
	t.Helper()
	var found bool
	err := db.View(func(tx *bbolt.Tx) error {
		found = tx.Bucket(testBucket).Get([]byte(key)) != nil
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return found
}

// hold keeps the committer busy inside a transaction until release is
// called, so writes submitted meanwhile wait together for the next group.
func hold(t *testing.T, c *committer) (release func()) {
	t.Helper()
	var entered sync.Once
	inside, free, errc := make(chan struct{}), make(chan struct{}), make(chan error, 1)
	go func() {
		errc <- c.do(context.Background(), func(*bbolt.Tx) error {
			entered.Do(func() { close(inside) })
			<-free
			return nil
		})
	}()
	<-inside
	return func() {
		close(free)
		if err := <-errc; err != nil {
			t.Errorf("held write: %v", err)
		}
	}
}

// waitWaiting gives n just-started writers time to reach the queue. Only how
// the writes are grouped depends on it, never whether a test passes.
func waitWaiting(before, n int) {
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); {
		if runtime.NumGoroutine() >= before+n {
			break
		}
		time.Sleep(time.Millisecond)
	}
	time.Sleep(20 * time.Millisecond)
}

func TestCommitterIsolatesFailures(t *testing.T) {
	c, db := openCommitter(t)
	const n = 100
	const failing, replayed, panicking = 13, 42, 77
	errBoom := errors.New("boom")
	errs := make([]error, n)
	txids := make([]int, n) // the transaction of each write's last run
	release := hold(t, c)
	before := runtime.NumGoroutine()
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			errs[i] = c.do(context.Background(), func(tx *bbolt.Tx) error {
				txids[i] = tx.ID()
				switch i {
				case replayed:
					return store.ErrReplay // checks before it writes, as batch fns must
				case panicking:
					panic("bad write")
				}
				if err := put(fmt.Sprint(i))(tx); err != nil {
					return err
				}
				if i == failing {
					return errBoom // after writing: the group's transaction must roll back
				}
				return nil
			})
		})
	}
	waitWaiting(before, n)
	release()
	wg.Wait()

	committed := map[int]bool{}
	for i, err := range errs {
		switch i {
		case failing:
			if !errors.Is(err, errBoom) {
				t.Errorf("failing write: got %v, want boom", err)
			}
		case replayed:
			if !errors.Is(err, store.ErrReplay) {
				t.Errorf("replayed write: got %v, want ErrReplay", err)
			}
		case panicking:
			if err == nil || !strings.Contains(err.Error(), "panicked") {
				t.Errorf("panicking write: got %v, want a panic error", err)
			}
		default:
			if err != nil {
				t.Errorf("write %d failed beside a bad companion: %v", i, err)
			}
			committed[txids[i]] = true
		}
		if want := err == nil; has(t, db, fmt.Sprint(i)) != want {
			t.Errorf("write %d: stored = %v, want %v", i, !want, want)
		}
	}
	// The good writes still shared transactions: a few, not one each.
	if len(committed) > n/4 {
		t.Errorf("%d good writes took %d transactions", n-3, len(committed))
	}
	t.Logf("%d good writes committed in %d transactions", n-3, len(committed))
}

func TestCommitterContextEndsBeforePickup(t *testing.T) {
	c, db := openCommitter(t)
	done, cancel := context.WithCancel(context.Background())
	cancel()
	if err := c.do(done, put("early")); !errors.Is(err, context.Canceled) {
		t.Errorf("already cancelled: got %v, want context.Canceled", err)
	}

	release := hold(t, c)
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	before := runtime.NumGoroutine()
	go func() { errc <- c.do(ctx, put("late")) }()
	waitWaiting(before, 1)
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) { // returns while the committer is still held
		t.Errorf("cancelled while waiting: got %v, want context.Canceled", err)
	}
	release()

	// Once taken, a write is waited for even if its context ends.
	ctx, cancel = context.WithCancel(context.Background())
	err := c.do(ctx, func(tx *bbolt.Tx) error {
		cancel()
		return put("taken")(tx)
	})
	if err != nil {
		t.Errorf("cancelled after pickup: got %v, want nil (it committed)", err)
	}
	for key, want := range map[string]bool{"early": false, "late": false, "taken": true} {
		if has(t, db, key) != want {
			t.Errorf("key %q stored = %v, want %v", key, !want, want)
		}
	}
}

func TestCommitterStopWithQueuedWriters(t *testing.T) {
	c, db := openCommitter(t)
	const n = 50
	release := hold(t, c)
	before := runtime.NumGoroutine()
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { errs[i] = c.do(context.Background(), put(fmt.Sprint(i))) })
	}
	waitWaiting(before, n)
	stopped := make(chan struct{})
	go func() { c.stop(); close(stopped) }()
	select {
	case <-stopped:
		t.Fatal("stop returned while a commit was in flight")
	case <-time.After(20 * time.Millisecond):
	}
	release()
	waitOrFail(t, "stop", stopped)
	writers := make(chan struct{})
	go func() { wg.Wait(); close(writers) }()
	waitOrFail(t, "queued writers", writers)

	answered := 0
	for i, err := range errs {
		switch {
		case err == nil:
			answered++
			if !has(t, db, fmt.Sprint(i)) {
				t.Errorf("write %d acknowledged but not stored", i)
			}
		case errors.Is(err, store.ErrClosed):
			if has(t, db, fmt.Sprint(i)) {
				t.Errorf("write %d answered ErrClosed but stored", i)
			}
		default:
			t.Errorf("write %d: got %v, want nil or ErrClosed", i, err)
		}
	}
	t.Logf("%d of %d queued writes committed at stop, the rest refused", answered, n)
	if err := c.do(context.Background(), put("after")); !errors.Is(err, store.ErrClosed) {
		t.Errorf("write after stop: got %v, want ErrClosed", err)
	}
	c.stop() // a second stop returns at once
}

// TestCloseDuringAdvanceCounter closes the DB under a stream of logins: each
// caller gets either an acknowledgement that survives a reopen or ErrClosed
// for a write that was never stored.
func TestCloseDuringAdvanceCounter(t *testing.T) {
	const writers = 16
	db, path := openTemp(t, Options{})
	ctx := t.Context()
	if err := db.CreateUser(ctx, store.User{Name: "u"}); err != nil {
		t.Fatal(err)
	}
	for w := range writers {
		e := store.Enrollment{ID: fmt.Sprint("e", w), User: "u", Kind: "hotp", Secret: []byte("s")}
		if err := db.AddEnrollment(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	acked := make([]uint64, writers)
	errs := make([]error, writers)
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for c := uint64(1); ; c++ {
				if errs[w] = db.AdvanceCounter(ctx, "u", fmt.Sprint("e", w), c, testTime); errs[w] != nil {
					return
				}
				acked[w] = c
			}
		})
	}
	time.Sleep(50 * time.Millisecond)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	db, err := Open(path, testKey, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for w := range writers {
		if !errors.Is(errs[w], store.ErrClosed) {
			t.Errorf("writer %d stopped with %v, want ErrClosed", w, errs[w])
		}
		id := fmt.Sprint("e", w)
		err := db.AdvanceCounter(ctx, "u", id, acked[w], testTime)
		if acked[w] > 0 && !errors.Is(err, store.ErrReplay) {
			t.Errorf("writer %d: acknowledged counter %d lost (%v)", w, acked[w], err)
		}
		if err := db.AdvanceCounter(ctx, "u", id, acked[w]+1, testTime); err != nil {
			t.Errorf("writer %d: counter %d was refused ErrClosed yet stored (%v)", w, acked[w]+1, err)
		}
	}
}

func waitOrFail(t *testing.T, what string, done <-chan struct{}) {
	t.Helper()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatalf("%s did not finish: deadlock", what)
	}
}

// TestCommitterLingersOnlyUnderLoad: writes one after another never wait
// for companions; once groups of several form, the committer waits a little
// for more, and everything is still committed and answered.
func TestCommitterLingersOnlyUnderLoad(t *testing.T) {
	c, db := openCommitter(t)
	for i := range 50 {
		if err := c.do(context.Background(), put(fmt.Sprintf("seq%d", i))); err != nil {
			t.Fatal(err)
		}
	}
	if c.lingered != 0 {
		t.Fatalf("sequential writes lingered %d times, want 0", c.lingered)
	}

	// A group of several: hold the committer while writers queue up.
	release := hold(t, c)
	before := runtime.NumGoroutine()
	const n = 40
	var wg sync.WaitGroup
	errs := make(chan error, 2*n)
	for i := range n {
		wg.Go(func() { errs <- c.do(context.Background(), put(fmt.Sprintf("burst%d", i))) })
	}
	waitWaiting(before, n)
	release()
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	for i := range n {
		if k := fmt.Sprintf("burst%d", i); !has(t, db, k) {
			t.Fatalf("%s was answered but not committed", k)
		}
	}
	// The held write was a group of one; the waiting writers formed the
	// next, of several; so the write after them lingers, and is committed.
	if err := c.do(context.Background(), put("after")); err != nil || !has(t, db, "after") {
		t.Fatalf("write after the burst: %v", err)
	}
	// Read after the answer: the committer counted before committing.
	if c.lingered == 0 {
		t.Error("the write after a burst did not linger")
	}
}
