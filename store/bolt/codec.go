package bolt

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"
)

// The primitives of the binary record layouts (records.go): uvarints, zig-zag
// varints, length-prefixed byte strings and fixed 8-byte times. Decoding is
// strict so that a value has exactly one encoding: a corrupt or foreign value
// fails loudly instead of reading back as something plausible.

// Unix nanoseconds cover these instants (years 1677 to 2262); a time outside
// them is refused on write rather than stored wrapped around.
var (
	minStorableTime = time.Unix(0, math.MinInt64)
	maxStorableTime = time.Unix(0, math.MaxInt64)
)

// unixNanos is t in Unix nanoseconds, 0 for the zero time; what names the
// field in the error. The instant of the Unix epoch itself is therefore read
// back as the zero time; nothing radiusmfa stamps falls on it.
func unixNanos(what string, t time.Time) (int64, error) {
	if t.IsZero() {
		return 0, nil
	}
	if t.Before(minStorableTime) || t.After(maxStorableTime) {
		return 0, fmt.Errorf("bolt: %s %v outside the storable range %d–%d",
			what, t, minStorableTime.Year(), maxStorableTime.Year())
	}
	return t.UnixNano(), nil
}

// timeOfNanos reverses unixNanos. Times come back in UTC.
func timeOfNanos(nanos int64) time.Time {
	if nanos == 0 {
		return time.Time{}
	}
	return time.Unix(0, nanos).UTC()
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendBytes(b, p []byte) []byte {
	b = binary.AppendUvarint(b, uint64(len(p)))
	return append(b, p...)
}

// appendCount appends the number of items that follow.
func appendCount(b []byte, n int) []byte {
	return binary.AppendUvarint(b, uint64(n))
}

// appendInt appends v as a zig-zag varint.
func appendInt(b []byte, v int) []byte {
	return binary.AppendVarint(b, int64(v))
}

func appendNanos(b []byte, nanos int64) []byte {
	return binary.BigEndian.AppendUint64(b, uint64(nanos))
}

// Decoding errors. They describe the bytes, never repeat them: a record holds
// a sealed secret and a password hash.
var (
	errTruncated  = errors.New("truncated")
	errNonMinimal = errors.New("varint not minimally encoded")
)

// recordReader consumes an encoded record front to back. The first failure
// sticks: later reads return zero values, and err reports the first.
type recordReader struct {
	rest []byte
	err  error
}

func (r *recordReader) fail(err error) {
	if r.err == nil {
		r.err = err
	}
	r.rest = nil
}

func (r *recordReader) byte() byte {
	if len(r.rest) < 1 {
		r.fail(errTruncated)
		return 0
	}
	c := r.rest[0]
	r.rest = r.rest[1:]
	return c
}

// uvarint reads a minimally encoded uvarint: a non-minimal one ends in a 0x00
// continuation byte, which a different encoder could have chosen for the same
// value.
func (r *recordReader) uvarint() uint64 {
	v, n := binary.Uvarint(r.rest)
	switch {
	case n == 0:
		r.fail(errTruncated)
		return 0
	case n < 0:
		r.fail(errors.New("varint overflows 64 bits"))
		return 0
	case n > 1 && r.rest[n-1] == 0:
		r.fail(errNonMinimal)
		return 0
	}
	r.rest = r.rest[n:]
	return v
}

// int reads a zig-zag varint that must fit an int.
func (r *recordReader) int() int {
	u := r.uvarint()
	v := int64(u>>1) ^ -int64(u&1)
	if int64(int(v)) != v {
		r.fail(fmt.Errorf("integer %d overflows int", v))
		return 0
	}
	return int(v)
}

// bytes reads a length-prefixed byte string. The result aliases the input.
// The length is checked against what is left before anything is sliced or
// allocated, so a corrupt length cannot cost more than the record's size.
func (r *recordReader) bytes() []byte {
	n := r.uvarint()
	if r.err != nil {
		return nil
	}
	if n > uint64(len(r.rest)) {
		r.fail(fmt.Errorf("length %d exceeds the %d bytes left", n, len(r.rest)))
		return nil
	}
	p := r.rest[:n:n]
	r.rest = r.rest[n:]
	return p
}

func (r *recordReader) string() string {
	return string(r.bytes())
}

// count reads the number of the items that follow, each at least one byte
// long: a count larger than what is left is corrupt.
func (r *recordReader) count() int {
	n := r.uvarint()
	if r.err == nil && n > uint64(len(r.rest)) {
		r.fail(fmt.Errorf("count %d exceeds the %d bytes left", n, len(r.rest)))
		return 0
	}
	return int(n)
}

func (r *recordReader) time() time.Time {
	if len(r.rest) < 8 {
		r.fail(errTruncated)
		return time.Time{}
	}
	nanos := int64(binary.BigEndian.Uint64(r.rest))
	r.rest = r.rest[8:]
	return timeOfNanos(nanos)
}

// flags reads a flag byte, refusing bits outside known.
func (r *recordReader) flags(known byte) byte {
	f := r.byte()
	if f&^known != 0 {
		r.fail(fmt.Errorf("unknown flags %#02x", f&^known))
		return 0
	}
	return f
}

// finish reports the first failure, or trailing bytes after a complete record.
func (r *recordReader) finish() error {
	if r.err == nil && len(r.rest) != 0 {
		r.err = fmt.Errorf("%d trailing bytes", len(r.rest))
	}
	return r.err
}
