package otc

import (
	"context"
	"errors"
	"fmt"

	"radiusmfa/auth"
	"radiusmfa/factors/email"
	"radiusmfa/store"
)

// FromDirectory is the CreatedBy of the devices a Sender keeps for the
// phone number and address a directory holds.
const FromDirectory = "directory"

// DirectoryOptions say which of a directory's contact details a Sender
// trusts as destinations of codes.
type DirectoryOptions struct {
	Phone bool // the phone attribute, for text messages (or calls, when only those are sent)
	Mail  bool // the mail attribute
}

// SyncDirectory keeps user's devices made from the directory's profile p
// in step with it, given the devices the user has, and returns them as
// they now are: a device for a number or address that appeared, none for
// one that went, a new one (keeping the old one's disabled state) for one
// that changed. In the common case, nothing changed, it writes nothing.
// An attribute that does not parse (or whose country is not allowed)
// gives no device.
func (s *Sender) SyncDirectory(ctx context.Context, user string, p store.Profile, have []store.Enrollment) ([]store.Enrollment, error) {
	want := s.directoryDestinations(p)
	if len(want) == 0 && !hasDirectoryDevice(have) {
		return have, nil
	}
	out := make([]store.Enrollment, 0, len(have)+len(want))
	disabled := map[string]bool{}
	var errs []error
	for _, en := range have {
		if en.CreatedBy != FromDirectory {
			if dest, err := Destination(en); err == nil && isSentKind(en.Kind) && want[en.Kind] == dest {
				delete(want, en.Kind) // the user added it themself
			}
			out = append(out, en)
			continue
		}
		if dest, err := Destination(en); err == nil && want[en.Kind] == dest {
			delete(want, en.Kind)
			out = append(out, en)
			continue
		}
		disabled[en.Kind] = disabled[en.Kind] || en.Disabled
		if err := s.st.DeleteEnrollment(ctx, user, en.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
			errs = append(errs, err)
			out = append(out, en)
		}
	}
	for _, kind := range sentKinds {
		dest, ok := want[kind]
		if !ok {
			continue
		}
		label := "Mobile (directory)"
		if kind == auth.KindEmail {
			label = "Email (directory)"
		}
		en, err := s.newEnrollment(user, kind, label, dest)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		en.CreatedBy, en.Disabled = FromDirectory, disabled[kind]
		if err := s.st.AddEnrollment(ctx, en); err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, en)
	}
	if err := errors.Join(errs...); err != nil {
		return out, fmt.Errorf("otc: keeping the directory's devices of %s: %w", user, err)
	}
	return out, nil
}

// directoryDestinations are the destinations p gives, by kind.
func (s *Sender) directoryDestinations(p store.Profile) map[string]string {
	want := map[string]string{}
	if s.o.Directory.Phone && p.Phone != "" {
		if n, err := s.o.PhoneRules.Parse(p.Phone); err == nil {
			switch {
			case s.Sends(auth.KindSMS):
				want[auth.KindSMS] = string(n)
			case s.Sends(auth.KindVoice):
				want[auth.KindVoice] = string(n)
			}
		}
	}
	if s.o.Directory.Mail && p.Mail != "" && s.Sends(auth.KindEmail) {
		if a, err := email.ParseAddress(p.Mail); err == nil {
			want[auth.KindEmail] = a
		}
	}
	return want
}

func hasDirectoryDevice(es []store.Enrollment) bool {
	for _, en := range es {
		if en.CreatedBy == FromDirectory {
			return true
		}
	}
	return false
}
