package radiusd

import (
	"encoding/binary"
	"slices"
)

// replyLog keeps one cache shard's replies in the order they were stored,
// packed into chunks of bytes, where the collector has no pointer to
// follow. A record is a header (the request's key, the reply's expiry and
// length) and the reply. Every reply expires the cache's ttl after it was
// stored, so records expire in about the order they were written: expire
// reads from the oldest and frees a chunk once it has read past its end.
//
// Chunks are numbered from the first ever made, modulo 2^32 (the numbers
// of the chunks held at once never span that many); an entry names its
// record by chunk number and offset. Not safe for concurrent use (the
// shard's lock guards it).
type replyLog struct {
	chunks [][]byte // chunks[i] is chunk number base+i; the last is being filled
	base   uint32
	head   int // offset of the oldest record in chunks[0]
}

const (
	// A chunk's size, or one reply's when larger (alone in its chunk, at
	// offset 0): an offset fits in 16 bits.
	logChunkSize = 8 << 10
	// A record header: the key (address 16, port 2, code, Identifier,
	// authenticator 16), the expiry (8) and the reply's length (4).
	recHeader = 48
)

// add appends k's reply, expiring at expires, and returns where it is.
func (l *replyLog) add(k *cacheKey, expires int64, reply []byte) (chunk uint32, off uint16) {
	need := recHeader + len(reply)
	last := len(l.chunks) - 1
	if last < 0 || cap(l.chunks[last])-len(l.chunks[last]) < need {
		l.chunks = append(l.chunks, make([]byte, 0, max(logChunkSize, need)))
		last++
	}
	c := l.chunks[last]
	at := len(c)
	var h [recHeader]byte
	copy(h[0:16], k.addr[:])
	binary.LittleEndian.PutUint16(h[16:18], k.port)
	h[18], h[19] = k.code, k.id
	copy(h[20:36], k.auth[:])
	binary.LittleEndian.PutUint64(h[36:44], uint64(expires))
	binary.LittleEndian.PutUint32(h[44:48], uint32(len(reply)))
	c = append(c, h[:]...)
	l.chunks[last] = append(c, reply...)
	return l.base + uint32(last), uint16(at)
}

// record is the key, the expiry and the reply of the record at chunk and
// off. The reply points into the log: copy it before the shard's lock is
// released.
func (l *replyLog) record(chunk uint32, off uint16) (k cacheKey, expires int64, reply []byte) {
	c := l.chunks[chunk-l.base]
	h := c[int(off) : int(off)+recHeader]
	n := int(binary.LittleEndian.Uint32(h[44:48]))
	return headerKey(h), int64(binary.LittleEndian.Uint64(h[36:44])), c[int(off)+recHeader : int(off)+recHeader+n]
}

// headerKey is the key in the record header h.
func headerKey(h []byte) (k cacheKey) {
	copy(k.addr[:], h[0:16])
	k.port = binary.LittleEndian.Uint16(h[16:18])
	k.code, k.id = h[18], h[19]
	copy(k.auth[:], h[20:36])
	return k
}

// expire drops the records expired at now, oldest first, stopping at the
// first that has not expired, and calls drop with each one's key and place.
func (l *replyLog) expire(now int64, drop func(k *cacheKey, chunk uint32, off uint16)) {
	for len(l.chunks) > 0 {
		c := l.chunks[0]
		if len(c) == 0 {
			return // nothing stored since the last record was read
		}
		if l.head >= len(c) {
			switch {
			case len(l.chunks) == 1 && cap(c) == logChunkSize:
				// Every record read: the chunk being filled starts over,
				// under a new number (no entry names its old records).
				l.chunks[0] = c[:0]
			case len(l.chunks) == 1: // one large reply's: not kept
				l.chunks[0] = nil
				l.chunks = l.chunks[:0]
			default:
				l.chunks = slices.Delete(l.chunks, 0, 1) // which clears the slot left behind
			}
			l.base++
			l.head = 0
			if len(l.chunks) == 0 || len(l.chunks[0]) == 0 {
				return
			}
			continue
		}
		h := c[l.head : l.head+recHeader]
		if now < int64(binary.LittleEndian.Uint64(h[36:44])) {
			return
		}
		k := headerKey(h)
		drop(&k, l.base, uint16(l.head))
		l.head += recHeader + int(binary.LittleEndian.Uint32(h[44:48]))
	}
}
