package integration

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"testing"
	"time"
)

// answerWithNumber posts a signed approval with the number the user picked.
func (ap *approver) answerWithNumber(nonce string, number int) (string, error) {
	now := time.Now().Unix()
	sig, err := ap.sign("radiusmfa-push-v2\n" + nonce + "\n" + ap.user + "\napprove\n" + strconv.Itoa(number) + "\n" + strconv.FormatInt(now, 10))
	if err != nil {
		return "", err
	}
	status, body, err := ap.site.postJSON("/approver/answer", map[string]any{"nonce": nonce, "user": ap.user,
		"verdict": "approve", "time": now, "signature": sig, "number": number})
	if err != nil {
		return "", err
	}
	var res struct{ Verdict string }
	if status != http.StatusOK || json.Unmarshal(body, &res) != nil {
		return "", fmt.Errorf("POST /approver/answer: %d %s", status, body)
	}
	return res.Verdict, nil
}

var numberRe = regexp.MustCompile(`Your number is (\d\d)`)

// TestPushNumberMatching: a client in challenge mode with number_matching:
// the menu offers the phone; choosing it shows a number in the next
// Access-Challenge; the phone gets the number among three choices; the
// answer to the challenge waits on the push, and only the right pick
// logs in.
func TestPushNumberMatching(t *testing.T) {
	t.Parallel()
	o := pushServerOpts()
	o.Challenge = "challenge"
	o.MoreClients = firstClientKeys("number_matching: true") + o.MoreClients
	s := startServer(t, o)
	ps := startPushService(t)
	addr := s.authAddr(t)

	for _, right := range []bool{true, false} {
		a := s.newAccount(t, fmt.Sprintf("number-user-%v", right))
		ph := pairApprover(t, s, ps, a)
		r := login(t, addr, a.Name, a.Password)
		s.expectCode(t, r, "Access-Challenge")
		if want := "1. Push to go phone"; !regexp.MustCompile(regexp.QuoteMeta(want)).MatchString(r.ReplyMessage) {
			s.fatalf(t, "menu %q does not offer %q", r.ReplyMessage, want)
		}
		r = answer(t, addr, a.Name, "1", r.State)
		s.expectCode(t, r, "Access-Challenge")
		m := numberRe.FindStringSubmatch(r.ReplyMessage)
		if m == nil {
			s.fatalf(t, "no number shown: %q", r.ReplyMessage)
		}
		shown, _ := strconv.Atoi(m[1])
		msg, ok := ph.next(10 * time.Second)
		if !ok {
			s.fatalf(t, "no push reached the phone")
		}
		if len(msg.Context.Choices) != 3 {
			s.fatalf(t, "choices %v", msg.Context.Choices)
		}
		pick := -1
		for _, c := range msg.Context.Choices {
			if (c == shown) == right {
				pick = c
				break
			}
		}
		if pick < 0 {
			s.fatalf(t, "the shown number %d is not among the choices %v", shown, msg.Context.Choices)
		}
		verdict, err := ph.answerWithNumber(msg.Nonce, pick)
		if err != nil {
			s.fatalf(t, "phone: %v", err)
		}
		want, code := "approved", "Access-Accept"
		if !right {
			want, code = "denied", "Access-Reject"
		}
		if verdict != want {
			t.Errorf("pick %d of %d: verdict %q, want %q", pick, shown, verdict, want)
		}
		s.expectCode(t, answer(t, addr, a.Name, "ok", r.State), code)
	}
}
