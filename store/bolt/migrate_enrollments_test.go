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

	"radiusmfa/store"
)

// sameRecordBytes reports whether two bucketEnrollments values, in either
// layout, decode to the same record.
func sameRecordBytes(a, b []byte) bool {
	ra, errA := decodeEnrollmentRecord(a)
	rb, errB := decodeEnrollmentRecord(b)
	return errA == nil && errB == nil && sameRecord(ra, rb)
}

// TestSchemaMigratesVersion4Enrollments opens a version-4 file and checks
// every enrollment came through the rewrite into format 0x04 with each field
// intact and no preference, expiry, use limit or creator, enough of them to
// split pages; that the golden format 0x02 record became exactly its format
// 0x04 bytes; that user records and counters values were left byte for byte;
// that replay state still refuses a replay; and that a migrated enrollment
// then takes the new fields, which survive a reopen.
func TestSchemaMigratesVersion4Enrollments(t *testing.T) {
	path := filepath.Join(t.TempDir(), "v4.db")
	users := []store.User{
		{Name: "alice", Roles: []string{"vpn"}, CreatedAt: testTime, UpdatedAt: testTime, Directory: "ldap",
			Profile: store.Profile{DisplayName: "Alice", Mail: "alice@example.org", Phone: "+1"}},
		{Name: "bob", PasswordHash: "$argon2id$x", CreatedAt: testTime, UpdatedAt: testTime},
		{Name: "carol", CreatedAt: testTime, UpdatedAt: testTime},
	}
	enrollments := []store.Enrollment{
		{ID: "e1", User: "alice", Kind: "totp", Label: "phone", Secret: []byte("alice seed\x00\xff"),
			Digits: 8, Algorithm: "SHA256", Period: 60, Counter: 42,
			CreatedAt: testTime.Add(-24 * time.Hour), LastUsedAt: testTime.Add(-time.Hour)},
		{ID: "e2", User: "alice", Kind: "hotp", Secret: []byte("never used"), Disabled: true,
			CreatedAt: testTime},
		{ID: "x", User: "bob", Kind: "backup", Secret: []byte("bob codes"), Counter: 0b101,
			CreatedAt: testTime, LastUsedAt: testTime},
	}
	for i := range 100 {
		name := fmt.Sprintf("user%03d", i)
		users = append(users, store.User{Name: name, CreatedAt: testTime, UpdatedAt: testTime})
		for j := range 3 {
			enrollments = append(enrollments, store.Enrollment{ID: fmt.Sprint("e", j), User: name,
				Kind: "totp", Label: strings.Repeat("l", 50), Secret: []byte(name), Digits: 6,
				Algorithm: "SHA1", Period: 30, Counter: uint64(i*3 + j), CreatedAt: testTime})
		}
	}
	// carol/g exactly as version 4 wrote it: the golden format 0x02 value.
	// Its "sealed secret" is not one, so it is checked as bytes alone.
	golden := "04746f7470" + "0570686f6e65" + "0c" + "0453484131" + "3c" + "00" +
		"0de0b6b3a7640000" + "03aabbcc"
	binaryFile{version: 4, users: users, enrollments: enrollments, raw: map[string]map[string][]byte{
		"enrollments": {"carol\x00g": mustHex(t, "02"+golden)},
		"counters":    {"carol\x00g": make([]byte, counterValueLen)},
		"lockouts":    {"alice": []byte(`{"failures":2,"last_failure":"2030-01-02T03:04:05Z","locked":false}`)},
	}}.write(t, path)
	usersBefore := bucketValues(t, path, bucketUsers)
	countersBefore := bucketValues(t, path, bucketCounters)
	enrollmentsBefore := bucketValues(t, path, bucketEnrollments)

	db, err := Open(path, testKey, Options{})
	if err != nil {
		t.Fatalf("Open of a version-4 file: %v", err)
	}
	t.Cleanup(func() { _ = db.Close() })
	ctx := t.Context()

	for _, want := range enrollments {
		if got := enrollmentOf(t, db, want.User, want.ID); !sameEnrollment(got, want) {
			t.Fatalf("migrated %s/%s:\n got %+v\nwant %+v", want.User, want.ID, got, want)
		}
	}
	st, err := db.LoginState(ctx, "alice")
	if err != nil || !st.UserFound || !sameUser(st.User, users[0]) || st.Lockout.Failures != 2 ||
		len(st.Enrollments) != 2 || !sameEnrollment(st.Enrollments[0], enrollments[0]) ||
		!sameEnrollment(st.Enrollments[1], enrollments[1]) {
		t.Errorf("LoginState(alice) after migration: %+v, %v", st, err)
	}
	if err := db.AdvanceCounter(ctx, "alice", "e1", 42, testTime); !errors.Is(err, store.ErrReplay) {
		t.Errorf("AdvanceCounter(42) after migration: %v, want ErrReplay", err)
	}
	if s, err := db.Settings(ctx); err != nil || s.Enforcement.Mode != "required" || !s.UpdatedAt.IsZero() {
		t.Errorf("Settings of a migrated file: %+v, %v, want MFA required, pending", s, err)
	}
	expires := testTime.Add(48 * time.Hour)
	err = db.UpdateEnrollment(ctx, "bob", "x", func(e *store.Enrollment) error {
		e.Preferred, e.ExpiresAt, e.MaxUses = true, expires, 4
		return nil
	})
	if err != nil {
		t.Fatalf("UpdateEnrollment of a migrated enrollment: %v", err)
	}
	checkCountersMatchEnrollments(t, db)
	_ = db.Close()

	if v := storedVersion(t, path); v != schemaVersion() {
		t.Errorf("migrated to %d, want %d", v, schemaVersion())
	}
	after := bucketValues(t, path, bucketEnrollments)
	for name, v := range after {
		if len(v) == 0 || v[0] != enrollmentFormat2 {
			t.Errorf("enrollment record %q not in format %#02x: %x", name, enrollmentFormat2, v)
		}
	}
	if got, want := after["carol\x00g"], mustHex(t, "04"+golden+zeros(8)+"00"+"00"); !bytes.Equal(got, want) {
		t.Errorf("golden record migrated to %x\n                      want %x", got, want)
	}
	delete(after, "bob\x00x") // changed by UpdateEnrollment since
	delete(enrollmentsBefore, "bob\x00x")
	if !maps.EqualFunc(after, enrollmentsBefore, sameRecordBytes) {
		t.Error("migration 5 changed what enrollment records hold")
	}
	if got := bucketValues(t, path, bucketUsers); !maps.EqualFunc(got, usersBefore, bytes.Equal) {
		t.Error("migration 5 rewrote user records")
	}
	if got := bucketValues(t, path, bucketCounters); !maps.EqualFunc(got, countersBefore, bytes.Equal) {
		t.Error("migration 5 rewrote counters values")
	}

	db, err = Open(path, testKey, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	want := enrollments[2]
	want.Preferred, want.ExpiresAt, want.MaxUses = true, expires, 4
	if got := enrollmentOf(t, db, "bob", "x"); !sameEnrollment(got, want) {
		t.Errorf("bob/x after UpdateEnrollment and reopen:\n got %+v\nwant %+v", got, want)
	}
}

// TestSchemaFailedMigrationKeepsVersion4 gives migration 5 enrollment
// records it cannot rewrite: Open fails naming the record, and the file is
// left at version 4 with its format 0x02 records, so the release that wrote
// it still opens it.
func TestSchemaFailedMigrationKeepsVersion4(t *testing.T) {
	good := enrollmentRecord{Kind: "totp", Label: "phone", Digits: 6, Algorithm: "SHA1", Period: 30,
		CreatedAt: testTime, SealedSecret: []byte{sealFormatV1, 1, 2, 3}}
	goodV4, err := good.encodeFormat1()
	if err != nil {
		t.Fatal(err)
	}
	newer, err := good.encode()
	if err != nil {
		t.Fatal(err)
	}
	// A format 0x02 record whose flags byte has the preferred bit, which only
	// format 0x04 knows.
	preferred := mustHex(t, "02"+"04746f7470"+"00"+"0c"+"00"+"3c"+"02"+zeros(8)+"00")
	const key = "alice\x00bad"
	for name, c := range map[string]struct {
		value []byte
		want  string
	}{
		"truncated enrollment": {goodV4[:len(goodV4)-1],
			`enrollment "alice\x00bad": bolt: corrupt enrollment record: length 4 exceeds`},
		"enrollment with trailing byte": {append(slices.Clone(goodV4), 0), `corrupt enrollment record: 1 trailing bytes`},
		"enrollment in format 0x04":     {newer, `enrollment "alice\x00bad": record already in format 0x04`},
		"preferred in format 0x02":      {preferred, `corrupt enrollment record: unknown flags 0x02`},
		"JSON enrollment":               {[]byte(`{"kind":"totp"}`), `corrupt enrollment record: a JSON record`},
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "v4.db")
			binaryFile{version: 4,
				users: []store.User{{Name: "alice", CreatedAt: testTime, UpdatedAt: testTime}},
				raw: map[string]map[string][]byte{
					"enrollments": {"alice\x00good": goodV4, key: c.value},
					"counters":    {"alice\x00good": make([]byte, counterValueLen), key: make([]byte, counterValueLen)},
				},
			}.write(t, path)

			_, err := Open(path, testKey, Options{})
			if err == nil || !strings.Contains(err.Error(), "schema migration 5") ||
				!strings.Contains(err.Error(), c.want) {
				t.Fatalf("Open: %v\nwant an error containing %q", err, c.want)
			}
			if v := storedVersion(t, path); v != 4 {
				t.Errorf("failed migration left version %d, want 4", v)
			}
			want := map[string][]byte{"alice\x00good": goodV4, key: c.value}
			if got := bucketValues(t, path, bucketEnrollments); !maps.EqualFunc(got, want, bytes.Equal) {
				t.Errorf("failed migration rewrote enrollment records: %x", got)
			}
		})
	}
}
