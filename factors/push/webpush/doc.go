// Package webpush delivers push-approval requests to a paired phone through
// the browser's push service (Web Push): RFC 8030 delivery, with the payload
// encrypted to the subscription's keys per RFC 8291 (aes128gcm) and the
// server identified by a VAPID key pair per RFC 8292. The wire work is done
// by github.com/SherClockHolmes/webpush-go; this package owns the key pair
// (generated on first run and kept sealed in the store), the checks around
// each send (https endpoint, payload size, subscription keys) and the
// mapping of push-service replies to errors, above all ErrGone, on which
// the caller disables the device.
//
// Invariant: payloads, subscription keys and the VAPID private key never
// appear in an error or a log line; errors name the push service by host,
// not by the endpoint URL, whose path identifies the device.
package webpush
