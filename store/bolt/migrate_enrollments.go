package bolt

import (
	"fmt"

	"go.etcd.io/bbolt"
)

// enrollmentFormat2Records is migration 5: it rewrites every enrollment
// record from format 0x02 into format 0x04, which adds the preferred flag,
// the expiry, the use limit and the creator (none of them set for any old
// enrollment: version 4 knew none). Sealed secrets are carried over as stored
// bytes; their binding to (user, id) is unchanged because the keys are.
// Version 4 code refuses a version-5 file, so it never reads a record it
// would take for corrupt; rewriting them all leaves one enrollment layout in
// the file. User records and bucketCounters keep theirs.
func enrollmentFormat2Records(tx *bbolt.Tx) error {
	return rewriteValues(tx.Bucket(bucketEnrollments), "enrollment", enrollmentFormat1To2)
}

func enrollmentFormat1To2(_, v []byte) ([]byte, error) {
	// decodeEnrollmentRecord reads both layouts, but version 4 never wrote
	// the new one: finding it here means the file is not what its version
	// says.
	if len(v) > 0 && v[0] == enrollmentFormat2 {
		return nil, fmt.Errorf("record already in format %#02x at schema version 4", enrollmentFormat2)
	}
	rec, err := decodeEnrollmentRecord(v)
	if err != nil {
		return nil, err
	}
	return rec.encode()
}
