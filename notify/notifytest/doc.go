// Package notifytest runs real receivers of admin notifications on
// loopback for tests: an SMTP server (emersion/go-smtp) with STARTTLS,
// implicit TLS or none and optional AUTH PLAIN, and a webhook receiver that
// checks the HMAC signature. Both record what they received, for a test to
// wait for and inspect. It does not import notify, so notify's own tests can
// use it.
package notifytest
