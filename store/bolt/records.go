package bolt

import (
	"fmt"
	"slices"
	"strings"

	"radiusmfa/store"
)

// Binary layouts of the bucketUsers and bucketEnrollments values (schema
// version 5). Every login reads both, and decoding them by hand costs a
// fraction of what encoding/json's reflection and RFC 3339 parsing did.
//
// A value starts with a format byte naming its layout, so a later layout can
// be introduced record by record and told apart from this one. Strings and
// byte strings are a uvarint length then the bytes; integers are zig-zag
// varints; times are big-endian int64 Unix nanoseconds, 0 for the zero time;
// booleans are bits of a flags byte. A decoder accepts exactly what its
// encoders write: anything truncated, trailing, over-long or non-minimal is
// an error.
//
//	user (format 0x03):       password_hash, roles (uvarint count, then each
//	                          string), flags (bit 0: disabled), created_at,
//	                          updated_at, directory, display_name, mail,
//	                          phone. The name is the key. Since version 4.
//	user (format 0x01):       the same up to updated_at, with no directory or
//	                          profile. Version 3 wrote it; migration 4
//	                          rewrites it as 0x03, and decodeUser still reads
//	                          it (as a built-in user with no profile).
//	enrollment (format 0x04): kind, label, digits, algorithm, period, flags
//	                          (bit 0: disabled, bit 1: preferred),
//	                          created_at, sealed_secret, expires_at,
//	                          max_uses, created_by. User and id are the key;
//	                          counter and last use are bucketCounters. Since
//	                          version 5.
//	enrollment (format 0x02): the same up to sealed_secret, with no preferred
//	                          flag, expiry, use limit or creator. Versions 3
//	                          and 4 wrote it; migration 5 rewrites it as 0x04,
//	                          and decodeEnrollmentRecord still reads it (as
//	                          an enrollment with none of them).
//
// The formats differ so that a value under the wrong bucket fails to decode.
// None is '{', the first byte of the JSON records of versions 1 and 2.
const (
	userFormat1       = 0x01
	enrollmentFormat1 = 0x02
	userFormat2       = 0x03
	enrollmentFormat2 = 0x04
)

// Flag bits. Format 0x04 enrollments know both; users and format 0x02
// enrollments know only flagDisabled.
const (
	flagDisabled  = 1 << 0
	flagPreferred = 1 << 1
)

// encodeUser is the bucketUsers value of u in the current user layout
// (format 0x03); u.Name is the key and is not repeated in the value.
func encodeUser(u store.User) ([]byte, error) {
	p := u.Profile
	b, err := appendUserFormat1Fields(userFormat2, u,
		4*10+len(u.Directory)+len(p.DisplayName)+len(p.Mail)+len(p.Phone))
	if err != nil {
		return nil, err
	}
	b = appendString(b, u.Directory)
	b = appendString(b, p.DisplayName)
	b = appendString(b, p.Mail)
	return appendString(b, p.Phone), nil
}

// encodeUserFormat1 is u in the user layout of version 3 (format 0x01).
// Migration 3 writes it, as a step produces the layout of its own version
// whatever came after. The layout has no room for a directory or profile, so
// a user with either is refused rather than stored without it.
func encodeUserFormat1(u store.User) ([]byte, error) {
	if u.Directory != "" || u.Profile != (store.Profile{}) {
		return nil, fmt.Errorf("bolt: user %q: format %#02x holds no directory or profile",
			u.Name, userFormat1)
	}
	return appendUserFormat1Fields(userFormat1, u, 0)
}

// appendUserFormat1Fields starts a user value with format and the fields
// both user layouts share, with capacity for extra bytes more.
func appendUserFormat1Fields(format byte, u store.User, extra int) ([]byte, error) {
	created, err := unixNanos("created_at", u.CreatedAt)
	if err != nil {
		return nil, err
	}
	updated, err := unixNanos("updated_at", u.UpdatedAt)
	if err != nil {
		return nil, err
	}
	size := 1 + 10 + len(u.PasswordHash) + 10 + 1 + 16 + extra
	for _, role := range u.Roles {
		size += 10 + len(role)
	}
	b := make([]byte, 0, size)
	b = append(b, format)
	b = appendString(b, u.PasswordHash)
	b = appendCount(b, len(u.Roles))
	for _, role := range u.Roles {
		b = appendString(b, role)
	}
	b = append(b, flagsOf(u.Disabled))
	b = appendNanos(b, created)
	return appendNanos(b, updated), nil
}

// decodeUser reads the bucketUsers value v stored under name, in either user
// layout; one in format 0x01 has no directory or profile. No role list
// decodes as nil, as with the JSON of earlier versions.
func decodeUser(name string, v []byte) (store.User, error) {
	r := recordReader{rest: v}
	format := r.format(userFormat2, userFormat1)
	u := store.User{Name: name, PasswordHash: r.string()}
	if n := r.count(); n > 0 {
		u.Roles = make([]string, n)
		for i := range u.Roles {
			u.Roles[i] = r.string()
		}
	}
	u.Disabled = r.flags(flagDisabled)&flagDisabled != 0
	u.CreatedAt = r.time()
	u.UpdatedAt = r.time()
	if format == userFormat2 {
		u.Directory = r.knownString()
		u.Profile = store.Profile{DisplayName: r.string(), Mail: r.string(), Phone: r.string()}
	}
	if err := r.finish(); err != nil {
		return store.User{}, fmt.Errorf("bolt: user %q: corrupt record: %w", name, err)
	}
	return u, nil
}

// encode is the bucketEnrollments value of r in the current enrollment
// layout (format 0x04).
func (r enrollmentRecord) encode() ([]byte, error) {
	expires, err := unixNanos("expires_at", r.ExpiresAt)
	if err != nil {
		return nil, err
	}
	b, err := r.appendFormat1Fields(enrollmentFormat2, 8+10+10+len(r.CreatedBy))
	if err != nil {
		return nil, err
	}
	b = appendNanos(b, expires)
	b = appendInt(b, r.MaxUses)
	return appendString(b, r.CreatedBy), nil
}

// encodeFormat1 is r in the enrollment layout of versions 3 and 4 (format
// 0x02). Migration 3 writes it, as a step produces the layout of its own
// version whatever came after. The layout has no room for a preference,
// expiry, use limit or creator, so a record with any is refused rather than
// stored without it.
func (r enrollmentRecord) encodeFormat1() ([]byte, error) {
	if r.Preferred || !r.ExpiresAt.IsZero() || r.MaxUses != 0 || r.CreatedBy != "" {
		return nil, fmt.Errorf("bolt: format %#02x holds no preference, expiry, use limit or creator",
			enrollmentFormat1)
	}
	return r.appendFormat1Fields(enrollmentFormat1, 0)
}

// appendFormat1Fields starts an enrollment value with format and the fields
// both enrollment layouts share, with capacity for extra bytes more.
func (r enrollmentRecord) appendFormat1Fields(format byte, extra int) ([]byte, error) {
	created, err := unixNanos("created_at", r.CreatedAt)
	if err != nil {
		return nil, err
	}
	size := 1 + 10 + len(r.Kind) + 10 + len(r.Label) + 10 + 10 + len(r.Algorithm) + 10 + 1 + 8 +
		10 + len(r.SealedSecret) + extra
	flags := flagsOf(r.Disabled)
	if r.Preferred {
		flags |= flagPreferred
	}
	b := make([]byte, 0, size)
	b = append(b, format)
	b = appendString(b, r.Kind)
	b = appendString(b, r.Label)
	b = appendInt(b, r.Digits)
	b = appendString(b, r.Algorithm)
	b = appendInt(b, r.Period)
	b = append(b, flags)
	b = appendNanos(b, created)
	return appendBytes(b, r.SealedSecret), nil
}

// decodeEnrollmentRecord reads a bucketEnrollments value in either
// enrollment layout; one in format 0x02 has no preference, expiry, use limit
// or creator. SealedSecret aliases v, so the record is only good while v is
// (inside its transaction); opening the secret copies it.
func decodeEnrollmentRecord(v []byte) (enrollmentRecord, error) {
	r := recordReader{rest: v}
	format := r.format(enrollmentFormat2, enrollmentFormat1)
	known := byte(flagDisabled)
	if format == enrollmentFormat2 {
		known |= flagPreferred
	}
	rec := enrollmentRecord{
		Kind:      r.knownString(),
		Label:     r.string(),
		Digits:    r.int(),
		Algorithm: r.knownString(),
		Period:    r.int(),
	}
	flags := r.flags(known)
	rec.Disabled = flags&flagDisabled != 0
	rec.Preferred = flags&flagPreferred != 0
	rec.CreatedAt = r.time()
	rec.SealedSecret = r.bytes()
	if format == enrollmentFormat2 {
		rec.ExpiresAt = r.time()
		rec.MaxUses = r.int()
		rec.CreatedBy = r.string()
	}
	if err := r.finish(); err != nil {
		return enrollmentRecord{}, fmt.Errorf("bolt: corrupt enrollment record: %w", err)
	}
	return rec, nil
}

// format reads the leading format byte and returns it when it is one of
// want, the formats the caller reads.
func (r *recordReader) format(want ...byte) byte {
	got := r.byte()
	switch {
	case r.err != nil:
		return 0
	case slices.Contains(want, got):
		return got
	case got == '{':
		r.fail(fmt.Errorf("a JSON record (format %s expected): the schema version "+
			"does not match the records", formatList(want)))
	default:
		r.fail(fmt.Errorf("unknown record format %#02x (want %s)", got, formatList(want)))
	}
	return 0
}

// formatList names formats for an error: "0x3 or 0x1".
func formatList(formats []byte) string {
	names := make([]string, len(formats))
	for i, f := range formats {
		names[i] = fmt.Sprintf("%#02x", f)
	}
	return strings.Join(names, " or ")
}

// knownString reads a string, sharing the constant for the values nearly
// every enrollment (or directory user) holds instead of allocating a copy per
// login.
func (r *recordReader) knownString() string {
	switch b := r.bytes(); string(b) {
	case "ldap":
		return "ldap"
	case "totp":
		return "totp"
	case "hotp":
		return "hotp"
	case "SHA1":
		return "SHA1"
	case "SHA256":
		return "SHA256"
	case "SHA512":
		return "SHA512"
	default:
		return string(b)
	}
}

func flagsOf(disabled bool) byte {
	if disabled {
		return flagDisabled
	}
	return 0
}
