package bolt

import (
	"encoding/binary"
	"fmt"
	"math"
	"time"
)

// counterValueLen is the size of a bucketCounters value: the counter, then
// LastUsedAt as Unix nanoseconds, both big-endian. A fixed binary layout lets
// the login path compare the counter without decoding anything.
const counterValueLen = 16

// Unix nanoseconds cover these instants (years 1678 to 2262); LastUsedAt
// outside them is refused rather than stored wrapped around.
var (
	minCounterTime = time.Unix(0, math.MinInt64)
	maxCounterTime = time.Unix(0, math.MaxInt64)
)

// counterState is an enrollment's replay state, the value in bucketCounters.
type counterState struct {
	Counter    uint64    // last accepted counter
	LastUsedAt time.Time // when it was accepted; zero: never
}

// encode returns the 16-byte value of s. The zero time is stored as 0, so the
// instant of the Unix epoch itself reads back as "never"; no real login falls
// on it.
func (s counterState) encode() ([]byte, error) {
	var nanos int64
	if !s.LastUsedAt.IsZero() {
		if s.LastUsedAt.Before(minCounterTime) || s.LastUsedAt.After(maxCounterTime) {
			return nil, fmt.Errorf("bolt: last-used time %v outside the storable range %d–%d",
				s.LastUsedAt, minCounterTime.Year(), maxCounterTime.Year())
		}
		nanos = s.LastUsedAt.UnixNano()
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
	s := counterState{Counter: c}
	if nanos := int64(binary.BigEndian.Uint64(v[8:])); nanos != 0 {
		s.LastUsedAt = time.Unix(0, nanos).UTC()
	}
	return s, nil
}

// storedCounter reads only the counter of a bucketCounters value: all the
// login path needs.
func storedCounter(v []byte) (uint64, error) {
	if len(v) != counterValueLen {
		return 0, fmt.Errorf("bolt: corrupt counter value (%d bytes, want %d)", len(v), counterValueLen)
	}
	return binary.BigEndian.Uint64(v), nil
}
