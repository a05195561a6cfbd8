package push

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
)

// SecretVersion is the version of the record EncodeSecret writes. Version 1
// (the approver app only, without "channel") is still read.
const SecretVersion = 2

// maxSecretLen bounds what DecodeSecret reads: a record is well under 3 KiB.
const maxSecretLen = 8 << 10

// record is the stored form of a Device. Version 2:
//
//	{"v":2,"channel":"webpush","public_key":"<SPKI DER, standard base64>",
//	 "subscription":{"endpoint":"https://…","p256dh":"…","auth":"…"},"name":"…"}
//	{"v":2,"channel":"ntfy","topic":"rmfa-…","site":"https://host[:port]","name":"…"}
//
// Version 1 is the first form without "channel": {"v":1,"public_key":…,
// "subscription":…,"name":…}.
type record struct {
	V            int                 `json:"v"`
	Channel      Channel             `json:"channel,omitempty"`
	PublicKey    string              `json:"public_key,omitempty"`
	Subscription *subscriptionRecord `json:"subscription,omitempty"`
	Topic        string              `json:"topic,omitempty"`
	Site         string              `json:"site,omitempty"`
	Name         string              `json:"name,omitempty"`
}

type subscriptionRecord struct {
	Endpoint string `json:"endpoint"`
	P256dh   string `json:"p256dh"`
	Auth     string `json:"auth"`
}

// recordKeys are the only object keys a record may hold, spelled exactly.
var recordKeys = map[string]bool{
	"v": true, "channel": true, "public_key": true, "subscription": true, "topic": true, "site": true, "name": true,
	"endpoint": true, "p256dh": true, "auth": true,
}

// recordForm is the top-level keys one kind of record must and may hold.
type recordForm struct {
	required, optional []string
}

var (
	formV1      = recordForm{required: []string{"v", "public_key", "subscription"}, optional: []string{"name"}}
	formWebPush = recordForm{required: []string{"v", "channel", "public_key", "subscription"}, optional: []string{"name"}}
	formNtfy    = recordForm{required: []string{"v", "channel", "topic", "site"}, optional: []string{"name"}}
)

// check refuses a record whose top-level keys are not those of f: a key of
// another channel, even empty or null, or a required one missing.
func (f recordForm) check(keys map[string]bool) error {
	for _, k := range f.required {
		if !keys[k] {
			return fmt.Errorf("push: record: no %q", k)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(keys)) {
		if !slices.Contains(f.required, k) && !slices.Contains(f.optional, k) {
			return fmt.Errorf("push: record: %q does not belong in this record", k)
		}
	}
	return nil
}

// EncodeSecret returns the enrollment Secret of d, after checking d as
// strictly as DecodeSecret would.
func EncodeSecret(d Device) ([]byte, error) {
	if err := validateName(d.Name); err != nil {
		return nil, err
	}
	switch d.channel() {
	case ChannelWebPush:
		if d.Topic != "" || d.Site != "" {
			return nil, errors.New("push: a Web Push device has no ntfy topic or site")
		}
		der, err := marshalKey(d.PublicKey)
		if err != nil {
			return nil, err
		}
		if err := d.Subscription.Validate(); err != nil {
			return nil, err
		}
		return json.Marshal(record{
			V: SecretVersion, Channel: ChannelWebPush,
			PublicKey: base64.StdEncoding.EncodeToString(der),
			Subscription: &subscriptionRecord{
				Endpoint: d.Subscription.Endpoint, P256dh: d.Subscription.P256dh, Auth: d.Subscription.Auth,
			},
			Name: d.Name,
		})
	case ChannelNtfy:
		if d.PublicKey != nil || d.Subscription != (Subscription{}) {
			return nil, errors.New("push: an ntfy device has no key or Web Push subscription")
		}
		if err := validateTopic(d.Topic); err != nil {
			return nil, err
		}
		if err := validateSite(d.Site); err != nil {
			return nil, err
		}
		return json.Marshal(record{V: SecretVersion, Channel: ChannelNtfy, Topic: d.Topic, Site: d.Site, Name: d.Name})
	}
	return nil, fmt.Errorf("push: unknown channel %q", d.Channel)
}

// Invariant: DecodeSecret accepts only what EncodeSecret could have written,
// or what it wrote as version 1: a known version, the keys of that version
// and channel spelled exactly and once each, no trailing data; for Web Push
// a canonical P-256 SPKI in standard base64 and a valid subscription, for
// ntfy a topic of TopicBits random bits and an https origin; a valid name.
// Whatever it accepts encodes again and decodes to the same device.
// (TestInvariantDecodeAcceptsOnlyEncodable, FuzzDecodeSecret)

// DecodeSecret reads an enrollment Secret written by EncodeSecret.
func DecodeSecret(b []byte) (Device, error) {
	if len(b) > maxSecretLen {
		return Device{}, fmt.Errorf("push: record of %d bytes", len(b))
	}
	top, err := checkKeys(b)
	if err != nil {
		return Device{}, err
	}
	var r record
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		return Device{}, fmt.Errorf("push: record: %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return Device{}, errors.New("push: record: data after the object")
	}
	var d Device
	switch {
	case r.V == 1:
		if err := formV1.check(top); err != nil {
			return Device{}, err
		}
		d, err = r.webPush()
	case r.V == SecretVersion && r.Channel == ChannelWebPush:
		if err := formWebPush.check(top); err != nil {
			return Device{}, err
		}
		d, err = r.webPush()
	case r.V == SecretVersion && r.Channel == ChannelNtfy:
		if err := formNtfy.check(top); err != nil {
			return Device{}, err
		}
		d, err = r.ntfy()
	case r.V == SecretVersion:
		return Device{}, fmt.Errorf("push: record of unknown channel %q", r.Channel)
	default:
		return Device{}, fmt.Errorf("push: record version %d (want 1 or %d)", r.V, SecretVersion)
	}
	if err != nil {
		return Device{}, err
	}
	if err := validateName(r.Name); err != nil {
		return Device{}, err
	}
	d.Name = r.Name
	return d, nil
}

func (r record) webPush() (Device, error) {
	der, err := base64.StdEncoding.Strict().DecodeString(r.PublicKey)
	if err != nil {
		return Device{}, errors.New("push: record: public key is not standard base64")
	}
	pub, err := parseSPKI(der)
	if err != nil {
		return Device{}, err
	}
	if r.Subscription == nil {
		return Device{}, errors.New("push: record: no subscription")
	}
	sub := Subscription{Endpoint: r.Subscription.Endpoint, P256dh: r.Subscription.P256dh, Auth: r.Subscription.Auth}
	if err := sub.Validate(); err != nil {
		return Device{}, err
	}
	return Device{Channel: ChannelWebPush, PublicKey: pub, Subscription: sub}, nil
}

func (r record) ntfy() (Device, error) {
	if err := validateTopic(r.Topic); err != nil {
		return Device{}, err
	}
	if err := validateSite(r.Site); err != nil {
		return Device{}, err
	}
	return Device{Channel: ChannelNtfy, Topic: r.Topic, Site: r.Site}, nil
}

// checkKeys walks the JSON tokens of b and refuses an object key that is
// repeated or is not spelled exactly as a record field: encoding/json alone
// would match keys case-insensitively and keep the last of duplicates.
// DisallowUnknownFields then refuses a known key at the wrong level. It
// returns the keys of the top-level object, for the record's form.
func checkKeys(b []byte) (map[string]bool, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	// Each open object or array; objects carry their keys seen so far.
	type level struct {
		keys     map[string]bool
		wantsKey bool
	}
	var stack []*level
	var top map[string]bool
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			return top, nil
		}
		if err != nil {
			return nil, fmt.Errorf("push: record: %w", err)
		}
		var cur *level
		if len(stack) > 0 {
			cur = stack[len(stack)-1]
		}
		if cur != nil && cur.keys != nil && cur.wantsKey && tok != json.Delim('}') {
			k, ok := tok.(string)
			if !ok || !recordKeys[k] || cur.keys[k] {
				return nil, fmt.Errorf("push: record: unexpected or repeated key %q", strings.ToValidUTF8(fmt.Sprint(tok), "?"))
			}
			cur.keys[k] = true
			cur.wantsKey = false
			continue
		}
		switch tok {
		case json.Delim('{'):
			l := &level{keys: map[string]bool{}, wantsKey: true}
			if len(stack) == 0 && top == nil {
				top = l.keys
			}
			stack = append(stack, l)
			continue
		case json.Delim('['):
			stack = append(stack, &level{})
			continue
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
		}
		// A value (or a closed object or array) was read: the enclosing
		// object, if any, expects a key next.
		if len(stack) > 0 && stack[len(stack)-1].keys != nil {
			stack[len(stack)-1].wantsKey = true
		}
	}
}
