package ldapauth

import (
	"context"
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	ber "github.com/go-asn1-ber/asn1-ber"
	"github.com/go-ldap/ldap/v3"

	"radiusmfa/auth"
)

// silentServer accepts LDAP connections, reads requests and never answers
// a bind: the "bind sent, answer lost" case. It counts the binds it got.
type silentServer struct {
	ln    net.Listener
	binds atomic.Int32
	wg    sync.WaitGroup
}

func startSilentServer(t *testing.T) *silentServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &silentServer{ln: ln}
	var conns sync.Map
	t.Cleanup(func() {
		ln.Close()
		conns.Range(func(k, _ any) bool { k.(net.Conn).Close(); return true })
		s.wg.Wait()
	})
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns.Store(c, true)
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				for {
					p, err := ber.ReadPacket(c)
					if err != nil {
						return
					}
					if len(p.Children) < 2 {
						return
					}
					switch p.Children[1].Tag {
					case ber.Tag(0): // BindRequest
						s.binds.Add(1)
					case ber.Tag(23): // ExtendedRequest: StartTLS says yes, then nothing
						c.Write(extendedSuccess(p.Children[0].Value))
					}
				}
			}()
		}
	}()
	return s
}

// extendedSuccess is an ExtendedResponse with resultCode success.
func extendedSuccess(msgID any) []byte {
	id, _ := msgID.(int64)
	msg := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "LDAPMessage")
	msg.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, id, "MessageID"))
	op := ber.Encode(ber.ClassApplication, ber.TypeConstructed, ber.Tag(24), nil, "ExtendedResponse")
	op.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagEnumerated, 0, "resultCode"))
	op.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, "", "matchedDN"))
	op.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, "", "diagnosticMessage"))
	msg.AppendChild(op)
	return msg.Bytes()
}

// TestStartTLSHandshakeIsBounded: a server that agrees to StartTLS and then
// stays silent costs one step timeout, and the next server is used.
func TestStartTLSHandshakeIsBounded(t *testing.T) {
	silent := startSilentServer(t)
	d := newDirectory(t, Config{
		Servers:  []string{"ldap://" + silent.ln.Addr().String(), "ldap://" + silent.ln.Addr().String()},
		StartTLS: true, BaseDN: "dc=example,dc=org", BindTemplate: "{username}@example.org",
		Timeout: 200 * time.Millisecond,
	}, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, ok, err := d.Authenticate(ctx, "alice", "pw")
	var unavailable *UnavailableError
	if ok || !errors.As(err, &unavailable) || len(unavailable.Errs) != 2 || ctx.Err() != nil {
		t.Fatalf("ok=%v err=%v ctx=%v: want both servers failed by their step timeout, before the request's deadline", ok, err, ctx.Err())
	}
	if silent.binds.Load() != 0 {
		t.Error("a bind was sent before TLS was up")
	}
}

// TestLostBindAnswerIsNeverRetried: once a bind may have reached a
// directory, neither another server nor a new connection gets a second
// one, and the error tells the engine to answer rather than drop (a drop
// would have the client retransmit, and the password be sent again).
func TestLostBindAnswerIsNeverRetried(t *testing.T) {
	a, b := startSilentServer(t), startSilentServer(t)
	d := newDirectory(t, Config{
		Servers:        []string{"ldap://" + a.ln.Addr().String(), "ldap://" + b.ln.Addr().String()},
		AllowPlaintext: true,
		BaseDN:         "dc=example,dc=org",
		BindTemplate:   "uid={username},ou=people,dc=example,dc=org",
		Timeout:        200 * time.Millisecond,
	}, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, ok, err := d.Authenticate(ctx, "alice", "pw")
	var unavailable *UnavailableError
	if ok || !errors.As(err, &unavailable) || !errors.Is(err, auth.ErrAttemptSpent) {
		t.Fatalf("ok=%v err=%v, want an UnavailableError carrying auth.ErrAttemptSpent", ok, err)
	}
	if n := a.binds.Load() + b.binds.Load(); n != 1 {
		t.Errorf("%d binds reached the servers for one attempt (first %d, second %d), want 1", n, a.binds.Load(), b.binds.Load())
	}
	// The same under the request's deadline rather than the step timeout.
	d = newDirectory(t, Config{
		Servers: []string{"ldap://" + a.ln.Addr().String()}, AllowPlaintext: true,
		BaseDN: "dc=example,dc=org", BindTemplate: "{username}@example.org", Timeout: time.Minute,
	}, nil)
	before := a.binds.Load()
	ctx, cancel = context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if _, _, err := d.Authenticate(ctx, "alice", "pw"); !errors.Is(err, auth.ErrAttemptSpent) {
		t.Errorf("deadline during the bind: %v, want auth.ErrAttemptSpent", err)
	}
	if n := a.binds.Load() - before; n != 1 {
		t.Errorf("%d binds under a deadline, want 1", n)
	}
}

// TestPoolDiscardsALateConnection: a connection whose last step ran past
// its deadline may be closing under go-ldap's reader, so it is not pooled;
// its slot is freed.
func TestPoolDiscardsALateConnection(t *testing.T) {
	var p pool
	p.init(1)
	if c, _, err := p.get(context.Background()); c != nil || err != nil {
		t.Fatalf("get on an empty pool: %v, %v; want a slot", c, err)
	}
	client, server := net.Pipe()
	defer server.Close()
	c := &conn{Conn: ldap.NewConn(client, false), raw: client}
	c.Start()
	c.within(-time.Second) // the step's deadline has passed
	p.put(c)
	if len(p.idle) != 0 || len(p.slots) != 0 {
		t.Fatalf("a late connection was pooled (idle %d, slots %d)", len(p.idle), len(p.slots))
	}
	if !c.IsClosing() {
		t.Error("the late connection was not closed")
	}
}
