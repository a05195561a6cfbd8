// Package delivery sends the one-time login codes of the text message,
// voice and email factors. A [Provider] takes one [Message] and hands it
// to whatever carries it the last mile: a Twilio-compatible REST API
// ([Twilio], for text messages and calls), an HTTP endpoint of the admin's
// own ([Webhook]), a local program ([Command]), or an SMTP server ([SMTP]).
//
// A message holds a live code, and a provider's error is logged and
// counted, so no error here ever quotes the code, the message's text, a
// URL's path or query, or a credential. What a provider quotes from the
// far side (a response body, a program's stderr) is cleared of the code,
// put on one line and cut short first. A provider never retries: whether a
// code is sent again is the login's decision, not the transport's.
//
// Package deliverytest runs loopback receivers (a Twilio-shaped API, a
// webhook) for the tests of this package and of its callers.
package delivery
