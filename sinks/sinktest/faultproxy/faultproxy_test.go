package faultproxy

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestFaults(t *testing.T) {
	var served atomic.Int64
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		served.Add(1)
		io.WriteString(w, "ok "+r.URL.Path)
	}))
	defer target.Close()
	p := Start(target.URL)
	defer p.Close()
	p.SetRule(func(r *Request) Action {
		switch r.URL.Path {
		case "/drop-reply":
			return Action{Kind: DropReply}
		case "/drop-request":
			return Action{Kind: DropRequest}
		case "/hang":
			return Action{Kind: Hang}
		case "/throttle":
			return Throttle()
		}
		return Action{Kind: Pass}
	})
	client := &http.Client{Timeout: 2 * time.Second}

	resp, err := client.Get(p.URL + "/pass")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != "ok /pass" {
		t.Errorf("pass: got %q", b)
	}

	// POST: Go's client itself retries an idempotent GET whose reused
	// connection closes without a reply.
	before := served.Load()
	if _, err := client.Post(p.URL+"/drop-reply", "text/plain", strings.NewReader("x")); err == nil {
		t.Error("drop-reply: got a reply")
	}
	if served.Load() != before+1 {
		t.Error("drop-reply: the target did not see the request")
	}

	before = served.Load()
	if _, err := client.Post(p.URL+"/drop-request", "text/plain", strings.NewReader("x")); err == nil {
		t.Error("drop-request: got a reply")
	}
	if served.Load() != before {
		t.Error("drop-request: the target saw the request")
	}

	short := &http.Client{Timeout: 200 * time.Millisecond}
	_, err = short.Get(p.URL + "/hang")
	var to interface{ Timeout() bool }
	if !errors.As(err, &to) || !to.Timeout() {
		t.Errorf("hang: want a client timeout, got %v", err)
	}

	resp, err = client.Get(p.URL + "/throttle")
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 503 || !strings.Contains(string(b), "SlowDown") {
		t.Errorf("throttle: got %d %q", resp.StatusCode, b)
	}
	if got := p.Requests(); got != 5 {
		t.Errorf("requests: got %d, want 5", got)
	}
	if log := p.Log(); len(log) != 5 || log[1] != "POST /drop-reply drop-reply" {
		t.Errorf("log: %q", log)
	}
}

func TestLatency(t *testing.T) {
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer target.Close()
	p := Start(target.URL)
	defer p.Close()
	p.SetLatency(50 * time.Millisecond)
	start := time.Now()
	resp, err := http.Get(p.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	// A lower bound only: latency is added, never removed.
	if d := time.Since(start); d < 50*time.Millisecond {
		t.Errorf("latency not applied: %s", d)
	}
	if p.Conns() != 1 {
		t.Errorf("conns: got %d, want 1", p.Conns())
	}
}

// With memo on, a repeated read is answered from the first answer; writes
// and reads of other paths still reach the target.
func TestMemo(t *testing.T) {
	var served atomic.Int64
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := served.Add(1)
		io.WriteString(w, r.Method+" "+r.URL.Path+" "+string(rune('0'+n)))
	}))
	defer target.Close()
	p := Start(target.URL)
	defer p.Close()
	p.SetMemo(true)
	get := func(path string) string {
		resp, err := http.Get(p.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	first := get("/a")
	if again := get("/a"); again != first || served.Load() != 1 {
		t.Errorf("second GET /a: %q (first %q), target served %d; want the first answer and 1", again, first, served.Load())
	}
	get("/b")
	for range 2 {
		resp, err := http.Post(p.URL+"/a", "text/plain", strings.NewReader("x"))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	if served.Load() != 4 {
		t.Errorf("target served %d; want 4 (GET /a once, GET /b, two POSTs)", served.Load())
	}
}

// Conditional PUTs of one key run one at a time; others are not held up.
func TestSerial(t *testing.T) {
	var inFlight, most atomic.Int64
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := inFlight.Add(1)
		for {
			m := most.Load()
			if n <= m || most.CompareAndSwap(m, n) {
				break
			}
		}
		time.Sleep(100 * time.Millisecond) // long enough that unserialised requests overlap, even on a loaded machine
		inFlight.Add(-1)
	}))
	defer target.Close()
	p := Start(target.URL)
	defer p.Close()
	p.SetSerial(ConditionalPutKey)
	put := func(path string, conditional bool) {
		req, _ := http.NewRequest(http.MethodPut, p.URL+path, strings.NewReader("x"))
		if conditional {
			req.Header.Set("If-Match", `"etag"`)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Error(err)
			return
		}
		resp.Body.Close()
	}
	run := func(path string, conditional bool) int64 {
		most.Store(0)
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() { put(path, conditional) })
		}
		wg.Wait()
		return most.Load()
	}
	if got := run("/bucket/flags.env", true); got != 1 {
		t.Errorf("conditional PUTs of one key: %d at once at the target; want 1", got)
	}
	if got := run("/bucket/flags.env", false); got < 2 {
		t.Errorf("plain PUTs: %d at once; want them side by side", got)
	}
}
