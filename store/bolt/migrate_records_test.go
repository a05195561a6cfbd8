package bolt

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"go.etcd.io/bbolt"

	"radiusmfa/store"
)

// v2File describes a file as a version-2 release left it.
type v2File struct {
	users       []userRecordV2
	enrollments []store.Enrollment // each split into a JSON record and a counters value
	// raw maps a bucket to keys and values stored as given, after the rest.
	raw map[string]map[string][]byte
}

// write creates path through bbolt alone: the version-2 buckets (names
// spelled out, as that release did), meta at version 2 with the key check
// value, each user as JSON, and each enrollment as a JSON record whose secret
// is sealed by this package's sealer under testKey, beside its 16-byte
// counters value.
func (f v2File) write(t *testing.T, path string) {
	t.Helper()
	writeLegacyFile(t, path, 2, []string{"meta", "users", "enrollments", "counters", "lockouts", "audit"},
		func(seal *sealer, buckets map[string]*bbolt.Bucket) error {
			for _, u := range f.users {
				val, err := json.Marshal(u)
				if err != nil {
					return err
				}
				if err := buckets["users"].Put([]byte(u.Name), val); err != nil {
					return err
				}
			}
			for _, e := range f.enrollments {
				rec, err := json.Marshal(enrollmentRecordV2{Kind: e.Kind, Label: e.Label, Digits: e.Digits,
					Algorithm: e.Algorithm, Period: e.Period, Disabled: e.Disabled, CreatedAt: e.CreatedAt,
					SealedSecret: seal.sealSecret(e.User, e.ID, e.Secret)})
				if err != nil {
					return err
				}
				key := []byte(e.User + "\x00" + e.ID)
				if err := buckets["enrollments"].Put(key, rec); err != nil {
					return err
				}
				var lastUsed int64 // 0: never
				if !e.LastUsedAt.IsZero() {
					lastUsed = e.LastUsedAt.UnixNano()
				}
				state := binary.BigEndian.AppendUint64(nil, e.Counter)
				state = binary.BigEndian.AppendUint64(state, uint64(lastUsed))
				if err := buckets["counters"].Put(key, state); err != nil {
					return err
				}
			}
			for bucket, values := range f.raw {
				for k, v := range values {
					if err := buckets[bucket].Put([]byte(k), v); err != nil {
						return err
					}
				}
			}
			return nil
		})
}

// TestSchemaMigratesVersion2Records opens a version-2 file and checks every
// field of every user and enrollment came through the rewrite into binary
// records, that secrets still open where they sit, that the replay state
// still refuses a replay, and that the JSON lockout and audit records were
// left alone.
func TestSchemaMigratesVersion2Records(t *testing.T) {
	path := filepath.Join(t.TempDir(), "v2.db")
	zone := time.FixedZone("CEST", 2*3600)
	users := []store.User{
		{Name: "alice", PasswordHash: "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA",
			Roles: []string{"admin", "helpdesk"}, Disabled: true,
			CreatedAt: time.Date(2024, 5, 6, 7, 8, 9, 123456789, zone), UpdatedAt: testTime},
		{Name: "bob", CreatedAt: testTime, UpdatedAt: testTime.Add(time.Nanosecond)},
	}
	enrollments := []store.Enrollment{
		{ID: "e1", User: "alice", Kind: "totp", Label: "phone", Secret: []byte("alice seed\x00\xff"),
			Digits: 8, Algorithm: "SHA256", Period: 60, Counter: 42,
			CreatedAt: testTime.Add(-24 * time.Hour), LastUsedAt: testTime.Add(-time.Hour)},
		{ID: "e2", User: "alice", Kind: "hotp", Secret: []byte("never used"), Disabled: true,
			CreatedAt: testTime},
		{ID: "x", User: "bob", Kind: "totp", Secret: []byte("bob seed"), Counter: 7,
			CreatedAt: testTime, LastUsedAt: testTime},
	}
	file := v2File{enrollments: enrollments, raw: map[string]map[string][]byte{
		// carol exactly as version 2's json.Marshal of store.User wrote her.
		"users": {"carol": []byte(`{"name":"carol","password_hash":"$argon2id$x","roles":["vpn"],` +
			`"disabled":true,"created_at":"2025-01-02T03:04:05.5+01:00","updated_at":"2025-02-03T04:05:06Z"}`)},
		"lockouts": {"alice": []byte(`{"failures":2,"last_failure":"2030-01-02T03:04:05Z","locked":false}`)},
		"audit":    {string(seqKey(1)): []byte(`{"seq":1,"time":"2030-01-02T03:04:05Z","kind":"auth","user":"alice"}`)},
	}}
	for _, u := range users {
		file.users = append(file.users, userRecordV2{Name: u.Name, PasswordHash: u.PasswordHash,
			Roles: u.Roles, Disabled: u.Disabled, CreatedAt: u.CreatedAt, UpdatedAt: u.UpdatedAt})
	}
	file.write(t, path)
	users = append(users, store.User{Name: "carol", PasswordHash: "$argon2id$x", Roles: []string{"vpn"},
		Disabled: true, CreatedAt: time.Date(2025, 1, 2, 2, 4, 5, 5e8, time.UTC),
		UpdatedAt: time.Date(2025, 2, 3, 4, 5, 6, 0, time.UTC)})

	db, err := Open(path, testKey, Options{})
	if err != nil {
		t.Fatalf("Open of a version-2 file: %v", err)
	}
	t.Cleanup(func() { _ = db.Close() })
	ctx := t.Context()

	for _, want := range users {
		if got, err := db.GetUser(ctx, want.Name); err != nil || !sameUser(got, want) {
			t.Errorf("migrated user %s:\n got %+v, %v\nwant %+v", want.Name, got, err, want)
		}
	}
	if list, err := db.ListUsers(ctx); err != nil || !slices.EqualFunc(list, users, sameUser) {
		t.Errorf("ListUsers after migration: %+v, %v", list, err)
	}
	for _, want := range enrollments {
		if got := enrollmentOf(t, db, want.User, want.ID); !sameEnrollment(got, want) {
			t.Errorf("migrated %s/%s:\n got %+v\nwant %+v", want.User, want.ID, got, want)
		}
	}
	if err := db.AdvanceCounter(ctx, "alice", "e1", 42, testTime); !errors.Is(err, store.ErrReplay) {
		t.Errorf("AdvanceCounter(42) after migration: %v, want ErrReplay", err)
	}
	if err := db.AdvanceCounter(ctx, "alice", "e1", 43, testTime); err != nil {
		t.Errorf("AdvanceCounter(43) after migration: %v", err)
	}
	if err := db.AdvanceCounter(ctx, "alice", "e1", 43, testTime); !errors.Is(err, store.ErrReplay) {
		t.Errorf("AdvanceCounter(43) again: %v, want ErrReplay", err)
	}
	if err := db.AdvanceCounter(ctx, "alice", "e2", 1, testTime); err != nil {
		t.Errorf("AdvanceCounter on a never-used migrated enrollment: %v", err)
	}
	if err := db.AdvanceCounter(ctx, "bob", "x", 7, testTime); !errors.Is(err, store.ErrReplay) {
		t.Errorf("AdvanceCounter(7) of bob after migration: %v, want ErrReplay", err)
	}
	if l, err := db.Lockout(ctx, "alice"); err != nil || l.Failures != 2 {
		t.Errorf("lockout after migration: %+v, %v", l, err)
	}
	if recs, err := db.RecentAudit(ctx, 10); err != nil || len(recs) != 1 || recs[0].User != "alice" {
		t.Errorf("audit after migration: %+v, %v", recs, err)
	}

	// Every record is now binary, users in the layout of version 4 and
	// enrollments in that of version 5 (migrations 4 and 5 ran after this
	// one); nothing is left as JSON.
	err = db.bolt.View(func(tx *bbolt.Tx) error {
		for _, b := range []struct {
			name   []byte
			format byte
		}{{bucketUsers, userFormat2}, {bucketEnrollments, enrollmentFormat2}} {
			err := tx.Bucket(b.name).ForEach(func(k, v []byte) error {
				if len(v) == 0 || v[0] != b.format {
					t.Errorf("%s record %q not in format %#02x: %q", b.name, k, b.format, v)
				}
				return nil
			})
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	checkCountersMatchEnrollments(t, db)
	_ = db.Close()
	if v := storedVersion(t, path); v != schemaVersion() {
		t.Errorf("migrated to %d, want %d", v, schemaVersion())
	}
}

// TestSchemaFailedMigrationKeepsVersion2 gives migration 3 records it cannot
// rewrite: Open fails naming the record, and the file is left at version 2
// with its JSON records, so the release that wrote it still opens it.
func TestSchemaFailedMigrationKeepsVersion2(t *testing.T) {
	good := userRecordV2{Name: "alice", CreatedAt: testTime, UpdatedAt: testTime}
	for name, c := range map[string]struct {
		bucket, key, value, want string
	}{
		"user time past 2262": {"users", "bob",
			`{"name":"bob","created_at":"3000-01-01T00:00:00Z","updated_at":"3000-01-01T00:00:00Z"}`,
			`user "bob": bolt: created_at 3000-01-01 00:00:00 +0000 UTC outside the storable range`},
		"user named apart from its key": {"users", "bob",
			`{"name":"mallory","created_at":"2030-01-02T03:04:05Z","updated_at":"2030-01-02T03:04:05Z"}`,
			`user "bob": record names user "mallory"`},
		"unreadable user": {"users", "bob", `{not json`, `user "bob": bolt: decode`},
		"enrollment time before 1677": {"enrollments", "alice\x00e9",
			`{"kind":"totp","created_at":"1600-01-01T00:00:00Z","sealed_secret":"AQ=="}`,
			`enrollment "alice\x00e9": bolt: created_at 1600-01-01`},
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "v2.db")
			file := v2File{users: []userRecordV2{good},
				enrollments: []store.Enrollment{{ID: "e1", User: "alice", Kind: "totp",
					Secret: []byte("s"), Counter: 3, CreatedAt: testTime}},
				raw: map[string]map[string][]byte{c.bucket: {c.key: []byte(c.value)}}}
			if c.bucket == "enrollments" { // keep the counters invariant
				file.raw["counters"] = map[string][]byte{c.key: make([]byte, counterValueLen)}
			}
			file.write(t, path)

			_, err := Open(path, testKey, Options{})
			if err == nil || !strings.Contains(err.Error(), "schema migration 3") ||
				!strings.Contains(err.Error(), c.want) {
				t.Fatalf("Open: %v\nwant an error containing %q", err, c.want)
			}
			if v := storedVersion(t, path); v != 2 {
				t.Errorf("failed migration left version %d, want 2", v)
			}
			raw := rawBolt(t, path)
			defer raw.Close()
			err = raw.View(func(tx *bbolt.Tx) error {
				var u userRecordV2
				if err := json.Unmarshal(tx.Bucket(bucketUsers).Get([]byte("alice")), &u); err != nil {
					t.Errorf("failed migration rewrote a user record: %v", err)
				}
				var rec enrollmentRecordV2
				if err := json.Unmarshal(tx.Bucket(bucketEnrollments).Get([]byte("alice\x00e1")), &rec); err != nil {
					t.Errorf("failed migration rewrote an enrollment record: %v", err)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestRawRecordsHoldNoJSON checks new writes use the binary layouts, and the
// sealed secret sits in the enrollment record as the sealer produced it.
func TestRawRecordsHoldNoJSON(t *testing.T) {
	db, _ := openTemp(t, Options{})
	ctx := t.Context()
	if err := db.CreateUser(ctx, testUser("alice")); err != nil {
		t.Fatal(err)
	}
	e := store.Enrollment{ID: "e1", User: "alice", Kind: "totp", Secret: []byte("s")}
	if err := db.AddEnrollment(ctx, e); err != nil {
		t.Fatal(err)
	}
	err := db.bolt.View(func(tx *bbolt.Tx) error {
		u := tx.Bucket(bucketUsers).Get([]byte("alice"))
		rec := tx.Bucket(bucketEnrollments).Get(enrollmentKey("alice", "e1"))
		if len(u) == 0 || u[0] != userFormat2 || bytes.Contains(u, []byte(`"`)) {
			t.Errorf("user record %q", u)
		}
		r, err := decodeEnrollmentRecord(rec)
		if err != nil {
			return err
		}
		if secret, err := db.seal.openSecret("alice", "e1", r.SealedSecret); err != nil || string(secret) != "s" {
			t.Errorf("sealed secret of the record: %q, %v", secret, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
