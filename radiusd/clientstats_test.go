package radiusd

import (
	"context"
	"net/netip"
	"reflect"
	"sync"
	"testing"
	"time"

	"layeh.com/radius"

	"radiusmfa/auth"
	"radiusmfa/radiusd/radiustest"
)

// outcomeByUser decides by user name: mallory is rejected, chal challenged,
// dropme dropped, anyone else accepted.
func outcomeByUser() *fakeDecider {
	return &fakeDecider{fn: func(_ context.Context, r auth.Request) auth.Decision {
		switch r.UserName {
		case "mallory":
			return auth.Decision{Outcome: auth.Reject, Reason: auth.ReasonBadCredentials}
		case "chal":
			return auth.Decision{Outcome: auth.Challenge, Reason: auth.ReasonOK, State: []byte("st"), Message: "Code?"}
		case "dropme":
			return auth.Decision{Outcome: auth.Drop, Reason: auth.ReasonOverloaded}
		}
		return auth.Decision{Outcome: auth.Accept, Reason: auth.ReasonOK, User: r.UserName}
	}}
}

// statsOf returns the stats of the client named name.
func statsOf(t *testing.T, s *Server, name string) ClientStats {
	t.Helper()
	for _, st := range s.ClientStats() {
		if st.Name == name {
			return st
		}
	}
	t.Fatalf("no stats for client %q", name)
	return ClientStats{}
}

func TestClientStats(t *testing.T) {
	cfg := testConfig()
	cfg.Clients = []Client{
		{Name: "vpn-b", Networks: prefixes("10.9.9.0/24", "2001:db8::/32"), Secret: []byte("other"), RequireMA: MARequire},
		{Name: "lab", Networks: prefixes("127.0.0.0/8"), Secret: []byte(testSecret), RequireMA: MAAuto},
	}
	ts := startServer(t, &cfg, outcomeByUser())
	never := []ClientStats{
		{Name: "lab", Networks: []string{"127.0.0.0/8"}, RequireMessageAuthenticator: "auto"},
		{Name: "vpn-b", Networks: []string{"10.9.9.0/24", "2001:db8::/32"}, RequireMessageAuthenticator: "true"},
	}
	if got := ts.ClientStats(); !reflect.DeepEqual(got, never) {
		t.Fatalf("before any request:\n got %+v\nwant %+v", got, never)
	}

	start := time.Now()
	for _, step := range []struct {
		user   string
		withMA bool
		code   radius.Code
	}{
		{"alice", false, radius.CodeAccessAccept}, // auto: allowed before the first MA
		{"mallory", false, radius.CodeAccessReject},
		{"chal", true, radius.CodeAccessChallenge}, // from here on one is required
		{"alice", true, radius.CodeAccessAccept},
	} {
		if reply, _ := ts.exchange(t, ts.authAddr, newRequest(step.user), step.withMA); reply.Code != step.code {
			t.Fatalf("%s: code %v, want %v", step.user, reply.Code, step.code)
		}
	}
	c := dial(t, ts.authAddr)
	c.Send(encode(t, newRequest("alice"), false)) // auto has latched: dropped, not counted
	expectNoReply(t, c)
	again := encode(t, newRequest("bob"), true)
	c.Send(again)
	receive(t, c)
	c.Send(again) // a retransmission, answered from the cache: not counted
	receive(t, c)
	c.Send(encode(t, newRequest("dropme"), true)) // admitted, decided Drop: no outcome
	expectNoReply(t, c)
	ts.exchange(t, ts.acctAddr, newAccounting("Start", 0), false) // a request, not an Access-Request
	answered(t, ts.Server)
	end := time.Now()

	got := ts.ClientStats()
	if len(got) != 2 || !reflect.DeepEqual(got[1], never[1]) {
		t.Errorf("the client never heard from: %+v, want %+v", got, never[1])
	}
	lab := got[0]
	if lab.LastRequest.Before(start) || lab.LastRequest.After(end) || lab.LastSource != "127.0.0.1" {
		t.Errorf("lab last seen %v from %q, want between %v and %v from 127.0.0.1", lab.LastRequest, lab.LastSource, start, end)
	}
	lab.LastRequest, lab.LastSource = time.Time{}, ""
	want := ClientStats{Name: "lab", Networks: []string{"127.0.0.0/8"}, RequireMessageAuthenticator: "auto",
		Requests: 7, Accepts: 3, Rejects: 1, Challenges: 1,
		WithMessageAuthenticator: 4, WithoutMessageAuthenticator: 2}
	if !reflect.DeepEqual(lab, want) {
		t.Errorf("lab:\n got %+v\nwant %+v", lab, want)
	}
}

// TestClientStatsMessageAuthenticator counts, per policy, the admitted
// Access-Requests with and without a Message-Authenticator; the sequences
// are TestMessageAuthenticatorPolicy's.
func TestClientStatsMessageAuthenticator(t *testing.T) {
	for _, tc := range []struct {
		policy             MARequirement
		sequence           []bool // withMA per request
		answered           []bool
		with, without, all uint64
	}{
		{MARequire, []bool{false, true, false}, []bool{false, true, false}, 1, 0, 1},
		{MAAuto, []bool{false, false, true, false}, []bool{true, true, true, false}, 1, 2, 3},
		{MAOptional, []bool{false, true, false}, []bool{true, true, true}, 1, 2, 3},
	} {
		t.Run(tc.policy.String(), func(t *testing.T) {
			cfg := testConfig()
			cfg.Clients[0].RequireMA = tc.policy
			ts := startServer(t, &cfg, nil)
			for i, withMA := range tc.sequence {
				c := dial(t, ts.authAddr)
				c.Send(encode(t, newRequest("alice"), withMA))
				if tc.answered[i] {
					receive(t, c)
				} else {
					expectNoReply(t, c)
				}
			}
			answered(t, ts.Server)
			st := statsOf(t, ts.Server, "loopback")
			if st.WithMessageAuthenticator != tc.with || st.WithoutMessageAuthenticator != tc.without ||
				st.Requests != tc.all || st.Accepts != tc.all || st.RequireMessageAuthenticator != tc.policy.String() {
				t.Errorf("%+v, want %d with, %d without, %d requests accepted", st, tc.with, tc.without, tc.all)
			}
		})
	}
}

// TestClientStatsConcurrent reads the overview while requests are served
// (run with -race); no count is lost.
func TestClientStatsConcurrent(t *testing.T) {
	ts := startServer(t, nil, outcomeByUser())
	const clients, each = 8, 40
	stop := make(chan struct{})
	var reader sync.WaitGroup
	reader.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
				_ = ts.ClientStats()
			}
		}
	})
	var wg sync.WaitGroup
	for i := range clients {
		wg.Go(func() {
			user := "alice"
			if i%2 == 1 {
				user = "mallory"
			}
			for range each {
				ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
				_, _, err := radiustest.Exchange(ctx, ts.authAddr, []byte(testSecret), newRequest(user), true)
				cancel()
				if err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(stop)
	reader.Wait()
	answered(t, ts.Server)
	st := statsOf(t, ts.Server, "loopback")
	const n = clients * each
	if st.Requests != n || st.Accepts != n/2 || st.Rejects != n/2 || st.WithMessageAuthenticator != n ||
		st.WithoutMessageAuthenticator != 0 {
		t.Errorf("%+v, want %d requests, half accepted, all with Message-Authenticator", st, n)
	}
}

// TestClientSummaryKeepsSource checks that the last source is replaced only
// when it changes.
func TestClientSummaryKeepsSource(t *testing.T) {
	var cs clientSummary
	a := netip.MustParseAddr("192.0.2.1")
	cs.admitted(typeStatus, true, time.Unix(10, 0), a)
	first := cs.source.Load()
	cs.admitted(typeAccounting, false, time.Unix(11, 0), a)
	if cs.source.Load() != first {
		t.Error("the same source was stored again")
	}
	cs.admitted(typeAccess, false, time.Unix(12, 0), netip.MustParseAddr("2001:db8::1"))
	if got := *cs.source.Load(); got.String() != "2001:db8::1" || cs.last.Load() != time.Unix(12, 0).UnixNano() {
		t.Errorf("source %v, last %d", got, cs.last.Load())
	}
	if cs.requests.Load() != 3 || cs.withoutMA.Load() != 1 || cs.withMA.Load() != 0 {
		t.Errorf("only Access-Requests count toward Message-Authenticator use: %d requests, %d with, %d without",
			cs.requests.Load(), cs.withMA.Load(), cs.withoutMA.Load())
	}
}

// BenchmarkClientSummary measures the per-request cost of the overview:
// what admission and the decision add for one client, from every CPU.
func BenchmarkClientSummary(b *testing.B) {
	var cs clientSummary
	src := netip.MustParseAddr("192.0.2.1")
	now := time.Now()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			cs.admitted(typeAccess, true, now, src)
			cs.decided(auth.Accept)
		}
	})
}
