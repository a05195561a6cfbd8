package factortest

import (
	"context"
	"sync"
	"testing"

	"radiusmfa/factors/delivery"
)

// Outbox is a delivery.Provider that keeps every message it is given, or
// fails with the error of Fail: for tests of what is sent, without a
// server.
type Outbox struct {
	mu   sync.Mutex
	sent []delivery.Message
	err  error
}

var _ delivery.Provider = (*Outbox)(nil)

func (o *Outbox) Name() string { return "outbox" }

func (o *Outbox) Send(_ context.Context, m delivery.Message) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.err != nil {
		return o.err
	}
	o.sent = append(o.sent, m)
	return nil
}

// Fail makes every later Send return err (nil: succeed again).
func (o *Outbox) Fail(err error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.err = err
}

// Sent returns a copy of the messages kept, oldest first.
func (o *Outbox) Sent() []delivery.Message {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]delivery.Message(nil), o.sent...)
}

// Last is the newest message kept; t fails when there is none.
func (o *Outbox) Last(t testing.TB) delivery.Message {
	t.Helper()
	sent := o.Sent()
	if len(sent) == 0 {
		t.Fatal("no message was sent")
	}
	return sent[len(sent)-1]
}
