package push

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// SecretVersion is the version of the record EncodeSecret writes.
const SecretVersion = 1

// maxSecretLen bounds what DecodeSecret reads: a record is well under 3 KiB.
const maxSecretLen = 8 << 10

// record is the stored form of a Device:
//
//	{"v":1,"public_key":"<SPKI DER, standard base64>",
//	 "subscription":{"endpoint":"https://…","p256dh":"…","auth":"…"},"name":"…"}
type record struct {
	V            int                `json:"v"`
	PublicKey    string             `json:"public_key"`
	Subscription subscriptionRecord `json:"subscription"`
	Name         string             `json:"name,omitempty"`
}

type subscriptionRecord struct {
	Endpoint string `json:"endpoint"`
	P256dh   string `json:"p256dh"`
	Auth     string `json:"auth"`
}

// recordKeys are the only object keys a record may hold, spelled exactly.
var recordKeys = map[string]bool{
	"v": true, "public_key": true, "subscription": true, "name": true,
	"endpoint": true, "p256dh": true, "auth": true,
}

// EncodeSecret returns the enrollment Secret of d, after checking d as
// strictly as DecodeSecret would.
func EncodeSecret(d Device) ([]byte, error) {
	der, err := marshalKey(d.PublicKey)
	if err != nil {
		return nil, err
	}
	if err := d.Subscription.Validate(); err != nil {
		return nil, err
	}
	if err := validateName(d.Name); err != nil {
		return nil, err
	}
	return json.Marshal(record{
		V:         SecretVersion,
		PublicKey: base64.StdEncoding.EncodeToString(der),
		Subscription: subscriptionRecord{
			Endpoint: d.Subscription.Endpoint, P256dh: d.Subscription.P256dh, Auth: d.Subscription.Auth,
		},
		Name: d.Name,
	})
}

// Invariant: DecodeSecret accepts only what EncodeSecret could have written:
// version 1, known keys spelled exactly and once each, no trailing data, a
// canonical P-256 SPKI in standard base64, a valid subscription and name.
// Whatever it accepts encodes again and decodes to the same device.
// (TestInvariantDecodeAcceptsOnlyEncodable, FuzzDecodeSecret)

// DecodeSecret reads an enrollment Secret written by EncodeSecret.
func DecodeSecret(b []byte) (Device, error) {
	if len(b) > maxSecretLen {
		return Device{}, fmt.Errorf("push: record of %d bytes", len(b))
	}
	if err := checkKeys(b); err != nil {
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
	if r.V != SecretVersion {
		return Device{}, fmt.Errorf("push: record version %d (want %d)", r.V, SecretVersion)
	}
	der, err := base64.StdEncoding.Strict().DecodeString(r.PublicKey)
	if err != nil {
		return Device{}, errors.New("push: record: public key is not standard base64")
	}
	pub, err := parseSPKI(der)
	if err != nil {
		return Device{}, err
	}
	sub := Subscription{Endpoint: r.Subscription.Endpoint, P256dh: r.Subscription.P256dh, Auth: r.Subscription.Auth}
	if err := sub.Validate(); err != nil {
		return Device{}, err
	}
	if err := validateName(r.Name); err != nil {
		return Device{}, err
	}
	return Device{PublicKey: pub, Subscription: sub, Name: r.Name}, nil
}

// checkKeys walks the JSON tokens of b and refuses an object key that is
// repeated or is not spelled exactly as a record field: encoding/json alone
// would match keys case-insensitively and keep the last of duplicates.
// DisallowUnknownFields then refuses a known key at the wrong level.
func checkKeys(b []byte) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	// Each open object or array; objects carry their keys seen so far.
	type level struct {
		keys     map[string]bool
		wantsKey bool
	}
	var stack []*level
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("push: record: %w", err)
		}
		var top *level
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if top != nil && top.keys != nil && top.wantsKey && tok != json.Delim('}') {
			k, ok := tok.(string)
			if !ok || !recordKeys[k] || top.keys[k] {
				return fmt.Errorf("push: record: unexpected or repeated key %q", k)
			}
			top.keys[k] = true
			top.wantsKey = false
			continue
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, &level{keys: map[string]bool{}, wantsKey: true})
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
