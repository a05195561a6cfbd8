package radiusd

import (
	"bytes"
	"net/netip"
	"testing"
)

func key(port uint16, id byte, auth byte) cacheKey {
	k := cacheKey{src: netip.AddrPortFrom(netip.MustParseAddr("192.0.2.1"), port), code: 1, id: id}
	k.auth[0] = auth
	return k
}

func TestReplyCacheLifecycle(t *testing.T) {
	const ttl = 100
	c := newReplyCache(ttl, 1024)
	k := key(1000, 1, 1)
	if st, _ := c.begin(k, 0); st != cacheNew {
		t.Fatalf("first begin = %v", st)
	}
	if st, _ := c.begin(k, 1_000_000); st != cachePending {
		t.Fatalf("begin while pending = %v (a pending entry must never expire)", st)
	}
	c.sweep(1_000_000)
	if st, _ := c.begin(k, 1_000_001); st != cachePending {
		t.Fatalf("pending entry swept: %v", st)
	}
	reply := []byte{2, 1, 0, 20}
	c.complete(k, reply, 10)
	if st, got := c.begin(k, 50); st != cacheDone || !bytes.Equal(got, reply) {
		t.Fatalf("begin after complete = %v %x", st, got)
	}
	for _, other := range []cacheKey{key(1001, 1, 1), key(1000, 2, 1), key(1000, 1, 2)} {
		if st, _ := c.begin(other, 50); st != cacheNew {
			t.Errorf("%+v collides with %+v", other, k)
		}
	}
	if st, _ := c.begin(k, 10+ttl); st != cacheNew {
		t.Errorf("expired reply still served: %v", st)
	}
	c.forget(k)
	if st, _ := c.begin(k, 200); st != cacheNew {
		t.Errorf("forgotten entry: %v", st)
	}
}

func TestReplyCacheSpreadsCounters(t *testing.T) {
	c := newReplyCache(1, 1024)
	used := map[*cacheShard]bool{}
	for i := range 256 { // a weak client whose authenticator is a counter
		k := key(1812, 0, 0)
		k.auth[15] = byte(i)
		used[c.shard(&k)] = true
	}
	if len(used) < cacheShards*3/4 {
		t.Errorf("256 counter authenticators used %d of %d shards", len(used), cacheShards)
	}
}

func TestReplyCacheSweepAndBound(t *testing.T) {
	const ttl = 100
	c := newReplyCache(ttl, cacheShards) // one entry per shard
	k := key(1, 1, 0)
	if st, _ := c.begin(k, 0); st != cacheNew {
		t.Fatal(st)
	}
	same := k
	for same.id = k.id + 1; c.shard(&same) != c.shard(&k); same.id++ {
	}
	if st, _ := c.begin(same, 0); st != cacheFull {
		t.Fatalf("over the bound: %v", st)
	}
	c.complete(k, []byte("r"), 0)
	if st, _ := c.begin(same, ttl); st != cacheNew {
		t.Fatalf("expired entry not swept lazily: %v", st)
	}
	c.complete(same, []byte("r"), ttl)
	if n := c.len(); n != 1 {
		t.Errorf("len = %d, want 1", n)
	}
	c.sweep(2 * ttl)
	if n := c.len(); n != 0 {
		t.Errorf("len after sweep = %d", n)
	}
}
