package bolt

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.etcd.io/bbolt"

	"radiusmfa/store"
)

// crashChildEnv, when set, turns this test binary into the crash child; its
// value is "path round".
const crashChildEnv = "RADIUSMFA_BOLT_CRASH_CHILD"

const crashWorkers = 4

// TestInvariantCrashKeepsAcknowledgedWrites kills a real writer process with
// SIGKILL in the middle of its writes, several times over the same file, and
// checks after each kill that the file opens, is consistent, and holds every
// change the child reported as acknowledged.
func TestInvariantCrashKeepsAcknowledgedWrites(t *testing.T) {
	path := filepath.Join(t.TempDir(), "crash.db")
	users := map[string]bool{}
	counters := map[string]uint64{} // enrollment id → highest acknowledged
	for round := range 3 {
		acks := runCrashChild(t, path, round, 200)
		for _, line := range acks {
			kind, value, _ := strings.Cut(line, " ")
			switch kind {
			case "user":
				users[value] = true
			case "counter":
				id, n, _ := strings.Cut(value, " ")
				c, err := strconv.ParseUint(n, 10, 64)
				if err != nil {
					t.Fatalf("bad child line %q", line)
				}
				counters[id] = max(counters[id], c)
			}
		}
		checkCrashSurvivors(t, path, users, counters)
	}
	t.Logf("%d users and %d counters acknowledged across 3 kills", len(users), len(counters))
}

// runCrashChild starts the child, lets it acknowledge at least want changes,
// kills it, and returns every complete line it wrote before dying.
func runCrashChild(t *testing.T, path string, round, want int) []string {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashHelperProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%s %d", crashChildEnv, path, round))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	watchdog := time.AfterFunc(30*time.Second, func() { _ = cmd.Process.Kill() })
	defer watchdog.Stop()

	var acks []string
	r := bufio.NewReader(stdout)
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			break // EOF after the kill; a fragment without '\n' was never acknowledged
		}
		acks = append(acks, strings.TrimSuffix(line, "\n"))
		if len(acks) == want {
			_ = cmd.Process.Kill() // SIGKILL: no deferred code, no Close, no flush
		}
	}
	err = cmd.Wait()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != -1 || len(acks) < want {
		t.Fatalf("round %d: child ended with %v after %d acks (want death by SIGKILL after %d)\n%s",
			round, err, len(acks), want, stderr.String())
	}
	return acks
}

// checkCrashSurvivors reopens the killed database and looks for every
// acknowledged change.
func checkCrashSurvivors(t *testing.T, path string, users map[string]bool, counters map[string]uint64) {
	t.Helper()
	db, err := Open(path, testKey, Options{})
	if err != nil {
		t.Fatalf("reopen after kill: %v", err)
	}
	defer db.Close()
	if err := db.bolt.View(func(tx *bbolt.Tx) error { return <-tx.Check() }); err != nil {
		t.Fatalf("file inconsistent after kill: %v", err)
	}
	ctx := t.Context()
	for name := range users {
		if _, err := db.GetUser(ctx, name); err != nil {
			t.Errorf("acknowledged user %s lost: %v", name, err)
		}
	}
	for id, c := range counters {
		err := db.AdvanceCounter(ctx, "crash", id, c, testTime)
		if !errors.Is(err, store.ErrReplay) {
			t.Errorf("acknowledged counter %s=%d lost: AdvanceCounter gave %v", id, c, err)
		}
	}
}

// TestCrashHelperProcess is the child of the crash test, not a test itself.
// It writes until killed, printing each change once the store acknowledged it.
func TestCrashHelperProcess(t *testing.T) {
	arg := os.Getenv(crashChildEnv)
	if arg == "" {
		t.Skip("crash child; run by TestInvariantCrashKeepsAcknowledgedWrites")
	}
	path, round, _ := strings.Cut(arg, " ")
	if err := crashChild(path, round, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "crash child:", err)
		os.Exit(2)
	}
	os.Exit(0) // reached only if the parent never killed us
}

// crashChild runs user writers (plain transactions) and counter writers
// (group-committed) side by side, so the kill lands in either kind.
func crashChild(path, round string, out io.Writer) error {
	db, err := Open(path, testKey, Options{})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := prepareCrashEnrollments(ctx, db); err != nil {
		return err
	}
	var mu sync.Mutex
	ack := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(out, format+"\n", args...) // one write(2): a pipe keeps it whole
	}
	errs := make(chan error, 2*crashWorkers)
	var wg sync.WaitGroup
	for w := range crashWorkers {
		wg.Go(func() {
			for i := 0; ctx.Err() == nil; i++ {
				name := fmt.Sprintf("r%s-w%d-%06d", round, w, i)
				if err := db.CreateUser(ctx, store.User{Name: name}); err != nil {
					errs <- err
					return
				}
				ack("user %s", name)
			}
		})
		wg.Go(func() {
			id := fmt.Sprint("e", w)
			for c := uint64(time.Now().UnixNano()); ctx.Err() == nil; c++ {
				if err := db.AdvanceCounter(ctx, "crash", id, c, time.Now()); err != nil {
					errs <- err
					return
				}
				ack("counter %s %d", id, c)
			}
		})
	}
	wg.Wait()
	close(errs)
	return errors.Join(<-errs, db.Close())
}

// prepareCrashEnrollments creates the counter writers' enrollments, or finds
// them in place from an earlier round.
func prepareCrashEnrollments(ctx context.Context, db *DB) error {
	err := db.CreateUser(ctx, store.User{Name: "crash"})
	for w := 0; w < crashWorkers && (err == nil || errors.Is(err, store.ErrExists)); w++ {
		e := store.Enrollment{ID: fmt.Sprint("e", w), User: "crash", Kind: "hotp", Secret: []byte("s")}
		err = db.AddEnrollment(ctx, e)
	}
	if errors.Is(err, store.ErrExists) {
		return nil
	}
	return err
}
