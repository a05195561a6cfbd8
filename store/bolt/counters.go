package bolt

import (
	"encoding/binary"
	"fmt"
	"time"
)

// counterValueLen is the size of a bucketCounters value: the counter, then
// LastUsedAt as Unix nanoseconds, both big-endian. A fixed binary layout lets
// the login path compare the counter without decoding anything.
const counterValueLen = 16

// counterState is an enrollment's replay state, the value in bucketCounters.
type counterState struct {
	Counter    uint64    // last accepted counter
	LastUsedAt time.Time // when it was accepted; zero: never
}

// encode returns the 16-byte value of s. The zero time is stored as 0
// (unixNanos).
func (s counterState) encode() ([]byte, error) {
	nanos, err := unixNanos("last-used time", s.LastUsedAt)
	if err != nil {
		return nil, err
	}
	v := make([]byte, counterValueLen)
	binary.BigEndian.PutUint64(v, s.Counter)
	binary.BigEndian.PutUint64(v[8:], uint64(nanos))
	return v, nil
}

// decodeCounterState reads a bucketCounters value. Times come back in UTC.
func decodeCounterState(v []byte) (counterState, error) {
	c, err := storedCounter(v)
	if err != nil {
		return counterState{}, err
	}
	nanos := int64(binary.BigEndian.Uint64(v[8:]))
	return counterState{Counter: c, LastUsedAt: timeOfNanos(nanos)}, nil
}

// storedCounter reads only the counter of a bucketCounters value: all the
// login path needs.
func storedCounter(v []byte) (uint64, error) {
	if len(v) != counterValueLen {
		return 0, fmt.Errorf("bolt: corrupt counter value (%d bytes, want %d)", len(v), counterValueLen)
	}
	return binary.BigEndian.Uint64(v), nil
}
