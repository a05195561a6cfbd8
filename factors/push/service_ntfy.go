package push

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"radiusmfa/auth"
	"radiusmfa/store"
)

// Publisher publishes a notification to an ntfy topic (push/ntfy).
type Publisher interface {
	Publish(ctx context.Context, topic string, n Notice) error
}

// Notice is one ntfy notification: what the login is, and a button per
// answer, each POSTing its approval link.
type Notice struct {
	Title, Message string
	Tags           []string
	Actions        []Action // at most MaxActions
}

// Action is a button of a Notice: the app POSTs URL when it is tapped.
type Action struct {
	Label, URL string
}

// MaxActions is how many buttons an ntfy notification may carry.
const MaxActions = 3

// LinkPath is the site's path of approval links: Site + LinkPath + token.
const LinkPath = "/approver/link/"

// beginOn begins the push in the Hub the way dev answers: signed by its
// key (Web Push) or through links (ntfy).
func (s *Service) beginOn(en store.Enrollment, dev Device, pc Context, ttl time.Duration) (*Pending, error) {
	if dev.channel() != ChannelNtfy {
		return s.hub.Begin(en.User, en.ID, dev.PublicKey, pc, ttl)
	}
	if s.o.Ntfy == nil || s.o.Links == nil {
		return nil, fmt.Errorf("%w: device %s of %s is an ntfy device and push.ntfy is not configured", auth.ErrPushUnavailable, en.ID, en.User)
	}
	return s.hub.BeginLinked(en.User, en.ID, pc, ttl)
}

// deliver sends p to dev over its channel.
func (s *Service) deliver(ctx context.Context, dev Device, p *Pending) error {
	if dev.channel() == ChannelNtfy {
		n, err := notice(s.o.Links, dev.Site, p)
		if err != nil {
			return err
		}
		return s.o.Ntfy.Publish(ctx, dev.Topic, n)
	}
	payload, err := json.Marshal(Payload{V: 1, Nonce: p.Nonce, User: p.User, Context: p.Context, Expires: p.Expires})
	if err != nil {
		return err
	}
	return s.send.Send(ctx, dev.Subscription, payload)
}

// notice is the ntfy notification of p: the login's context, and the
// approval links: Approve, Deny, Deny and report; with number matching,
// one approval per number offered (a wrong pick denies), and no way to
// report: ntfy shows at most three buttons.
func notice(k *LinkKey, site string, p *Pending) (Notice, error) {
	c := p.Context
	var b strings.Builder
	fmt.Fprintf(&b, "Sign-in as %s", c.User)
	if c.Client != "" {
		fmt.Fprintf(&b, " to %s", c.Client)
	}
	if c.NASIdentifier != "" {
		fmt.Fprintf(&b, " (%s)", c.NASIdentifier)
	}
	b.WriteString(".")
	if c.CallingStationID != "" {
		fmt.Fprintf(&b, "\nFrom: %s", c.CallingStationID)
		if c.Location != "" {
			fmt.Fprintf(&b, " (%s)", c.Location)
		}
	}
	fmt.Fprintf(&b, "\nAt: %s", c.Time.UTC().Format("2006-01-02 15:04:05 UTC"))
	fmt.Fprintf(&b, "\nAnswer before %s.", p.Expires.UTC().Format("15:04:05 UTC"))
	type button struct {
		label, verdict string
		number         int
	}
	buttons := []button{{"Approve", AnswerApprove, 0}, {"Deny", AnswerDeny, 0}, {"Deny and report", AnswerReport, 0}}
	if c.Number != 0 {
		b.WriteString("\nTap the number shown at your sign-in; another number denies it. Not you? Let it expire.")
		buttons = buttons[:0]
		for _, n := range c.Choices {
			buttons = append(buttons, button{strconv.Itoa(n), AnswerApprove, n})
		}
	} else {
		b.WriteString("\nNot you? Tap Deny and report.")
	}
	if len(buttons) > MaxActions {
		return Notice{}, errors.New("push: more answers than ntfy has buttons")
	}
	n := Notice{Title: "Sign-in request", Message: b.String(), Tags: []string{"lock"}}
	for _, bt := range buttons {
		tok, err := k.Sign(*p, bt.verdict, bt.number)
		if err != nil {
			return Notice{}, err
		}
		n.Actions = append(n.Actions, Action{Label: bt.label, URL: site + LinkPath + tok})
	}
	return n, nil
}
