package envsync

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"
)

// ForEachApp keeps to its bound, reports every app once, in the apps'
// order, and says which app ran out of time.
func TestForEachApp(t *testing.T) {
	apps := make([]*App, 40)
	for i := range apps {
		apps[i] = &App{Name: fmt.Sprintf("app%02d", i)}
	}
	var running, peak atomic.Int64
	var progress []int
	errs := ForEachApp(t.Context(), apps, RunOptions{Parallel: 4, Timeout: 50 * time.Millisecond, Progress: func(done, total int) {
		if total != len(apps) {
			t.Errorf("progress total %d; want %d", total, len(apps))
		}
		progress = append(progress, done)
	}}, func(ctx context.Context, i int, app *App) error {
		n := running.Add(1)
		defer running.Add(-1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		if i == 7 {
			<-ctx.Done() // a store that never answers
			return ctx.Err()
		}
		time.Sleep(time.Millisecond)
		if i%10 == 3 {
			return fmt.Errorf("app %s: %w", app.Name, ErrNotFound)
		}
		return nil
	})
	if p := peak.Load(); p > 4 || p < 1 {
		t.Errorf("%d apps at once; want at most 4", p)
	}
	if len(progress) != len(apps) || progress[len(progress)-1] != len(apps) {
		t.Errorf("progress %v", progress)
	}
	for i, err := range errs {
		switch {
		case i == 7:
			if !errors.Is(err, ErrUnreachable) || Hint(err) == "" {
				t.Errorf("app 7: %v; want a timeout wrapping ErrUnreachable, with a hint", err)
			}
		case i%10 == 3:
			if !errors.Is(err, ErrNotFound) || err.Error() != fmt.Sprintf("app %s: not found", apps[i].Name) {
				t.Errorf("app %d: %v; want its own error", i, err)
			}
		case err != nil:
			t.Errorf("app %d: %v", i, err)
		}
	}
}

// A budget lets requests go at once while the bucket is above its reserve,
// then only as the bucket refills; a report lower than it thought slows it
// at once. (Takes with a cancelled context succeed only when they need not
// wait.)
func TestRateBudget(t *testing.T) {
	b := NewRateBudget(0.001, 5) // refills a token every 1000 s: nothing refills during the test
	cancelled, cancel := context.WithCancel(t.Context())
	cancel()
	done, err := b.Take(cancelled) // the first request goes alone, to learn the bucket
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Take(cancelled); err == nil {
		t.Fatal("a second request went before the first answer said what is left")
	}
	done(20)
	for i := range 15 { // 20 left, 5 kept in reserve
		done, err := b.Take(cancelled)
		if err != nil {
			t.Fatalf("take %d of 15 above the reserve: %v", i+1, err)
		}
		done(-1)
	}
	if _, err := b.Take(cancelled); err == nil {
		t.Fatal("a request went into the reserve")
	}
	if b.Used() != 16 || b.Left() != 20 {
		t.Errorf("used %d, left %d; want 16 and 20", b.Used(), b.Left())
	}

	// Someone else used the account: a lower report holds this run back.
	b = NewRateBudget(0.001, 0)
	done, _ = b.Take(cancelled)
	done(100)
	done, _ = b.Take(cancelled)
	done(0)
	if _, err := b.Take(cancelled); err == nil {
		t.Error("a request went after the account reported an empty bucket")
	}

	// An API that does not say what is left is not paced.
	b = NewRateBudget(0.001, 0)
	done, _ = b.Take(cancelled)
	done(NoHeader)
	for i := range 100 {
		done, err := b.Take(cancelled)
		if err != nil {
			t.Fatalf("take %d without a RateLimit-Remaining header: %v", i+1, err)
		}
		done(NoHeader)
	}
}
