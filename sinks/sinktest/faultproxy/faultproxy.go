// Package faultproxy is an HTTP proxy for tests and benchmarks: put it in
// front of a real endpoint (moto_server, the Heroku test server) to add
// latency, or to make chosen requests fail the way networks and services fail:
// a reply lost after the request was carried out, a request that never
// arrives, a hang, a throttling or server error.
//
// It listens on loopback only. Point a client at URL instead of the target.
package faultproxy

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Kind is what the proxy does with one request.
type Kind int

const (
	// Pass forwards the request and returns the reply (after Latency).
	Pass Kind = iota
	// DropReply forwards the request, lets the target carry it out, then
	// closes the client's connection without a reply: the client cannot know
	// the request succeeded.
	DropReply
	// DropRequest closes the client's connection without forwarding.
	DropRequest
	// Hang holds the request without forwarding until the client gives up
	// or the proxy is closed.
	Hang
	// Respond answers with Status, Header and Body without forwarding.
	Respond
)

// Action is the fate of one request.
type Action struct {
	Kind   Kind
	Status int         // Respond
	Header http.Header // Respond
	Body   string      // Respond
	// Delay is added before the request is handled, on top of Latency.
	Delay time.Duration
}

// Request is what a Rule sees of one request. Body is the whole request body.
type Request struct {
	*http.Request
	Body []byte
	// N counts requests through the proxy, from 1.
	N int64
}

// Target is the AWS JSON-protocol operation ("secretsmanager.PutSecretValue")
// from the X-Amz-Target header, or "METHOD /path" for REST calls (S3, Heroku).
func (r *Request) Target() string {
	if t := r.Header.Get("X-Amz-Target"); t != "" {
		if i := strings.LastIndexByte(t, '.'); i >= 0 {
			return "secretsmanager." + t[i+1:]
		}
		return t
	}
	return r.Method + " " + r.URL.Path
}

// Rule decides the fate of each request. It may be called concurrently.
type Rule func(r *Request) Action

// Proxy is a running proxy.
type Proxy struct {
	// URL is where clients connect (http://127.0.0.1:PORT).
	URL    string
	target string
	srv    *httptest.Server
	rt     *http.Transport
	done   chan struct{}

	mu      sync.Mutex
	rule    Rule
	serial  func(r *Request) string
	locks   map[string]*sync.Mutex
	latency time.Duration
	log     []string

	n     atomic.Int64
	conns atomic.Int64

	memoOn atomic.Bool
	memoMu sync.Mutex
	memo   map[string]*memoReply
}

type memoReply struct {
	status int
	header http.Header
	body   []byte
}

// Start starts a proxy to target (e.g. "http://127.0.0.1:5000").
func Start(target string) *Proxy {
	p := &Proxy{target: strings.TrimRight(target, "/"), done: make(chan struct{}),
		rt: &http.Transport{MaxIdleConns: 1024, MaxIdleConnsPerHost: 1024, IdleConnTimeout: 90 * time.Second}}
	p.srv = httptest.NewUnstartedServer(http.HandlerFunc(p.serve))
	p.srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			p.conns.Add(1)
		}
	}
	p.srv.Start()
	p.URL = p.srv.URL
	return p
}

// Close stops the proxy and releases every hanging request.
func (p *Proxy) Close() {
	close(p.done)
	p.srv.CloseClientConnections()
	p.srv.Close()
	p.rt.CloseIdleConnections()
}

// SetLatency adds d before every request is forwarded (one round trip).
func (p *Proxy) SetLatency(d time.Duration) { p.mu.Lock(); p.latency = d; p.mu.Unlock() }

// SetMemo turns replay of reads on or off. With it on, a read that passed
// once (a GET, or an AWS JSON Get/BatchGet/Describe/List call, answered 200)
// is answered again from the first answer, after Latency, without reaching
// the target: a benchmark then measures the client and the round trips, not
// how fast the target (moto, on a shared machine) serves. Writes always pass.
func (p *Proxy) SetMemo(on bool) { p.memoOn.Store(on) }

func memoKey(r *Request) (string, bool) {
	t := r.Header.Get("X-Amz-Target")
	op := t[strings.LastIndexByte(t, '.')+1:]
	read := (r.Method == http.MethodGet && t == "") ||
		(t != "" && (strings.HasPrefix(op, "Get") || strings.HasPrefix(op, "BatchGet") || strings.HasPrefix(op, "Describe") || strings.HasPrefix(op, "List")))
	return r.Method + " " + r.URL.RequestURI() + " " + t + " " + string(r.Body), read
}

// SetRule replaces the rule; nil passes every request.
func (p *Proxy) SetRule(r Rule) { p.mu.Lock(); p.rule = r; p.mu.Unlock() }

// SetSerial makes requests for which key returns the same non-empty string
// run one at a time, forward and reply (nil: none). Tests use it to give
// moto_server a guarantee real S3 documents and moto lacks under
// concurrency: a conditional PUT (If-Match, If-None-Match) of one key is
// atomic. See ConditionalPutKey.
func (p *Proxy) SetSerial(key func(r *Request) string) { p.mu.Lock(); p.serial = key; p.mu.Unlock() }

// ConditionalPutKey is a SetSerial key: S3 conditional PUTs of one object.
func ConditionalPutKey(r *Request) string {
	if r.Method == http.MethodPut && (r.Header.Get("If-Match") != "" || r.Header.Get("If-None-Match") != "") {
		return r.URL.Path
	}
	return ""
}

// Requests is how many requests reached the proxy.
func (p *Proxy) Requests() int64 { return p.n.Load() }

// Conns is how many client connections the proxy accepted: a client that
// reuses its connections opens few.
func (p *Proxy) Conns() int64 { return p.conns.Load() }

// Log lists "TARGET KIND" for every request so far, in arrival order.
func (p *Proxy) Log() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.log...)
}

var kindName = map[Kind]string{Pass: "pass", DropReply: "drop-reply", DropRequest: "drop-request", Hang: "hang", Respond: "respond"}

func (p *Proxy) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	req := &Request{Request: r, Body: body, N: p.n.Add(1)}
	p.mu.Lock()
	rule, latency := p.rule, p.latency
	var lock *sync.Mutex
	if p.serial != nil {
		if key := p.serial(req); key != "" {
			if p.locks == nil {
				p.locks = map[string]*sync.Mutex{}
			}
			if p.locks[key] == nil {
				p.locks[key] = &sync.Mutex{}
			}
			lock = p.locks[key]
		}
	}
	p.mu.Unlock()
	if lock != nil {
		lock.Lock()
		defer lock.Unlock()
	}
	act := Action{Kind: Pass}
	if rule != nil {
		act = rule(req)
	}
	p.mu.Lock()
	p.log = append(p.log, req.Target()+" "+kindName[act.Kind])
	p.mu.Unlock()

	if !p.sleep(r.Context(), latency+act.Delay) {
		return
	}
	switch act.Kind {
	case DropRequest:
		drop(w)
		return
	case Hang:
		select {
		case <-r.Context().Done():
		case <-p.done:
		}
		drop(w)
		return
	case Respond:
		for k, vs := range act.Header {
			w.Header()[k] = vs
		}
		w.WriteHeader(act.Status)
		io.WriteString(w, act.Body)
		return
	}

	key, read := memoKey(req)
	memo := act.Kind == Pass && read && p.memoOn.Load()
	if memo {
		p.memoMu.Lock()
		m := p.memo[key]
		p.memoMu.Unlock()
		if m != nil {
			for k, vs := range m.header {
				w.Header()[k] = vs
			}
			w.WriteHeader(m.status)
			w.Write(m.body)
			return
		}
	}

	out, err := http.NewRequestWithContext(r.Context(), r.Method, p.target+r.URL.RequestURI(), bytes.NewReader(body))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	out.Header = r.Header.Clone()
	out.Host = r.Host
	out.ContentLength = int64(len(body))
	resp, err := p.rt.RoundTrip(out)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if memo && resp.StatusCode == http.StatusOK {
		p.memoMu.Lock()
		if p.memo == nil {
			p.memo = map[string]*memoReply{}
		}
		p.memo[key] = &memoReply{status: resp.StatusCode, header: resp.Header.Clone(), body: data}
		p.memoMu.Unlock()
	}
	if act.Kind == DropReply {
		drop(w)
		return
	}
	for k, vs := range resp.Header {
		w.Header()[k] = vs
	}
	w.WriteHeader(resp.StatusCode)
	w.Write(data)
}

func (p *Proxy) sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	case <-p.done:
		return false
	}
}

// drop closes the client's connection without a reply.
func drop(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if c, _, err := hj.Hijack(); err == nil {
			c.Close()
			return
		}
	}
	panic(http.ErrAbortHandler)
}

// Throttle is the reply AWS gives a caller over its request rate (S3's
// SlowDown); the SDK's retryer backs off and tries again.
func Throttle() Action {
	return Action{Kind: Respond, Status: http.StatusServiceUnavailable,
		Header: http.Header{"Content-Type": {"application/xml"}},
		Body:   `<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>`}
}
