package bolt

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"go.etcd.io/bbolt"

	"radiusmfa/store"
)

// binaryFile describes a file as a release with binary records left it:
// version 3 (users in format 0x01) or 4 (users in format 0x03); both write
// enrollments in format 0x02 beside their counters values.
type binaryFile struct {
	version     int                // 3 or 4
	users       []store.User       // each in the version's user format
	enrollments []store.Enrollment // each a format 0x02 record beside its counters value
	// raw maps a bucket to keys and values stored as given, after the rest.
	raw map[string]map[string][]byte
}

// write creates path through bbolt alone: the buckets of that version
// (names spelled out, as those releases did), meta at the version with the
// key check value, each user in the version's format, and each enrollment
// in format 0x02 with its secret sealed by this package's sealer under
// testKey, beside its counters value. The layouts it borrows from this
// package are pinned by TestRecordLayoutsGolden.
func (f binaryFile) write(t *testing.T, path string) {
	t.Helper()
	encode := map[int]func(store.User) ([]byte, error){3: encodeUserFormat1, 4: encodeUser}[f.version]
	if encode == nil {
		t.Fatalf("binaryFile: no user format for version %d", f.version)
	}
	writeLegacyFile(t, path, uint64(f.version), []string{"meta", "users", "enrollments", "counters", "lockouts", "audit"},
		func(seal *sealer, buckets map[string]*bbolt.Bucket) error {
			for _, u := range f.users {
				val, err := encode(u)
				if err != nil {
					return err
				}
				if err := buckets["users"].Put([]byte(u.Name), val); err != nil {
					return err
				}
			}
			if err := putEnrollmentsFormat1(seal, buckets, f.enrollments); err != nil {
				return err
			}
			return putRaw(buckets, f.raw)
		})
}

// putEnrollmentsFormat1 stores each enrollment as versions 3 and 4 did: a
// format 0x02 record with its secret sealed by seal, beside its counters
// value.
func putEnrollmentsFormat1(seal *sealer, buckets map[string]*bbolt.Bucket, enrollments []store.Enrollment) error {
	for _, e := range enrollments {
		rec, err := newEnrollmentRecord(e, seal.sealSecret(e.User, e.ID, e.Secret)).encodeFormat1()
		if err != nil {
			return err
		}
		state, err := counterState{Counter: e.Counter, LastUsedAt: e.LastUsedAt}.encode()
		if err != nil {
			return err
		}
		key := []byte(e.User + "\x00" + e.ID)
		if err := buckets["enrollments"].Put(key, rec); err != nil {
			return err
		}
		if err := buckets["counters"].Put(key, state); err != nil {
			return err
		}
	}
	return nil
}

// putRaw stores raw's keys and values as given, raw mapping a bucket name to
// them.
func putRaw(buckets map[string]*bbolt.Bucket, raw map[string]map[string][]byte) error {
	for bucket, values := range raw {
		for k, v := range values {
			if err := buckets[bucket].Put([]byte(k), v); err != nil {
				return err
			}
		}
	}
	return nil
}

// bucketValues copies every key and value of the named bucket of path.
func bucketValues(t *testing.T, path string, bucket []byte) map[string][]byte {
	t.Helper()
	raw := rawBolt(t, path)
	defer raw.Close()
	values := map[string][]byte{}
	err := raw.View(func(tx *bbolt.Tx) error {
		return tx.Bucket(bucket).ForEach(func(k, v []byte) error {
			values[string(k)] = bytes.Clone(v)
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return values
}

// TestSchemaMigratesVersion3Users opens a version-3 file and checks every
// user came through the rewrite into format 0x03 with each field intact and
// an empty directory and profile, enough of them to split pages; that the
// enrollment records hold what they held (migration 5 rewrote them, keeping
// the sealed secrets byte for byte); that replay state still refuses a
// replay; and that a migrated user then takes a directory and profile.
func TestSchemaMigratesVersion3Users(t *testing.T) {
	path := filepath.Join(t.TempDir(), "v3.db")
	users := []store.User{
		{Name: "alice", PasswordHash: "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA",
			Roles: []string{"admin", "helpdesk"}, Disabled: true,
			CreatedAt: time.Date(2024, 5, 6, 7, 8, 9, 123456789, time.UTC), UpdatedAt: testTime},
		{Name: "bob", CreatedAt: testTime, UpdatedAt: testTime.Add(time.Nanosecond)},
	}
	for i := range 300 {
		users = append(users, store.User{Name: fmt.Sprintf("user%03d", i),
			PasswordHash: strings.Repeat("h", 100), Roles: []string{"vpn"}, CreatedAt: testTime})
	}
	enrollments := []store.Enrollment{
		{ID: "e1", User: "alice", Kind: "totp", Label: "phone", Secret: []byte("alice seed\x00\xff"),
			Digits: 8, Algorithm: "SHA256", Period: 60, Counter: 42,
			CreatedAt: testTime.Add(-24 * time.Hour), LastUsedAt: testTime.Add(-time.Hour)},
		{ID: "x", User: "bob", Kind: "hotp", Secret: []byte("bob seed"), Disabled: true, CreatedAt: testTime},
	}
	// carol exactly as version 3 wrote her: the golden format 0x01 value.
	carolV3 := mustHex(t, "01"+"0168"+"02"+"0161"+"026263"+"01"+"0de0b6b3a7640000"+zeros(8))
	file := binaryFile{version: 3, users: users, enrollments: enrollments, raw: map[string]map[string][]byte{
		"users":    {"carol": carolV3},
		"lockouts": {"alice": []byte(`{"failures":2,"last_failure":"2030-01-02T03:04:05Z","locked":false}`)},
	}}
	file.write(t, path)
	users = append(users, store.User{Name: "carol", PasswordHash: "h", Roles: []string{"a", "bc"},
		Disabled: true, CreatedAt: goldenTime})
	slices.SortFunc(users, func(a, b store.User) int { return strings.Compare(a.Name, b.Name) })
	enrollmentsBefore := bucketValues(t, path, bucketEnrollments)

	db, err := Open(path, testKey, Options{})
	if err != nil {
		t.Fatalf("Open of a version-3 file: %v", err)
	}
	t.Cleanup(func() { _ = db.Close() })
	ctx := t.Context()

	if list, err := db.ListUsers(ctx); err != nil || !slices.EqualFunc(list, users, sameUser) {
		t.Errorf("ListUsers after migration: %d users, %v", len(list), err)
	}
	for _, want := range users[:3] {
		if got, err := db.GetUser(ctx, want.Name); err != nil || !sameUser(got, want) {
			t.Errorf("migrated user %s:\n got %+v, %v\nwant %+v", want.Name, got, err, want)
		}
	}
	st, err := db.LoginState(ctx, "alice")
	if err != nil || !st.UserFound || !sameUser(st.User, users[0]) || st.Lockout.Failures != 2 ||
		len(st.Enrollments) != 1 || !sameEnrollment(st.Enrollments[0], enrollments[0]) {
		t.Errorf("LoginState(alice) after migration: %+v, %v", st, err)
	}
	if err := db.AdvanceCounter(ctx, "alice", "e1", 42, testTime); !errors.Is(err, store.ErrReplay) {
		t.Errorf("AdvanceCounter(42) after migration: %v, want ErrReplay", err)
	}
	if got := enrollmentOf(t, db, "bob", "x"); !sameEnrollment(got, enrollments[1]) {
		t.Errorf("migrated bob/x:\n got %+v\nwant %+v", got, enrollments[1])
	}
	profile := store.Profile{DisplayName: "Alice", Mail: "alice@example.org", Phone: "+1 555 0100"}
	err = db.UpdateUser(ctx, "alice", func(u *store.User) error {
		u.PasswordHash, u.Directory, u.Profile = "", "ldap", profile
		return nil
	})
	if err != nil {
		t.Fatalf("UpdateUser of a migrated user: %v", err)
	}
	checkCountersMatchEnrollments(t, db)
	_ = db.Close()

	if v := storedVersion(t, path); v != schemaVersion() {
		t.Errorf("migrated to %d, want %d", v, schemaVersion())
	}
	for name, v := range bucketValues(t, path, bucketUsers) {
		if len(v) == 0 || v[0] != userFormat2 {
			t.Errorf("user record %q not in format %#02x: %x", name, userFormat2, v)
		}
	}
	if after := bucketValues(t, path, bucketEnrollments); !maps.EqualFunc(after, enrollmentsBefore, sameRecordBytes) {
		t.Error("migrations changed what enrollment records hold")
	}
	db, err = Open(path, testKey, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if got, err := db.GetUser(ctx, "alice"); err != nil || got.Directory != "ldap" || got.Profile != profile {
		t.Errorf("alice after UpdateUser and reopen: %+v, %v", got, err)
	}
}

// TestSchemaFailedMigrationKeepsVersion3 gives migration 4 user records it
// cannot rewrite: Open fails naming the record, and the file is left at
// version 3 with its format 0x01 records, so the release that wrote it still
// opens it.
func TestSchemaFailedMigrationKeepsVersion3(t *testing.T) {
	good := store.User{Name: "alice", PasswordHash: "h", CreatedAt: testTime, UpdatedAt: testTime}
	goodV3, err := encodeUserFormat1(good)
	if err != nil {
		t.Fatal(err)
	}
	newer, err := encodeUser(store.User{Name: "bob", Directory: "ldap"})
	if err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]struct {
		value []byte
		want  string
	}{
		"truncated user":          {goodV3[:len(goodV3)-1], `user "bob": bolt: user "bob": corrupt record: truncated`},
		"user with trailing byte": {append(slices.Clone(goodV3), 0), `corrupt record: 1 trailing bytes`},
		"user in format 0x03":     {newer, `user "bob": record already in format`},
		"JSON user":               {[]byte(`{"name":"bob"}`), `user "bob": bolt: user "bob": corrupt record: a JSON record`},
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "v3.db")
			binaryFile{version: 3, users: []store.User{good},
				raw: map[string]map[string][]byte{"users": {"bob": c.value}}}.write(t, path)

			_, err := Open(path, testKey, Options{})
			if err == nil || !strings.Contains(err.Error(), "schema migration 4") ||
				!strings.Contains(err.Error(), c.want) {
				t.Fatalf("Open: %v\nwant an error containing %q", err, c.want)
			}
			if v := storedVersion(t, path); v != 3 {
				t.Errorf("failed migration left version %d, want 3", v)
			}
			want := map[string][]byte{"alice": goodV3, "bob": c.value}
			if got := bucketValues(t, path, bucketUsers); !maps.EqualFunc(got, want, bytes.Equal) {
				t.Errorf("failed migration rewrote user records: %x", got)
			}
		})
	}
}
