package envsync

import (
	"context"
	"math"
	"sync"
	"time"
)

// Heroku's Platform API gives each account a bucket of 4,500 request tokens,
// refilled at about 75 a minute, and says on every response how many are
// left (RateLimit-Remaining); an empty bucket answers 429
// (https://devcenter.heroku.com/articles/platform-api-reference#rate-limits).
const (
	HerokuBucket          = 4500
	HerokuRefillPerMinute = 75.0
)

// RateBudget paces the requests of one run to a rate-limited API so that
// the account's bucket never runs dry: it slows down before a 429, never
// after. It is shared by every goroutine of the run.
//
// It starts with one request in flight, learns the bucket from the first
// RateLimit-Remaining, and then lets requests go while the bucket (as last
// reported, less the requests still in flight, plus what has refilled
// since) stays above Reserve; below it, requests go at the refill rate.
// Reports only ever lower its estimate, so other users of the same account
// (other shards, people) slow it down too.
type RateBudget struct {
	refill  float64 // tokens per second this run may count on
	reserve float64

	mu       sync.Mutex
	known    bool
	est      float64 // tokens believed left now
	at       time.Time
	inflight int
	used     int
	left     int // the latest RateLimit-Remaining (see done)
	leftSeq  int // requests sent when left was recorded
	wake     chan struct{}
}

// NewRateBudget returns a budget that counts on refillPerSecond tokens a
// second and leaves reserve tokens in the bucket for others.
func NewRateBudget(refillPerSecond float64, reserve int) *RateBudget {
	return &RateBudget{refill: refillPerSecond, reserve: float64(reserve), left: -1, wake: make(chan struct{})}
}

// NewHerokuBudget is the budget of a run against Heroku: one shard of
// shards sharing the account counts on its share of the refill.
func NewHerokuBudget(shards int) *RateBudget {
	return NewRateBudget(HerokuRefillPerMinute/60/float64(max(shards, 1)), 10)
}

// What done is told when there is no count.
const (
	NoAnswer = -1 // the request failed without a response
	NoHeader = -2 // the response carried no RateLimit-Remaining: the API does not limit, do not pace
)

// Take waits until one more request may go without emptying the bucket and
// counts it. The caller must call done once with the response's
// RateLimit-Remaining, or NoAnswer, or NoHeader.
func (b *RateBudget) Take(ctx context.Context) (done func(remaining int), err error) {
	for {
		b.mu.Lock()
		now := time.Now()
		var wait time.Duration
		switch {
		case !b.known && b.inflight == 0:
			// probe: the first answer says how much is left
		case !b.known:
			wait = time.Second // until the probe answers
		default:
			b.est += now.Sub(b.at).Seconds() * b.refill
			b.at = now
			if b.est-b.reserve < 1 {
				wait = time.Duration((1 - (b.est - b.reserve)) / b.refill * float64(time.Second))
			}
		}
		if wait == 0 {
			b.est--
			b.inflight++
			b.used++
			seq := b.used
			b.mu.Unlock()
			var once sync.Once
			return func(remaining int) { once.Do(func() { b.done(seq, remaining) }) }, nil
		}
		wake := b.wake
		b.mu.Unlock()
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-wake:
		case <-t.C:
		}
		t.Stop()
	}
}

func (b *RateBudget) done(seq, remaining int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.inflight--
	if remaining == NoHeader && !b.known {
		b.known, b.est, b.at = true, math.Inf(1), time.Now()
	}
	if remaining >= 0 {
		// A request sent after left was recorded was served after it: its
		// count is newer. Requests in flight together may be served in any
		// order: the lowest count is the newest.
		if seq > b.leftSeq || remaining < b.left {
			b.left, b.leftSeq = remaining, b.used
		}
		v := float64(remaining - b.inflight)
		if !b.known || v < b.est {
			b.est, b.at = v, time.Now()
		}
		b.known = true
	}
	close(b.wake)
	b.wake = make(chan struct{})
}

// Used is how many requests the run sent; Left is the last
// RateLimit-Remaining seen, or -1 when none was.
func (b *RateBudget) Used() int { b.mu.Lock(); defer b.mu.Unlock(); return b.used }

// Left is the last RateLimit-Remaining seen, or -1 when none was.
func (b *RateBudget) Left() int { b.mu.Lock(); defer b.mu.Unlock(); return b.left }
