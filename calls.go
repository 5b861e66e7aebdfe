package envsync

import (
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
)

// CallCounter is an http.RoundTripper that counts API calls by operation, so
// that tests and `--verbose` runs can say how many reads and writes a command
// made. An operation is named by its X-Amz-Target (AWS JSON APIs such as
// Secrets Manager and ECS, e.g. "GetSecretValue"), else by "METHOD host"
// (Heroku).
type CallCounter struct {
	Next http.RoundTripper // nil means http.DefaultTransport

	mu    sync.Mutex
	calls map[string]int
}

// RoundTrip counts the request and passes it on.
func (c *CallCounter) RoundTrip(req *http.Request) (*http.Response, error) {
	op := req.Method
	if t := req.Header.Get("X-Amz-Target"); t != "" {
		op = t[strings.LastIndexByte(t, '.')+1:]
	}
	c.Count(op)
	next := c.Next
	if next == nil {
		next = countingTransport
	}
	return next.RoundTrip(req)
}

// Count records one call of op. Clients that do not go through RoundTrip
// (the AWS SDK, which counts each attempt in its middleware) call it directly.
func (c *CallCounter) Count(op string) {
	c.mu.Lock()
	if c.calls == nil {
		c.calls = map[string]int{}
	}
	c.calls[op]++
	c.mu.Unlock()
}

// countingTransport is what a CallCounter without Next sends through:
// http.DefaultTransport's settings, but with room to keep the connections
// of a parallel run (DefaultTransport keeps 2 idle per host, so a run at
// --parallel 64 would open a new connection for most requests).
var countingTransport http.RoundTripper = func() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = 1024
	t.MaxIdleConnsPerHost = 256
	return t
}()

// Client returns an *http.Client that counts through c.
func (c *CallCounter) Client() *http.Client { return &http.Client{Transport: c} }

// Calls returns a copy of the counts by operation.
func (c *CallCounter) Calls() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return maps.Clone(c.calls)
}

// Total, Reads and Writes sum the counts.
func (c *CallCounter) Total() int  { return c.sum(func(string) bool { return true }) }
func (c *CallCounter) Reads() int  { return c.sum(func(op string) bool { return !IsWriteOp(op) }) }
func (c *CallCounter) Writes() int { return c.sum(IsWriteOp) }

// Reset forgets every count.
func (c *CallCounter) Reset() {
	c.mu.Lock()
	c.calls = nil
	c.mu.Unlock()
}

func (c *CallCounter) sum(f func(string) bool) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for op, k := range c.calls {
		if f(op) {
			n += k
		}
	}
	return n
}

// IsWriteOp reports whether an operation name counted by CallCounter changes
// something: any method but GET and HEAD, and any AWS JSON operation that is
// not a Get, Describe, List or BatchGet.
func IsWriteOp(op string) bool {
	if m, _, ok := strings.Cut(op, " "); ok {
		op = m
	}
	switch op {
	case "GET", "HEAD", "OPTIONS":
		return false
	case "PUT", "POST", "PATCH", "DELETE":
		return true
	}
	return !slices.ContainsFunc([]string{"Get", "Head", "Describe", "List", "BatchGet"}, func(p string) bool { return strings.HasPrefix(op, p) })
}
