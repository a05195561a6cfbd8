package bolt

import (
	"fmt"

	"go.etcd.io/bbolt"
)

// userProfileRecords is migration 4: it rewrites every user record from
// format 0x01 into format 0x03, which adds the directory and the profile
// (empty for every old user: version 3 knew only built-in users). Version 3
// code refuses a version-4 file, so it never reads a record it would take
// for corrupt; rewriting them all leaves one user layout in the file.
// Enrollment records keep their layout.
func userProfileRecords(tx *bbolt.Tx) error {
	return rewriteValues(tx.Bucket(bucketUsers), "user", userFormat1To2)
}

func userFormat1To2(key, v []byte) ([]byte, error) {
	// decodeUser reads both layouts, but version 3 never wrote the new one:
	// finding it here means the file is not what its version says.
	if len(v) > 0 && v[0] == userFormat2 {
		return nil, fmt.Errorf("record already in format %#02x at schema version 3", userFormat2)
	}
	u, err := decodeUser(string(key), v)
	if err != nil {
		return nil, err
	}
	return encodeUser(u)
}
