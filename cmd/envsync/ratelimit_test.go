package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/envsync/envsync"
	"github.com/envsync/envsync/sinks/heroku/herokutest"
)

// Drift of 1,000 heroku:// apps against an account whose bucket holds less
// than the run needs (500 tokens, refilled at 75 a minute, the clock sped
// up): the run paces itself and meets no 429, makes one request per app (no
// add-on listing for drift), and says how many tokens it used and left.
func TestDriftPacesHerokuRateLimit(t *testing.T) {
	const apps, bucket, perMinute, scale = 1000, 500, 75.0, 240.0
	hk := herokutest.New(t, herokuToken)
	hk.RateLimit(bucket, perMinute, scale)
	t.Setenv("HEROKU_API_URL", hk.URL)
	t.Setenv("HEROKU_API_KEY", herokuToken)
	newHerokuBudget = func(shards int) *envsync.RateBudget {
		return envsync.NewRateBudget(perMinute/60*scale/float64(shards), 10)
	}
	t.Cleanup(func() { newHerokuBudget = envsync.NewHerokuBudget })

	dir := t.TempDir()
	var cfg strings.Builder
	cfg.WriteString("version: 1\napps:\n")
	for i := range apps {
		name := fmt.Sprintf("app-%04d", i)
		hk.SetConfig(name, map[string]string{"FEATURE_CHECKOUT": "on"})
		fmt.Fprintf(&cfg, "  %s:\n    source: heroku://%s\n    routes:\n      feature: file:%s.env\n", name, name, name)
		if err := os.WriteFile(filepath.Join(dir, name+".env"), []byte("FEATURE_CHECKOUT=on\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(dir, "envsync.yaml")
	if err := os.WriteFile(path, []byte(cfg.String()), 0o644); err != nil {
		t.Fatal(err)
	}

	var stdout, stderr bytes.Buffer
	code := run(t.Context(), []string{"envsync", "--config", path, "drift", "--parallel", "64"}, strings.NewReader(""), &stdout, &stderr)
	if code != exitOK {
		t.Fatalf("drift: exit %d\n%s", code, stderr.String())
	}
	if n := hk.Throttled(); n != 0 {
		t.Errorf("%d request(s) answered 429; want none", n)
	}
	if n := len(hk.Requests()); n > apps {
		t.Errorf("%d requests to Heroku for %d apps; want at most one per app", n, apps)
	}
	m := regexp.MustCompile(`envsync: heroku rate limit: this run used (\d+) request token\(s\); (\d+) left in the account's bucket`).FindStringSubmatch(stderr.String())
	if m == nil {
		t.Fatalf("stderr does not report the rate limit:\n%s", stderr.String())
	}
	if used, _ := strconv.Atoi(m[1]); used != len(hk.Requests()) {
		t.Errorf("reported %d tokens used; the server saw %d requests", used, len(hk.Requests()))
	}
	if left, _ := strconv.Atoi(m[2]); left >= bucket {
		t.Errorf("reported %d tokens left of %d after %d requests", left, bucket, apps)
	}

	// The JSON report carries the same figures.
	stdout.Reset()
	stderr.Reset()
	run(t.Context(), []string{"envsync", "--config", path, "drift", "--parallel", "64", "--app", "app-0001,app-0002", "--format", "json"}, strings.NewReader(""), &stdout, &stderr)
	var doc struct {
		Heroku *struct {
			Used int  `json:"used"`
			Left *int `json:"left"`
		} `json:"heroku_rate_limit"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Heroku == nil || doc.Heroku.Used != 2 || doc.Heroku.Left == nil {
		t.Errorf("JSON report: heroku_rate_limit %+v; want 2 used and a count left", doc.Heroku)
	}
}
