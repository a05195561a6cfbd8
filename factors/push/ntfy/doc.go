// Package ntfy delivers push-approval requests to the ntfy app through the
// site's own ntfy server: each login's notification is published (ntfy's
// JSON publish API: a POST to the server's root URL) to the device's secret
// topic, with up to three "http" action buttons that POST one-time
// approval links back to the enrollment site. The links themselves are
// made and checked in package push (LinkKey); this package only publishes.
//
// Invariant: the access token and the topic never appear in an error or a
// log line; errors name the ntfy server by host. The topic is a secret: who
// knows it sees the requests and can answer them.
package ntfy
