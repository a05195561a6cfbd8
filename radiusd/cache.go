package radiusd

import (
	"encoding/binary"
	"net/netip"
	"sync"
	"sync/atomic"
)

// cacheKey identifies a request (RFC 5080 §2.2.2): its source, Identifier
// and Request Authenticator. The code keeps authentication and accounting
// requests apart.
type cacheKey struct {
	src  netip.AddrPort
	code byte
	id   byte
	auth [16]byte
}

// cacheEntry is a pending request (reply == nil) or a finished one whose
// reply bytes are resent unchanged until expires. An empty, non-nil reply
// (unanswered) marks a finished request that got no reply.
type cacheEntry struct {
	reply   []byte
	expires int64 // monotonic nanoseconds, see Server.mono
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
	mu    sync.Mutex
	m     map[cacheKey]cacheEntry
	swept int64    // last lazy sweep
	_     [40]byte // one shard per cache line: no false sharing between locks
}

// replyCache is the RFC 5080 duplicate-detection cache. It is sharded so
// that concurrent requests rarely contend, and bounded: an entry lives while
// its request is pending and for ttl after the reply.
type replyCache struct {
	shards   [cacheShards]cacheShard
	ttl      int64
	perShard int
	n        atomic.Int64 // entries, for the gauge
}

func newReplyCache(ttl int64, size int) *replyCache {
	c := &replyCache{ttl: ttl, perShard: max(size/cacheShards, 1)}
	for i := range c.shards {
		c.shards[i].m = make(map[cacheKey]cacheEntry)
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
		uint32(k.src.Port())<<8 ^ uint32(k.id)
	h *= 0x9e3779b1 // Fibonacci hashing: the top bits depend on every input bit
	return &c.shards[h>>(32-cacheShardBits)]
}

// begin looks k up at time now. On cacheNew the caller must later call
// complete or forget; on cacheDone reply holds the bytes to resend.
func (c *replyCache) begin(k cacheKey, now int64) (st cacheStatus, reply []byte) {
	s := c.shard(&k)
	s.mu.Lock()
	defer s.mu.Unlock()
	if e, ok := s.m[k]; ok {
		if e.reply == nil {
			return cachePending, nil
		}
		if now < e.expires {
			return cacheDone, e.reply
		}
		s.m[k] = cacheEntry{} // expired: a new request with the same key
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
	s.m[k] = cacheEntry{}
	c.n.Add(1)
	return cacheNew, nil
}

// complete stores the reply of the pending request k (unanswered when
// nothing could be sent).
func (c *replyCache) complete(k cacheKey, reply []byte, now int64) {
	s := c.shard(&k)
	s.mu.Lock()
	if _, ok := s.m[k]; !ok {
		c.n.Add(1)
	}
	s.m[k] = cacheEntry{reply: reply, expires: now + c.ttl}
	s.mu.Unlock()
}

// forget removes k, so that a retransmission is processed anew.
func (c *replyCache) forget(k cacheKey) {
	s := c.shard(&k)
	s.mu.Lock()
	if _, ok := s.m[k]; ok {
		delete(s.m, k)
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

// sweepShard removes expired replies from s, which the caller has locked.
// Pending entries stay: their requests are still running.
func (c *replyCache) sweepShard(s *cacheShard, now int64) {
	removed := 0
	for k, e := range s.m {
		if e.reply != nil && now >= e.expires {
			delete(s.m, k)
			removed++
		}
	}
	c.n.Add(int64(-removed))
}

func (c *replyCache) len() int { return int(c.n.Load()) }
