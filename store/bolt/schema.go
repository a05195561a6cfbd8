package bolt

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"go.etcd.io/bbolt"

	"radiusmfa/store"
)

// Buckets, declared once. Every key layout is described here so the whole
// file format can be read in one place.
var (
	// bucketMeta holds schema_version, the master key check value, the
	// run-time settings and the sealed server secrets.
	bucketMeta = []byte("meta")
	// bucketUsers maps a user name to its store.User in the binary user
	// layout (records.go): format 0x03, with the directory and profile, since
	// schema version 4; format 0x01 in version 3; JSON before.
	bucketUsers = []byte("users")
	// bucketEnrollments maps user "\x00" id to an enrollmentRecord, whose
	// secret is sealed, in the binary enrollment layout (records.go): format
	// 0x04, with the preference, expiry, use limit and creator, since schema
	// version 5; format 0x02 in versions 3 and 4; JSON before. The separator
	// makes a user's enrollments one contiguous, prefix-scannable range;
	// names cannot contain it.
	bucketEnrollments = []byte("enrollments")
	// bucketCounters maps the same user "\x00" id keys to the enrollment's
	// replay state, a fixed 16-byte counterState (counters.go). It sits apart
	// so the login path reads 8 bytes and writes 16 instead of rewriting the
	// enrollment record (since schema version 2).
	//
	// Invariant: a key is in bucketCounters exactly when it is in
	// bucketEnrollments; every write to one changes the other in the same
	// transaction. AdvanceCounter relies on it to tell an unknown enrollment
	// without reading the record.
	bucketCounters = []byte("counters")
	// bucketLockouts maps a user name (known or not) to its JSON store.Lockout.
	bucketLockouts = []byte("lockouts")
	// bucketAudit maps a big-endian uint64 sequence to a JSON store.AuditRecord,
	// so cursor order is append order and pruning starts at First.
	bucketAudit = []byte("audit")
)

// Keys in bucketMeta.
var (
	metaSchemaVersion = []byte("schema_version") // big-endian uint64
	metaKeyCheck      = []byte("key_check")      // a known constant, sealed
	// metaSettings holds the JSON store.Settings, written by UpdateSettings
	// (settings.go). Absent until the first update: the settings are then the
	// zero value, so no migration creates it. Since schema version 5.
	metaSettings = []byte("settings")
	// metaServerSecretPrefix + name holds a server secret (serversecrets.go),
	// sealed and bound to its name. Absent until the first
	// PutServerSecretIfAbsent: a file without one simply has no secret, and
	// older code never reads these keys, so they need no migration and no
	// schema version.
	metaServerSecretPrefix = "secret/"
)

// maxNameLen bounds user names and enrollment ids. RADIUS caps User-Name at
// 253 bytes; the margin leaves room for directory names without letting a
// caller build huge keys.
const maxNameLen = 1024

// keySep separates user and enrollment id in bucketEnrollments and
// bucketCounters keys.
const keySep = "\x00"

// enrollmentRecord is the stored form of an enrollment's settings. User and
// ID come from the key, the secret is stored only sealed, and Counter and
// LastUsedAt live in bucketCounters, so nothing on the login path rewrites
// this record. Its encoding is in records.go;
// TestEnrollmentRecordCoversEnrollment fails when store.Enrollment gains a
// field that is stored nowhere, and TestRecordCodecsCarryEveryField when this
// struct gains one the encoding drops.
type enrollmentRecord struct {
	Kind         string
	Label        string
	Digits       int
	Algorithm    string
	Period       int
	Disabled     bool
	CreatedAt    time.Time
	SealedSecret []byte
	// Since schema version 5 (format 0x04); zero in older records.
	Preferred bool
	ExpiresAt time.Time
	MaxUses   int
	CreatedBy string
}

// newEnrollmentRecord is the record of e, whose secret is already sealed.
func newEnrollmentRecord(e store.Enrollment, sealed []byte) enrollmentRecord {
	return enrollmentRecord{
		Kind: e.Kind, Label: e.Label, Digits: e.Digits, Algorithm: e.Algorithm,
		Period: e.Period, Disabled: e.Disabled, CreatedAt: e.CreatedAt, SealedSecret: sealed,
		Preferred: e.Preferred, ExpiresAt: e.ExpiresAt, MaxUses: e.MaxUses, CreatedBy: e.CreatedBy,
	}
}

// enrollment joins the record with what is stored elsewhere: the key's user
// and id, the opened secret and the replay state.
func (r enrollmentRecord) enrollment(user, id string, secret []byte, st counterState) store.Enrollment {
	return store.Enrollment{
		ID: id, User: user, Kind: r.Kind, Label: r.Label, Secret: secret,
		Digits: r.Digits, Algorithm: r.Algorithm, Period: r.Period, Counter: st.Counter,
		Disabled: r.Disabled, CreatedAt: r.CreatedAt, LastUsedAt: st.LastUsedAt,
		Preferred: r.Preferred, ExpiresAt: r.ExpiresAt, MaxUses: r.MaxUses, CreatedBy: r.CreatedBy,
	}
}

// checkName rejects names a key cannot hold unambiguously.
func checkName(kind, name string) error {
	switch {
	case name == "":
		return fmt.Errorf("bolt: empty %s", kind)
	case len(name) > maxNameLen:
		return fmt.Errorf("bolt: %s longer than %d bytes", kind, maxNameLen)
	case strings.Contains(name, keySep):
		return fmt.Errorf("bolt: %s %q contains a NUL byte", kind, name)
	}
	return nil
}

// enrollmentKey is the bucketEnrollments and bucketCounters key of (user, id).
func enrollmentKey(user, id string) []byte {
	return []byte(user + keySep + id)
}

// enrollmentPrefix is the key prefix shared by every enrollment of user.
func enrollmentPrefix(user string) []byte {
	return []byte(user + keySep)
}

// encode and decode are the JSON of the records that stay JSON (lockouts,
// audit) and of the records of versions 1 and 2, read by the migrations.
func encode(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("bolt: encode %T: %w", v, err)
	}
	return b, nil
}

func decode(b []byte, v any) error {
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("bolt: decode %T: %w", v, err)
	}
	return nil
}

// migration moves the layout from version-1 to version. Each one runs inside
// the Open transaction, so a failure leaves the file at its old version.
type migration struct {
	version int
	name    string
	apply   func(tx *bbolt.Tx) error
}

// migrations, in order; the last one's version is what this code writes. Add
// new steps at the end and never edit a released one.
var migrations = []migration{
	{version: 1, name: "initial buckets", apply: createBuckets(
		bucketUsers, bucketEnrollments, bucketLockouts, bucketAudit)},
	{version: 2, name: "replay counters in their own bucket", apply: splitCounters},
	{version: 3, name: "binary user and enrollment records", apply: binaryRecords},
	{version: 4, name: "user directory and profile", apply: userProfileRecords},
	{version: 5, name: "enrollment preference, expiry, use limit and creator", apply: enrollmentFormat2Records},
}

// enforcementVersion is the first schema version of the code with
// run-time enforcement settings (auth.enforcement).
const enforcementVersion = 5

// schemaVersion is the newest layout this code understands.
func schemaVersion() int { return migrations[len(migrations)-1].version }

func createBuckets(names ...[]byte) func(tx *bbolt.Tx) error {
	return func(tx *bbolt.Tx) error {
		for _, name := range names {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return fmt.Errorf("create bucket %s: %w", name, err)
			}
		}
		return nil
	}
}

// migrate applies every migration newer than the stored version and returns
// the versions before and after. A file written by newer code is refused
// rather than guessed at: its records may mean something this code does not
// know.
func migrate(tx *bbolt.Tx) (from, to int, err error) {
	meta, err := tx.CreateBucketIfNotExists(bucketMeta)
	if err != nil {
		return 0, 0, fmt.Errorf("create bucket %s: %w", bucketMeta, err)
	}
	from, err = readVersion(meta)
	if err != nil {
		return 0, 0, err
	}
	if from > schemaVersion() {
		return from, from, fmt.Errorf("database schema version %d is newer than this "+
			"radiusmfa supports (%d): upgrade radiusmfa or restore a backup", from, schemaVersion())
	}
	to = from
	if from >= 1 && from < enforcementVersion {
		// Before version 5 the only MFA mode was "required" (users with
		// no device refused, the rest asked for a code), while
		// auth.enforcement, which came with version 5, defaults to "off".
		// The upgrade keeps what the file's users had: a pending setting
		// (UpdatedAt zero) that serve confirms against the configuration.
		if err := putPreEnforcementSettings(tx, from); err != nil {
			return from, to, fmt.Errorf("schema migration %d (MFA required before enforcement settings): %w", enforcementVersion, err)
		}
	}
	for _, m := range migrations {
		if m.version <= from {
			continue
		}
		if err := m.apply(tx); err != nil {
			return from, to, fmt.Errorf("schema migration %d (%s): %w", m.version, m.name, err)
		}
		to = m.version
		if err := writeVersion(meta, to); err != nil {
			return from, to, err
		}
	}
	return from, to, nil
}

func readVersion(meta *bbolt.Bucket) (int, error) {
	v := meta.Get(metaSchemaVersion)
	if v == nil {
		return 0, nil // a new file
	}
	if len(v) != 8 {
		return 0, fmt.Errorf("corrupt schema version (%d bytes)", len(v))
	}
	n := binary.BigEndian.Uint64(v)
	if n > 1<<31 {
		return 0, fmt.Errorf("corrupt schema version %d", n)
	}
	return int(n), nil
}

func writeVersion(meta *bbolt.Bucket, version int) error {
	return meta.Put(metaSchemaVersion, binary.BigEndian.AppendUint64(nil, uint64(version)))
}
