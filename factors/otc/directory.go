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
// they now are: a device for a number or address that appeared, a new one
// (keeping the old one's disabled state) for one that changed. A value
// that went (or no longer parses, or whose country is not allowed)
// disables its device rather than removing it: a user whose only device
// it was must not fall back to the password alone. A value the user added
// themself adds nothing. In the common case, nothing changed, it writes
// nothing. Each change is logged: whoever can edit a user's directory
// entry can receive their codes.
func (s *Sender) SyncDirectory(ctx context.Context, user string, p store.Profile, have []store.Enrollment) ([]store.Enrollment, error) {
	want := s.directoryDestinations(p)
	if len(want) == 0 && !hasDirectoryDevice(have) {
		return have, nil
	}
	out := make([]store.Enrollment, 0, len(have)+len(want))
	disabled := map[string]bool{}
	was := map[string]string{}
	var errs []error
	for _, en := range have {
		dest, err := Destination(en)
		if !auth.IsSentKind(en.Kind) || err != nil {
			out = append(out, en)
			continue
		}
		switch {
		case want[en.Kind] == dest:
			delete(want, en.Kind) // in step, or the user added it themself
			out = append(out, en)
		case en.CreatedBy != FromDirectory:
			out = append(out, en)
		case want[en.Kind] == "":
			// Gone from the directory: disabled, never removed.
			if !en.Disabled {
				err := s.st.UpdateEnrollment(ctx, user, en.ID, func(e *store.Enrollment) error {
					e.Disabled = true
					return nil
				})
				if err != nil {
					errs = append(errs, err)
				} else {
					en.Disabled = true
					s.log.Warn("a directory device was disabled: the directory no longer gives a usable value",
						"user", user, "kind", en.Kind, "was", Mask(en.Kind, dest))
				}
			}
			out = append(out, en)
		default:
			// Changed: the new value replaces it below.
			disabled[en.Kind], was[en.Kind] = disabled[en.Kind] || en.Disabled, dest
			if err := s.st.DeleteEnrollment(ctx, user, en.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
				errs = append(errs, err)
				out = append(out, en)
				delete(want, en.Kind)
			}
		}
	}
	for _, kind := range auth.SentKinds() {
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
		if old, changed := was[kind]; changed {
			s.log.Warn("a directory device now sends elsewhere: the directory's value changed",
				"user", user, "kind", kind, "to", Mask(kind, dest), "was", Mask(kind, old), "disabled", en.Disabled)
		} else {
			s.log.Info("a device was added from the directory", "user", user, "kind", kind, "to", Mask(kind, dest))
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
