// Package notify tells the admins of events that need a person: a push
// denied and reported as not the user's, push suspended for a user after a
// run of denied or unanswered pushes, and a login reported on the site as
// "this wasn't me".
//
// A [Notifier] delivers each [Event] to its channels (a [Webhook], an
// [Email] sender) off the request path: Notify never blocks. Every channel
// has its own bounded queue and worker, so a slow mail server does not delay
// the webhook; when a queue is full the event is dropped for that channel,
// counted and logged. A failed delivery is retried a few times with
// back-off unless the error is [Permanent] (a webhook's 4xx answer).
//
// Events carry names and places, never a secret: no code, token, password
// or key is put in one, and the webhook's signing secret and the SMTP
// password appear in no message or log line.
package notify
