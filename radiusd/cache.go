package radiusd

import (
	"bytes"
	"encoding/binary"
	"hash/maphash"
	"net/netip"
	"sync"
	"sync/atomic"
)

// cacheKey identifies a request (RFC 5080 §2.2.2): its source, Identifier
// and Request Authenticator. The code keeps authentication and accounting
// requests apart. It holds no pointer (the address as 16 bytes, not a
// netip.Addr), so the cache's maps are never scanned by the collector. An
// IPv6 zone is left out, and an IPv4 address and its IPv4-mapped IPv6 form
// are one key (the client table makes the same choice): two such sources
// would also need the same port, Identifier and random authenticator to
// meet.
type cacheKey struct {
	addr [16]byte
	port uint16
	code byte
	id   byte
	auth [16]byte
}

// newCacheKey is the key of the request from src whose header is hdr.
func newCacheKey(src netip.AddrPort, hdr []byte) cacheKey {
	return cacheKey{addr: src.Addr().As16(), port: src.Port(), code: hdr[0], id: hdr[1], auth: [16]byte(hdr[4:headerLen])}
}

// cacheEntry is a pending request (!done) or a finished one whose reply,
// with its expiry, is the record at chunk and off of its shard's log (8
// bytes: the map of a busy cache is large). A finished request whose reply
// is empty got no reply (unanswered).
type cacheEntry struct {
	chunk uint32
	off   uint16
	done  bool
}

// cacheStatus is what begin found.
type cacheStatus int

const (
	cacheNew     cacheStatus = iota // entry created pending: the caller owns it
	cachePending                    // the same request is being processed
	cacheDone                       // a reply exists: resend it
	cacheFull                       // no room: drop the request
)

const (
	cacheShardBits = 6
	cacheShards    = 1 << cacheShardBits
)

type cacheShard struct {
	mu sync.Mutex
	// m is keyed by the seeded hash of the request's key (replyCache.hash):
	// 16 bytes a slot instead of 44. A finished entry's record holds the
	// whole key, which begin checks; two requests pending at once under
	// one hash (about 1 in 10^9 with 200,000 cached, and not something a
	// sender can aim for without the seed) would make the second a
	// duplicate, dropped until the first is answered.
	m     map[uint64]cacheEntry
	log   replyLog
	swept int64 // last lazy sweep
	// 64 bytes as it is: shards, which start the cache, share no cache
	// line when the cache starts on one, so their locks do not contend
	// for a line (TestCacheShardFillsCacheLines).
}

// replyCache is the RFC 5080 duplicate-detection cache. It is sharded so
// that concurrent requests rarely contend, and bounded: an entry lives while
// its request is pending and for ttl after the reply.
//
// Under load it holds a few hundred thousand replies (ttl × requests per
// second), which the collector must not trace one by one: each shard
// keeps its replies in the order they were stored, packed into byte chunks
// (replyLog), and its map holds only numbers. A sweep reads the log from
// its oldest record, so it touches expired replies only.
type replyCache struct {
	shards   [cacheShards]cacheShard
	seed     maphash.Seed
	ttl      int64
	perShard int
	n        atomic.Int64 // entries, for the gauge
}

func newReplyCache(ttl int64, size int) *replyCache {
	c := &replyCache{ttl: ttl, perShard: max(size/cacheShards, 1), seed: maphash.MakeSeed()}
	for i := range c.shards {
		c.shards[i].m = make(map[uint64]cacheEntry)
	}
	return c
}

// shard picks the shard of k from all of the Request Authenticator (random
// for Access-Request, an MD5 for Accounting-Request, but a counter in some
// weak clients), the Identifier and the port, mixed so that any varying byte
// spreads requests over every shard.
func (c *replyCache) shard(k *cacheKey) *cacheShard {
	a := k.auth[:]
	h := binary.LittleEndian.Uint32(a[0:4]) ^ binary.LittleEndian.Uint32(a[4:8]) ^
		binary.LittleEndian.Uint32(a[8:12]) ^ binary.LittleEndian.Uint32(a[12:16]) ^
		uint32(k.port)<<8 ^ uint32(k.id)
	h *= 0x9e3779b1 // Fibonacci hashing: the top bits depend on every input bit
	return &c.shards[h>>(32-cacheShardBits)]
}

// hash is k's key in its shard's map.
func (c *replyCache) hash(k *cacheKey) uint64 { return maphash.Comparable(c.seed, *k) }

// begin looks k up at time now. On cacheNew the caller must later call
// complete or forget; on cacheDone reply holds a copy of the bytes to
// resend (empty: the request got no reply).
func (c *replyCache) begin(k cacheKey, now int64) (st cacheStatus, reply []byte) {
	s, h := c.shard(&k), c.hash(&k)
	s.mu.Lock()
	defer s.mu.Unlock()
	if e, ok := s.m[h]; ok {
		if !e.done {
			return cachePending, nil
		}
		// The record's own key is checked too: a reply is never resent
		// for another request, whatever went wrong in the bookkeeping.
		if key, expires, reply := s.log.record(e.chunk, e.off); key == k && now < expires {
			return cacheDone, bytes.Clone(reply)
		}
		s.m[h] = cacheEntry{} // expired (or another key's): a new request
		return cacheNew, nil
	}
	if len(s.m) >= c.perShard {
		// Sweep lazily, but not on every packet of a sustained overload.
		if now-s.swept >= c.ttl/16 {
			s.swept = now
			c.sweepShard(s, now)
		}
		if len(s.m) >= c.perShard {
			return cacheFull, nil
		}
	}
	s.m[h] = cacheEntry{}
	c.n.Add(1)
	return cacheNew, nil
}

// complete stores a copy of the reply of the pending request k (empty:
// unanswered, nothing could be sent).
func (c *replyCache) complete(k cacheKey, reply []byte, now int64) {
	s, h := c.shard(&k), c.hash(&k)
	expires := now + c.ttl
	s.mu.Lock()
	if _, ok := s.m[h]; !ok {
		c.n.Add(1)
	}
	chunk, off := s.log.add(&k, expires, reply)
	s.m[h] = cacheEntry{chunk: chunk, off: off, done: true}
	s.mu.Unlock()
}

// forget removes k, so that a retransmission is processed anew.
func (c *replyCache) forget(k cacheKey) {
	s, h := c.shard(&k), c.hash(&k)
	s.mu.Lock()
	if _, ok := s.m[h]; ok {
		delete(s.m, h)
		c.n.Add(-1)
	}
	s.mu.Unlock()
}

// sweep removes the expired replies of every shard, one shard locked at a time.
func (c *replyCache) sweep(now int64) {
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.Lock()
		c.sweepShard(s, now)
		s.mu.Unlock()
	}
}

// sweepShard removes expired replies from s, which the caller has locked:
// the log's records from the oldest while they have expired, each with its
// map entry if that entry is still the record's (not since forgotten, or
// begun again after expiring). Pending entries have no record: their
// requests are still running.
func (c *replyCache) sweepShard(s *cacheShard, now int64) {
	removed := 0
	s.log.expire(now, func(k *cacheKey, chunk uint32, off uint16) {
		h := c.hash(k)
		if e, ok := s.m[h]; ok && e.done && e.chunk == chunk && e.off == off {
			delete(s.m, h)
			removed++
		}
	})
	c.n.Add(int64(-removed))
}

func (c *replyCache) len() int { return int(c.n.Load()) }
