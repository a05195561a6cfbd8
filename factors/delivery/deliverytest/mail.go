package deliverytest

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"net/textproto"
	"regexp"
	"strings"

	"radiusmfa/notify/notifytest"
)

// MailParts returns the decoded text/plain and text/html bodies of a mail
// notifytest's server received, from a single part or from the parts of a
// multipart message (nested ones included). A missing part is "".
func MailParts(m notifytest.Mail) (text, html string, err error) {
	msg, err := mail.ReadMessage(bytes.NewReader(m.Raw))
	if err != nil {
		return "", "", err
	}
	parts := map[string]string{}
	if err := readPart(textproto.MIMEHeader(msg.Header), msg.Body, parts, 0); err != nil {
		return "", "", err
	}
	return parts["text/plain"], parts["text/html"], nil
}

// readPart adds the text parts of one MIME entity to parts, by media
// type; the first of each type wins.
func readPart(h textproto.MIMEHeader, body io.Reader, parts map[string]string, depth int) error {
	if depth > 5 {
		return errors.New("deliverytest: multipart nested too deep")
	}
	mediaType, params, err := mime.ParseMediaType(h.Get("Content-Type"))
	if err != nil {
		mediaType, params = "text/plain", nil // RFC 2045's default
	}
	if strings.HasPrefix(mediaType, "multipart/") {
		r := multipart.NewReader(body, params["boundary"])
		for {
			p, err := r.NextPart() // undoes quoted-printable itself
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return err
			}
			if err := readPart(p.Header, p, parts, depth+1); err != nil {
				return err
			}
		}
	}
	switch strings.ToLower(h.Get("Content-Transfer-Encoding")) {
	case "quoted-printable":
		body = quotedprintable.NewReader(body)
	case "base64":
		body = base64.NewDecoder(base64.StdEncoding, body)
	}
	b, err := io.ReadAll(body)
	if err != nil {
		return fmt.Errorf("deliverytest: %s part: %w", mediaType, err)
	}
	if _, seen := parts[mediaType]; !seen {
		parts[mediaType] = string(b)
	}
	return nil
}

// codePattern is a one-time code: 6 to 8 digits standing alone.
var codePattern = regexp.MustCompile(`(?:^|[^0-9])([0-9]{6,8})(?:[^0-9]|$)`)

// FindCode returns the first one-time code in s (a text message, a mail's
// body): a run of 6 to 8 digits with no digit either side; "" if none.
func FindCode(s string) string {
	if m := codePattern.FindStringSubmatch(s); m != nil {
		return m[1]
	}
	return ""
}
