package delivery

import (
	"context"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

const testCode = "493817"

// codeMessage is a message as the code factors build them.
func codeMessage(ch Channel, to string) Message {
	return Message{Channel: ch, To: to, Code: testCode, Subject: "Your radiusmfa code",
		Text: "Your radiusmfa code is " + testCode + ". It expires in 10 minutes."}
}

// send sends m with a deadline well past what any test here needs.
func send(t *testing.T, p Provider, m Message) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return p.Send(ctx, m)
}

// checkSecretFree fails t unless err is an error whose text holds neither
// m's code nor its text, nor any of also (URL paths, tokens).
func checkSecretFree(t *testing.T, err error, m Message, also ...string) {
	t.Helper()
	if err == nil {
		t.Fatal("no error")
	}
	for _, s := range append([]string{m.Code, m.Text}, also...) {
		if s != "" && strings.Contains(err.Error(), s) {
			t.Errorf("the error holds %q: %v", s, err)
		}
	}
}

func TestInvariantErrorsHoldNoCode(t *testing.T) {
	m := codeMessage(SMS, "+15855550123")
	for _, in := range []string{
		m.Text,
		"rejected: " + m.Text + " (spam)",
		`{"message":"bad body 'Your code ` + testCode + `'"}`,
		"Your code is 4 9 3 8 1 7.",
		"Your code is 4, 9, 3, 8, 1, 7.",
		"code 493-817 refused",
		"x" + testCode + "x",
	} {
		got := quote(in, m)
		if strings.Contains(got, testCode) || strings.Contains(got, m.Text) || strings.Contains(got, "4 9 3 8 1 7") ||
			strings.Contains(got, "4, 9, 3") || strings.Contains(got, "493-817") {
			t.Errorf("quote(%q) = %q: the code is left", in, got)
		}
	}
	// A message without a code clears its text and nothing else.
	if got := quote("abc 493817", Message{Text: "abc"}); got != "[message] 493817" {
		t.Errorf("without a code: %q", got)
	}
}

// Destinations are logged masked by the caller: quoted errors hold them
// in no form (Twilio's "The 'To' number 15855550123 is not valid", the
// recipients go-mail lists).
func TestQuoteHoldsNoDestination(t *testing.T) {
	for _, c := range []struct{ to, in string }{
		{"+15855550123", "The 'To' number +15855550123 is not a valid phone number."},
		{"+15855550123", "Permission to send an SMS has not been enabled for the region indicated by the 'To' number: 15855550123."},
		{"Alice@Example.com", "550 5.1.1 unknown user, affected recipient(s): alice@example.com"},
	} {
		got := quote(c.in, Message{Channel: SMS, To: c.to, Text: "Your code is " + testCode, Code: testCode})
		if strings.Contains(strings.ToLower(got), strings.ToLower(strings.TrimPrefix(c.to, "+"))) || !strings.Contains(got, "[to]") {
			t.Errorf("quote(%q) = %q", c.in, got)
		}
	}
}

func TestQuoteIsOneShortLine(t *testing.T) {
	m := codeMessage(SMS, "+15855550123")
	got := quote("line one\r\n\tline two\x00\x1b[31m  red", m)
	if got != "line one line two [31m red" {
		t.Errorf("quote = %q", got)
	}
	long := strings.Repeat("é", 300) // 600 bytes, 2 each
	got = quote(long, m)
	if len(got) > maxQuote+len("…") || !utf8.ValidString(got) || !strings.HasSuffix(got, "…") {
		t.Errorf("quote of 600 bytes: %d bytes, valid %v: %q", len(got), utf8.ValidString(got), got)
	}
	if quote("", m) != "" {
		t.Error("quote of nothing is not empty")
	}
}

func TestCheckMessage(t *testing.T) {
	m := codeMessage(SMS, "+15855550123")
	if err := checkMessage("x", m, SMS, Voice); err != nil {
		t.Errorf("a good message: %v", err)
	}
	for name, edit := range map[string]func(*Message){
		"channel": func(m *Message) { m.Channel = Email },
		"unknown": func(m *Message) { m.Channel = "pigeon" },
		"to":      func(m *Message) { m.To = "" },
		"text":    func(m *Message) { m.Text = "" },
	} {
		bad := m
		edit(&bad)
		err := checkMessage("x", bad, SMS, Voice)
		if err == nil {
			t.Errorf("%s: accepted", name)
			continue
		}
		checkSecretFree(t, err, m)
	}
}
