package factortest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"radiusmfa/store"
)

var t0 = time.Date(2026, 3, 1, 9, 30, 0, 0, time.UTC)

// updater is a store under test with a way to read back what it holds.
type updater interface {
	UpdateEnrollment(ctx context.Context, user, id string, fn func(*store.Enrollment) error) error
	Stored(t testing.TB, e store.Enrollment) store.Enrollment
}

// both returns the fake and a real store, each holding e.
func both(t *testing.T, e store.Enrollment) map[string]updater {
	db := OpenBolt(t)
	db.Add(t, store.Enrollment{ID: "other", User: "bob", Kind: "totp", Secret: []byte("s"), CreatedAt: t0})
	db.Add(t, e)
	return map[string]updater{"fake": NewStore(e), "bolt": db}
}

func enrollment() store.Enrollment {
	return store.Enrollment{ID: "e1", User: "alice", Kind: "bypass", Label: "issued",
		Secret: []byte("salt and digest"), Counter: 1, CreatedAt: t0, LastUsedAt: t0.Add(time.Minute), ExpiresAt: t0.Add(time.Hour),
		MaxUses: 2, CreatedBy: "helpdesk"}
}

// change is an edit of one enrollment field inside UpdateEnrollment.
type change struct {
	name string
	edit func(*store.Enrollment)
}

// everyFieldChange returns a change to each field of store.Enrollment, found
// by reflection so a field added later is covered too, and the edits of
// Secret a careless store might miss: in place and removed.
func everyFieldChange(t *testing.T) []change {
	var cs []change
	for i, f := range reflect.VisibleFields(reflect.TypeFor[store.Enrollment]()) {
		cs = append(cs, change{f.Name, func(e *store.Enrollment) {
			v := reflect.ValueOf(e).Elem().Field(i)
			switch x := v.Addr().Interface().(type) {
			case *string:
				*x += "x"
			case *int:
				*x++
			case *uint64:
				*x++
			case *bool:
				*x = !*x
			case *[]byte:
				*x = append(*x, 1)
			case *time.Time:
				*x = x.Add(time.Second)
			default:
				t.Fatalf("no change for field %s of type %s", f.Name, f.Type)
			}
		}})
	}
	return append(cs,
		change{"Secret in place", func(e *store.Enrollment) { e.Secret[0] ^= 1 }},
		change{"Secret removed", func(e *store.Enrollment) { e.Secret = nil }})
}

// TestStoreRefusesLikeBolt changes each field of an enrollment in turn on the
// fake and on the real store: both refuse the same changes with ErrInvalid,
// keeping the record as it was, and store the others alike.
func TestStoreRefusesLikeBolt(t *testing.T) {
	refused := 0
	for _, c := range everyFieldChange(t) {
		want := enrollment()
		results := map[string]string{}
		for name, s := range both(t, want) {
			err := s.UpdateEnrollment(context.Background(), want.User, want.ID, func(e *store.Enrollment) error {
				c.edit(e)
				return nil
			})
			got := s.Stored(t, want)
			if errors.Is(err, store.ErrInvalid) && !reflect.DeepEqual(got, want) {
				t.Errorf("%s, changing %s: refused, yet stored %+v", name, c.name, got)
			}
			results[name] = fmt.Sprintf("refused %v, stored %+v", errors.Is(err, store.ErrInvalid), got)
		}
		if results["fake"] != results["bolt"] {
			t.Errorf("changing %s:\nfake %s\nbolt %s", c.name, results["fake"], results["bolt"])
		}
		if strings.HasPrefix(results["fake"], "refused true") {
			refused++
		}
	}
	if refused == 0 {
		t.Error("no change was refused")
	}
}

// TestStoreUpdatesLikeBolt: the writable fields are written, an error from
// fn aborts with nothing written, and a missing enrollment is ErrNotFound.
func TestStoreUpdatesLikeBolt(t *testing.T) {
	orig := enrollment()
	for name, s := range both(t, orig) {
		ctx := context.Background()
		errStop := errors.New("stop")
		err := s.UpdateEnrollment(ctx, orig.User, orig.ID, func(e *store.Enrollment) error {
			e.Label, e.Counter = "changed", 7
			return errStop
		})
		if !errors.Is(err, errStop) || !reflect.DeepEqual(s.Stored(t, orig), orig) {
			t.Errorf("%s: fn's error: got %v and %+v", name, err, s.Stored(t, orig))
		}
		want := orig
		want.Disabled, want.Counter, want.LastUsedAt = true, 2, t0.Add(time.Minute)
		want.ExpiresAt, want.MaxUses = t0.Add(2*time.Hour), 5
		err = s.UpdateEnrollment(ctx, orig.User, orig.ID, func(e *store.Enrollment) error {
			e.Disabled, e.Counter, e.LastUsedAt, e.ExpiresAt, e.MaxUses =
				want.Disabled, want.Counter, want.LastUsedAt, want.ExpiresAt, want.MaxUses
			return nil
		})
		if got := s.Stored(t, orig); err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("%s: update: got %v and\n %+v\nwant %+v", name, err, got, want)
		}
		err = s.UpdateEnrollment(ctx, orig.User, "missing", func(*store.Enrollment) error { return nil })
		if !errors.Is(err, store.ErrNotFound) {
			t.Errorf("%s: missing enrollment: got %v, want ErrNotFound", name, err)
		}
	}
}

func TestStoreFailAndCalls(t *testing.T) {
	e := enrollment()
	m := NewStore(e)
	m.Fail(errors.New("disk on fire"))
	err := m.UpdateEnrollment(context.Background(), e.User, e.ID, func(s *store.Enrollment) error {
		t.Error("fn ran on a broken store")
		return nil
	})
	if err == nil || err.Error() != "disk on fire" || m.Calls() != 1 {
		t.Errorf("broken store: got %v after %d calls", err, m.Calls())
	}
	m.Delete(e)
	m.Fail(nil)
	if err := m.UpdateEnrollment(context.Background(), e.User, e.ID, nil); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("deleted: got %v, want ErrNotFound", err)
	}
}

func TestDBReopenKeepsCommitted(t *testing.T) {
	e := enrollment()
	db := OpenBolt(t)
	db.Add(t, e)
	db.Reopen(t)
	if got := db.Stored(t, e); !reflect.DeepEqual(got, e) {
		t.Errorf("after reopen: %+v\nwant %+v", got, e)
	}
}
