package bolt

import (
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"radiusmfa/store"
)

// BenchmarkAdvanceCounterParallel measures accepted codes per second when
// many logins on distinct enrollments arrive together, the case group commit
// exists for. Each goroutine owns one enrollment; goroutines = factor ×
// GOMAXPROCS. Compare with BenchmarkAdvanceCounterSerial, where every call
// pays for its own fsync.
func BenchmarkAdvanceCounterParallel(b *testing.B) {
	for _, factor := range []int{1, 16, 128} {
		goroutines := factor * runtime.GOMAXPROCS(0)
		b.Run(fmt.Sprint("goroutines=", goroutines), func(b *testing.B) {
			db := benchDB(b, goroutines)
			var next atomic.Int64
			b.SetParallelism(factor)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				id := fmt.Sprint("e", next.Add(1)-1)
				for c := uint64(1); pb.Next(); c++ {
					if err := db.AdvanceCounter(b.Context(), "bench", id, c, time.Now()); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "codes/s")
		})
	}
}

// BenchmarkAdvanceCounterSerial is the baseline: one caller at a time, one
// transaction and one fsync per accepted code.
func BenchmarkAdvanceCounterSerial(b *testing.B) {
	db := benchDB(b, 1)
	b.ResetTimer()
	for c := uint64(1); c <= uint64(b.N); c++ {
		if err := db.AdvanceCounter(b.Context(), "bench", "e0", c, time.Now()); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "codes/s")
}

// benchDB opens a database holding one user with n enrollments e0…e(n-1).
func benchDB(b *testing.B, n int) *DB {
	b.Helper()
	db, _ := openTemp(b, Options{})
	ctx := b.Context()
	if err := db.CreateUser(ctx, store.User{Name: "bench"}); err != nil {
		b.Fatal(err)
	}
	for i := range n {
		e := store.Enrollment{ID: fmt.Sprint("e", i), User: "bench", Kind: "totp",
			Secret: []byte("12345678901234567890"), Digits: 6, Algorithm: "SHA1", Period: 30}
		if err := db.AddEnrollment(ctx, e); err != nil {
			b.Fatal(err)
		}
	}
	return db
}

// BenchmarkLoginReads measures the store reads of one login: GetUser, then
// Enrollments, which decodes the record and opens the sealed secret. Users
// look like real ones: a PHC argon2id hash, a role, one TOTP enrollment.
func BenchmarkLoginReads(b *testing.B) {
	db, names := loginDB(b, 1000)
	ctx := b.Context()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		name := names[i%len(names)]
		if _, err := db.GetUser(ctx, name); err != nil {
			b.Fatal(err)
		}
		list, err := db.Enrollments(ctx, name)
		if err != nil || len(list) != 1 {
			b.Fatal(len(list), err)
		}
	}
}

// BenchmarkLoginState measures what a login reads now: user, lockout
// counter and devices in one transaction (BenchmarkLoginReads, plus the
// lockout read, took three).
func BenchmarkLoginState(b *testing.B) {
	db, names := loginDB(b, 1000)
	ctx := b.Context()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		st, err := db.LoginState(ctx, names[i%len(names)])
		if err != nil || !st.UserFound || len(st.Enrollments) != 1 {
			b.Fatal(len(st.Enrollments), err)
		}
	}
}

// loginDB holds users that look like real ones: a PHC argon2id hash, a
// role, one TOTP enrollment.
func loginDB(b *testing.B, users int) (*DB, []string) {
	db, _ := openTemp(b, Options{NoSync: true})
	names := make([]string, users)
	ctx := b.Context()
	hash := "$argon2id$v=19$m=65536,t=3,p=4$c29tZXNhbHRzb21lc2FsdA$" +
		"qnuHEKe1mT8ZK4Xs0RWfQx8KpY5Gm1bQ3CNV5NjJ0nI"
	for i := range users {
		name := fmt.Sprintf("user%05d", i)
		names[i] = name
		u := store.User{Name: name, PasswordHash: hash, Roles: []string{"vpn"}}
		if err := db.CreateUser(ctx, u); err != nil {
			b.Fatal(err)
		}
		e := store.Enrollment{ID: "totp-1", User: name, Kind: "totp", Label: "phone",
			Secret: []byte("12345678901234567890"), Digits: 6, Algorithm: "SHA1", Period: 30,
			Counter: 59_000_000, LastUsedAt: time.Now()}
		if err := db.AddEnrollment(ctx, e); err != nil {
			b.Fatal(err)
		}
	}
	return db, names
}
