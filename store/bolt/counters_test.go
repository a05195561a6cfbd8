package bolt

import (
	"bytes"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"go.etcd.io/bbolt"

	"radiusmfa/store"
)

// checkCountersMatchEnrollments fails t unless bucketCounters and
// bucketEnrollments hold the same keys.
func checkCountersMatchEnrollments(t *testing.T, db *DB) {
	t.Helper()
	keys := func(b *bbolt.Bucket) []string {
		var out []string
		_ = b.ForEach(func(k, _ []byte) error {
			out = append(out, string(k))
			return nil
		})
		return out
	}
	err := db.bolt.View(func(tx *bbolt.Tx) error {
		enrollments, counters := keys(tx.Bucket(bucketEnrollments)), keys(tx.Bucket(bucketCounters))
		if !slices.Equal(enrollments, counters) {
			t.Errorf("enrollment keys %q, counter keys %q", enrollments, counters)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestInvariantCountersMatchEnrollments runs every write that adds or removes
// enrollments, refused ones included, and checks after each that a counters
// entry exists exactly for each enrollment.
func TestInvariantCountersMatchEnrollments(t *testing.T) {
	db, _ := openTemp(t, Options{})
	ctx := t.Context()
	add := func(user, id string) error {
		return db.AddEnrollment(ctx, store.Enrollment{ID: id, User: user, Kind: "totp", Secret: []byte("s")})
	}
	steps := []struct {
		name string
		run  func() error
		want error
	}{
		{"create alice", func() error { return db.CreateUser(ctx, testUser("alice")) }, nil},
		{"create alicex", func() error { return db.CreateUser(ctx, testUser("alicex")) }, nil},
		{"add alice/e1", func() error { return add("alice", "e1") }, nil},
		{"add alice/e2", func() error { return add("alice", "e2") }, nil},
		{"add alicex/e1", func() error { return add("alicex", "e1") }, nil},
		{"add alice/e1 again", func() error { return add("alice", "e1") }, store.ErrExists},
		{"add ghost/e1", func() error { return add("ghost", "e1") }, store.ErrNotFound},
		{"advance alice/e1", func() error { return db.AdvanceCounter(ctx, "alice", "e1", 5, testTime) }, nil},
		{"advance alice/gone", func() error { return db.AdvanceCounter(ctx, "alice", "gone", 5, testTime) }, store.ErrNotFound},
		{"update alice/e1", func() error { return db.UpdateEnrollment(ctx, "alice", "e1", setCounter(1)) }, nil},
		{"update alice/gone", func() error { return db.UpdateEnrollment(ctx, "alice", "gone", setCounter(1)) }, store.ErrNotFound},
		{"update alice/e2 to another id", func() error {
			return db.UpdateEnrollment(ctx, "alice", "e2", func(e *store.Enrollment) error {
				e.ID, e.Counter = "e3", 7
				return nil
			})
		}, store.ErrInvalid},
		{"delete alice/e2", func() error { return db.DeleteEnrollment(ctx, "alice", "e2") }, nil},
		{"update deleted alice/e2", func() error { return db.UpdateEnrollment(ctx, "alice", "e2", setCounter(1)) }, store.ErrNotFound},
		{"delete alice/e2 again", func() error { return db.DeleteEnrollment(ctx, "alice", "e2") }, store.ErrNotFound},
		{"advance deleted alice/e2", func() error { return db.AdvanceCounter(ctx, "alice", "e2", 9, testTime) }, store.ErrNotFound},
		{"delete user alice", func() error { return db.DeleteUser(ctx, "alice") }, nil},
		{"advance alice/e1 of a deleted user", func() error { return db.AdvanceCounter(ctx, "alice", "e1", 6, testTime) }, store.ErrNotFound},
	}
	for _, st := range steps {
		if err := st.run(); !errors.Is(err, st.want) {
			t.Fatalf("%s: %v, want %v", st.name, err, st.want)
		}
		checkCountersMatchEnrollments(t, db)
	}
	// The neighbour whose name extends the deleted user's keeps its counter.
	if got := enrollmentOf(t, db, "alicex", "e1"); got.Counter != 0 {
		t.Errorf("alicex/e1 counter %d", got.Counter)
	}
}

// setCounter is an UpdateEnrollment fn that sets Counter to c.
func setCounter(c uint64) func(*store.Enrollment) error {
	return func(e *store.Enrollment) error {
		e.Counter = c
		return nil
	}
}

// TestAdvanceCounterLeavesRecord checks that the login path writes only the
// counters value: the enrollment record keeps its exact bytes, and it never
// held the counter to begin with.
func TestAdvanceCounterLeavesRecord(t *testing.T) {
	db, _ := openTemp(t, Options{})
	ctx := t.Context()
	if err := db.CreateUser(ctx, testUser("alice")); err != nil {
		t.Fatal(err)
	}
	e := store.Enrollment{ID: "e1", User: "alice", Kind: "totp", Secret: []byte("s"), Counter: 3,
		LastUsedAt: testTime}
	if err := db.AddEnrollment(ctx, e); err != nil {
		t.Fatal(err)
	}
	record := func() []byte {
		var v []byte
		_ = db.bolt.View(func(tx *bbolt.Tx) error {
			v = bytes.Clone(tx.Bucket(bucketEnrollments).Get(enrollmentKey("alice", "e1")))
			return nil
		})
		return v
	}
	before := record()
	if bytes.Contains(before, []byte(`"counter"`)) || bytes.Contains(before, []byte(`"last_used_at"`)) {
		t.Errorf("record carries the replay state: %s", before)
	}
	if err := db.AdvanceCounter(ctx, "alice", "e1", 4, testTime.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if after := record(); !bytes.Equal(before, after) {
		t.Errorf("AdvanceCounter rewrote the record:\n%s\n%s", before, after)
	}
}

// TestEnrollmentRecordCoversEnrollment fails when store.Enrollment gains a
// field that neither enrollmentRecord (under the same name and type) nor the
// key, the seal or bucketCounters stores: it would be silently dropped.
// TestRecordCodecsCarryEveryField checks the encoding carries the record.
func TestEnrollmentRecordCoversEnrollment(t *testing.T) {
	storedElsewhere := map[string]bool{
		"ID":         true, // the key
		"User":       true, // the key
		"Secret":     true, // SealedSecret
		"Counter":    true, // bucketCounters
		"LastUsedAt": true, // bucketCounters
	}
	rec := reflect.TypeFor[enrollmentRecord]()
	for f := range reflect.TypeFor[store.Enrollment]().Fields() {
		if storedElsewhere[f.Name] {
			if _, ok := rec.FieldByName(f.Name); ok {
				t.Errorf("enrollmentRecord.%s duplicates a field stored elsewhere", f.Name)
			}
			continue
		}
		rf, ok := rec.FieldByName(f.Name)
		if !ok {
			t.Errorf("store.Enrollment.%s is not stored", f.Name)
			continue
		}
		if rf.Type != f.Type {
			t.Errorf("enrollmentRecord.%s is %v, store.Enrollment has %v", f.Name, rf.Type, f.Type)
		}
	}
	// And the conversions carry every such field both ways.
	want := store.Enrollment{ID: "e1", User: "alice", Kind: "totp", Label: "l", Secret: []byte("s"),
		Digits: 8, Algorithm: "SHA512", Period: 60, Counter: 9, Disabled: true,
		CreatedAt: testTime, LastUsedAt: testTime.Add(time.Second), Preferred: true,
		ExpiresAt: testTime.Add(time.Hour), MaxUses: 3, CreatedBy: "op"}
	got := newEnrollmentRecord(want, nil).enrollment("alice", "e1", []byte("s"),
		counterState{Counter: 9, LastUsedAt: testTime.Add(time.Second)})
	if !sameEnrollment(got, want) {
		t.Errorf("round trip:\n got %+v\nwant %+v", got, want)
	}
}

func TestCounterStateEncoding(t *testing.T) {
	for _, st := range []counterState{
		{},
		{Counter: 1<<64 - 1, LastUsedAt: testTime},
		{Counter: 42, LastUsedAt: time.Date(1900, 1, 1, 0, 0, 0, 1, time.UTC)}, // negative nanoseconds
		{Counter: 7, LastUsedAt: maxStorableTime},
	} {
		v, err := st.encode()
		if err != nil || len(v) != counterValueLen {
			t.Fatalf("encode %+v: %d bytes, %v", st, len(v), err)
		}
		got, err := decodeCounterState(v)
		if err != nil || got.Counter != st.Counter || !got.LastUsedAt.Equal(st.LastUsedAt) ||
			got.LastUsedAt.IsZero() != st.LastUsedAt.IsZero() {
			t.Errorf("round trip of %+v: %+v, %v", st, got, err)
		}
	}
	for _, at := range []time.Time{maxStorableTime.Add(time.Nanosecond), minStorableTime.Add(-time.Nanosecond)} {
		if _, err := (counterState{LastUsedAt: at}).encode(); err == nil {
			t.Errorf("encoded unstorable time %v", at)
		}
	}
	for _, bad := range [][]byte{nil, make([]byte, 8), make([]byte, 17)} {
		if _, err := decodeCounterState(bad); err == nil {
			t.Errorf("decoded a %d-byte value", len(bad))
		}
	}
}

// TestUnstorableLastUsedAtRefused checks the time range is enforced before
// anything is written, and that a corrupt counters value fails loudly.
func TestUnstorableLastUsedAtRefused(t *testing.T) {
	db, _ := openTemp(t, Options{})
	ctx := t.Context()
	if err := db.CreateUser(ctx, testUser("alice")); err != nil {
		t.Fatal(err)
	}
	far := time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC)
	e := store.Enrollment{ID: "e1", User: "alice", Kind: "totp", Secret: []byte("s"), LastUsedAt: far}
	if err := db.AddEnrollment(ctx, e); err == nil {
		t.Error("AddEnrollment stored a last-used time in the year 3000")
	}
	e.LastUsedAt = time.Time{}
	if err := db.AddEnrollment(ctx, e); err != nil {
		t.Fatal(err)
	}
	if err := db.AdvanceCounter(ctx, "alice", "e1", 1, far); err == nil {
		t.Error("AdvanceCounter stored a last-used time in the year 3000")
	}
	err := db.bolt.Update(func(tx *bbolt.Tx) error {
		return tx.Bucket(bucketCounters).Put(enrollmentKey("alice", "e1"), []byte("short"))
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.AdvanceCounter(ctx, "alice", "e1", 2, testTime); err == nil ||
		!strings.Contains(err.Error(), "corrupt counter") {
		t.Errorf("AdvanceCounter over a corrupt value: %v", err)
	}
	if _, err := db.Enrollments(ctx, "alice"); err == nil || !strings.Contains(err.Error(), "corrupt counter") {
		t.Errorf("Enrollments over a corrupt value: %v", err)
	}
}

// TestRecordWithoutCounterIsInconsistent breaks the invariant behind the
// store's back: reading the enrollment must fail, not report counter 0.
func TestRecordWithoutCounterIsInconsistent(t *testing.T) {
	db, _ := openTemp(t, Options{})
	ctx := t.Context()
	if err := db.CreateUser(ctx, testUser("alice")); err != nil {
		t.Fatal(err)
	}
	e := store.Enrollment{ID: "e1", User: "alice", Kind: "totp", Secret: []byte("s"), Counter: 5}
	if err := db.AddEnrollment(ctx, e); err != nil {
		t.Fatal(err)
	}
	err := db.bolt.Update(func(tx *bbolt.Tx) error {
		return tx.Bucket(bucketCounters).Delete(enrollmentKey("alice", "e1"))
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Enrollments(ctx, "alice"); err == nil || !strings.Contains(err.Error(), "inconsistent") {
		t.Errorf("Enrollments without a counter: %v", err)
	}
	// The login path fails closed: no counter, no acceptance.
	if err := db.AdvanceCounter(ctx, "alice", "e1", 6, testTime); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("AdvanceCounter without a counter: %v, want ErrNotFound", err)
	}
}
