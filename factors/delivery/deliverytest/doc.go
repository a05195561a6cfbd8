// Package deliverytest runs loopback stand-ins for the far ends of
// factors/delivery, for the tests of that package and of the factors that
// send codes: a server speaking Twilio's REST shape ([NewTwilio],
// [NewTwilioTLS]) and a webhook receiver ([NewWebhook]), each recording
// what it got for a test to wait for and inspect. Mail goes to
// notify/notifytest's SMTP server; [MailParts] and [FindCode] read a code
// back out of what it received.
//
// It does not import delivery, so delivery's own tests can use it.
package deliverytest
