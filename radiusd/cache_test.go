package radiusd

import (
	"bytes"
	"fmt"
	"net/netip"
	"reflect"
	"testing"
	"unsafe"
)

func key(port uint16, id byte, auth byte) cacheKey {
	hdr := make([]byte, headerLen)
	hdr[0], hdr[1], hdr[4] = 1, id, auth
	return newCacheKey(netip.AddrPortFrom(netip.MustParseAddr("192.0.2.1"), port), hdr)
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

// TestReplyCacheHoldsNoPointers: the cache's maps hold numbers only, so
// the collector never scans them, however many replies are cached.
func TestReplyCacheHoldsNoPointers(t *testing.T) {
	var walk func(reflect.Type) bool
	walk = func(ty reflect.Type) bool {
		switch ty.Kind() {
		case reflect.Pointer, reflect.Slice, reflect.Map, reflect.String, reflect.Interface,
			reflect.Chan, reflect.Func, reflect.UnsafePointer:
			return true
		case reflect.Array:
			return walk(ty.Elem())
		case reflect.Struct:
			for i := range ty.NumField() {
				if walk(ty.Field(i).Type) {
					return true
				}
			}
		}
		return false
	}
	var c replyCache
	m := reflect.TypeOf(c.shards[0].m)
	for _, ty := range []reflect.Type{m.Key(), m.Elem(), reflect.TypeOf(cacheKey{})} {
		if walk(ty) {
			t.Errorf("%v holds a pointer", ty)
		}
	}
}

// TestReplyCacheLog: replies spanning many chunks are served byte for
// byte until they expire; the sweep frees the chunks it has read past and
// removes only entries that are still its records', not an entry begun
// again after expiring or one forgotten and completed anew.
func TestReplyCacheLog(t *testing.T) {
	const ttl = 100
	c := newReplyCache(ttl, 1<<20)
	replyOf := func(i int) []byte { return []byte(fmt.Sprintf("reply %d %s", i, bytes.Repeat([]byte{'x'}, i%300))) }
	keyOf := func(i int) cacheKey { return key(uint16(i), byte(i), byte(i>>8)) }
	const n = 5000
	for i := range n {
		k := keyOf(i)
		if st, _ := c.begin(k, int64(i/100)); st != cacheNew {
			t.Fatalf("begin %d: %v", i, st)
		}
		r := replyOf(i)
		if i%97 == 0 {
			r = []byte{} // unanswered
		}
		c.complete(k, r, int64(i/100)) // replies expire at i/100 + ttl
	}
	big := bytes.Repeat([]byte{'B'}, logChunkSize*2) // larger than a chunk
	bk := key(9, 9, 9)
	bk.code = 4
	c.begin(bk, 0)
	c.complete(bk, big, 0)
	if st, got := c.begin(bk, 1); st != cacheDone || !bytes.Equal(got, big) {
		t.Fatalf("large reply: %v, %d bytes", st, len(got))
	}
	for i := range n {
		want := replyOf(i)
		if i%97 == 0 {
			want = []byte{}
		}
		st, got := c.begin(keyOf(i), 49)
		if st != cacheDone || !bytes.Equal(got, want) || got == nil {
			t.Fatalf("reply %d: %v %q", i, st, got)
		}
	}
	before := 0
	for i := range c.shards {
		before += c.shards[i].log.chunksSize()
	}
	// Key 10 (expiring at ttl) is begun again after its expiry, key 20 is
	// forgotten then completed anew: the sweep at ttl+1 must keep both.
	if st, _ := c.begin(keyOf(10), ttl); st != cacheNew {
		t.Fatalf("expired key begun again: %v", st)
	}
	c.forget(keyOf(20))
	c.begin(keyOf(20), ttl)
	c.complete(keyOf(20), []byte("anew"), ttl)
	c.sweep(ttl + 25) // replies of i < 2600 have expired (i/100 + ttl <= ttl + 25)
	for i := range n {
		st, _ := c.begin(keyOf(i), ttl+25)
		switch {
		case i == 10:
			if st != cachePending {
				t.Errorf("key begun again after expiry: %v, want pending", st)
			}
		case i == 20:
			if st != cacheDone {
				t.Errorf("key completed anew: %v, want done", st)
			}
		case i < 2600 && st != cacheNew:
			t.Fatalf("expired reply %d: %v", i, st)
		case i >= 2600 && st != cacheDone:
			t.Fatalf("live reply %d: %v", i, st)
		}
	}
	c.sweep(10 * ttl)
	// Left: the 2,599 entries begun again above (key 10 among them, not
	// key 20, completed anew), still pending; every reply has expired, so each shard keeps at most the
	// chunk it fills.
	if got := c.len(); got != 2599 {
		t.Errorf("len = %d after every reply expired, want the 2599 pending", got)
	}
	after := 0
	for i := range c.shards {
		if len(c.shards[i].log.chunks) > 1 {
			t.Errorf("shard %d keeps %d chunks with every reply expired", i, len(c.shards[i].log.chunks))
		}
		after += c.shards[i].log.chunksSize()
	}
	if after > cacheShards*logChunkSize || after >= before {
		t.Errorf("log holds %d bytes with every reply expired (%d before)", after, before)
	}
}

// TestReplyLogChunkNumbersWrap: chunk numbers are taken modulo 2^32, so a
// log whose numbers wrap still finds and expires its records.
func TestReplyLogChunkNumbersWrap(t *testing.T) {
	l := replyLog{base: 1<<32 - 2}
	type at struct {
		chunk uint32
		off   uint16
	}
	var places []at
	for i := range 5 {
		k := key(uint16(i), 1, 1)
		r := bytes.Repeat([]byte{byte('a' + i)}, 4096) // one record per chunk
		c, off := l.add(&k, int64(i), r)
		places = append(places, at{c, off})
	}
	want := []uint32{1<<32 - 2, 1<<32 - 1, 0, 1, 2}
	for i, p := range places {
		if p.chunk != want[i] || p.off != 0 {
			t.Fatalf("record %d at chunk %d offset %d, want chunk %d offset 0", i, p.chunk, p.off, want[i])
		}
		_, exp, r := l.record(p.chunk, p.off)
		if exp != int64(i) || len(r) != 4096 || r[0] != byte('a'+i) {
			t.Fatalf("record %d: expires %d, %d bytes of %q", i, exp, len(r), r[0])
		}
	}
	var dropped []at
	l.expire(2, func(k *cacheKey, c uint32, off uint16) { dropped = append(dropped, at{c, off}) })
	if len(dropped) != 3 || dropped[2] != places[2] {
		t.Fatalf("expired %v, want the first three of %v", dropped, places)
	}
	if _, exp, r := l.record(places[4].chunk, places[4].off); exp != 4 || r[0] != 'e' {
		t.Errorf("the last record after the wrap: expires %d, %q", exp, r[0])
	}
}

// TestCacheShardFillsCacheLines: each shard, with its lock, sits in whole
// cache lines of its own, so shards locked on different cores do not
// contend for a line.
func TestCacheShardFillsCacheLines(t *testing.T) {
	if n := unsafe.Sizeof(cacheShard{}); n%64 != 0 {
		t.Errorf("a cache shard is %d bytes, not a multiple of 64", n)
	}
}

// TestReplyCacheChecksTheRecordsKey: an entry that names a record of
// another request (bookkeeping gone wrong) resends nothing.
func TestReplyCacheChecksTheRecordsKey(t *testing.T) {
	c := newReplyCache(100, 1024)
	a := key(1, 1, 1)
	b := a
	for b.id = 2; c.shard(&b) != c.shard(&a); b.id++ {
	}
	c.begin(a, 0)
	c.complete(a, []byte("reply to a"), 0)
	s := c.shard(&a)
	s.m[c.hash(&b)] = s.m[c.hash(&a)] // b's entry names a's record
	if st, got := c.begin(b, 1); st != cacheNew || got != nil {
		t.Errorf("b got %v %q, want a new request (never a's reply)", st, got)
	}
	if st, got := c.begin(a, 1); st != cacheDone || string(got) != "reply to a" {
		t.Errorf("a: %v %q", st, got)
	}
}

// chunksSize is the bytes the log's chunks hold.
func (l *replyLog) chunksSize() (n int) {
	for _, c := range l.chunks {
		n += cap(c)
	}
	return n
}
