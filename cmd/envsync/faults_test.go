package main

// The fault-injection suite: envsync end to end against moto_server behind
// sinks/sinktest/faultproxy, which loses replies, drops requests, hangs and
// throttles. Each test asserts the exit code, a generous time bound (not a
// benchmark), what the stores hold, and that running the command again
// converges with nothing lost or duplicated. `make test-faults` runs only these.

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/envsync/envsync"
	"github.com/envsync/envsync/sinks/awscfg"
	"github.com/envsync/envsync/sinks/heroku/herokutest"
	"github.com/envsync/envsync/sinks/sinktest"
	"github.com/envsync/envsync/sinks/sinktest/faultproxy"
)

// faultEnv is one test's world: moto behind a proxy, a bucket, a config.
type faultEnv struct {
	t       *testing.T
	proxy   *faultproxy.Proxy
	moto    string // moto itself, for reading what the stores hold past the faults
	dir     string
	bucket  string
	secret  string
	cluster string
}

func newFaultEnv(t *testing.T) *faultEnv {
	moto := sinktest.AWS(t)
	e := &faultEnv{t: t, dir: t.TempDir(), bucket: sinktest.Bucket(t, true), secret: sinktest.Name("acme/prod"), cluster: sinktest.Name("acme")}
	e.moto = moto
	e.proxy = faultproxy.Start(moto)
	t.Cleanup(e.proxy.Close)
	t.Setenv("AWS_ENDPOINT_URL", e.proxy.URL)
	t.Setenv("GITHUB_ACTOR", "ci-bot")
	return e
}

func (e *faultEnv) write(name, content string) string {
	p := filepath.Join(e.dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		e.t.Fatal(err)
	}
	return p
}

// config writes envsync.yaml with one app reading export.json.
func (e *faultEnv) config(extra string) {
	e.write("envsync.yaml", fmt.Sprintf(`version: 1
apps:
  web:
    source: export.json
    routes:
      feature: s3://%s/prod/feature.env
      static: tfvars:app.auto.tfvars#app_static_env
      secret: secretsmanager://%s
    restart: ecs://%s/web
%s`, e.bucket, e.secret, e.cluster, extra))
}

// run runs envsync with ctx; it returns the exit code, stdout, stderr and
// how long it took.
func (e *faultEnv) run(ctx context.Context, args ...string) (int, string, string, time.Duration) {
	var out, errb bytes.Buffer
	start := time.Now()
	code := run(ctx, append([]string{"envsync", "--config", filepath.Join(e.dir, "envsync.yaml")}, args...), strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String(), time.Since(start)
}

func (e *faultEnv) mustRun(want int, args ...string) string {
	e.t.Helper()
	code, out, errs, _ := e.run(e.t.Context(), args...)
	if code != want {
		e.t.Fatalf("envsync %s: exit %d, want %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, want, out, errs)
	}
	return errs
}

func (e *faultEnv) s3Object() string {
	e.t.Helper()
	cfg, err := awscfg.Load(e.t.Context(), envsync.OpenOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	// Straight to moto, past the proxy and its faults: what the store holds.
	c := s3.NewFromConfig(cfg, func(o *s3.Options) {
		o.UsePathStyle, o.DisableLogOutputChecksumValidationSkipped, o.BaseEndpoint = true, true, aws.String(e.moto)
	})
	out, err := c.GetObject(e.t.Context(), &s3.GetObjectInput{Bucket: aws.String(e.bucket), Key: aws.String("prod/feature.env")})
	if err != nil {
		return ""
	}
	defer out.Body.Close()
	b, _ := io.ReadAll(out.Body)
	return string(b)
}

func (e *faultEnv) secretValue(name string) string {
	e.t.Helper()
	cfg, err := awscfg.Load(e.t.Context(), envsync.OpenOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	sm := secretsmanager.NewFromConfig(cfg, func(o *secretsmanager.Options) { o.BaseEndpoint = aws.String(e.moto) })
	out, err := sm.GetSecretValue(e.t.Context(), &secretsmanager.GetSecretValueInput{SecretId: &name})
	if err != nil {
		return ""
	}
	return aws.ToString(out.SecretString)
}

const faultExport = `{"FEATURE_NEW_CHECKOUT": "on", "RAILS_ENV": "production", "DB_PASSWORD": "hunter2-correct-horse"}`

// converged checks the stores hold exactly the export, and a plan finds
// nothing left to do.
func (e *faultEnv) converged() {
	e.t.Helper()
	e.proxy.SetRule(nil)
	if got := e.s3Object(); got != "FEATURE_NEW_CHECKOUT=on\n" {
		e.t.Errorf("s3 object = %q", got)
	}
	if got := e.secretValue(e.secret); got != `{"DB_PASSWORD":"hunter2-correct-horse"}` {
		e.t.Errorf("secret holds %d bytes, want the one key", len(got))
	}
	if tf, _ := os.ReadFile(filepath.Join(e.dir, "app.auto.tfvars")); strings.Count(string(tf), "RAILS_ENV") != 1 {
		e.t.Errorf("tfvars = %q", tf)
	}
	e.mustRun(0, "plan")
}

func isWrite(r *faultproxy.Request) bool {
	t := r.Target()
	return strings.HasPrefix(t, "PUT ") || strings.HasSuffix(t, ".CreateSecret") || strings.HasSuffix(t, ".PutSecretValue") || strings.HasSuffix(t, ".DeleteSecret") || strings.HasSuffix(t, ".UpdateService")
}

// Item 1: a blackholed endpoint costs one --timeout, not attempts × 30 s;
// nothing is written; the next run converges.
func TestFaultBlackholeTimeout(t *testing.T) {
	e := newFaultEnv(t)
	e.write("export.json", faultExport)
	e.config("")
	e.proxy.SetRule(func(*faultproxy.Request) faultproxy.Action { return faultproxy.Action{Kind: faultproxy.Hang} })
	for _, cmd := range [][]string{{"plan", "--timeout", "2s"}, {"import", "--yes", "--timeout", "2s"}, {"ecs", "render", "--timeout", "2s"}} {
		code, _, errs, took := e.run(t.Context(), cmd...)
		if code != 1 || !strings.Contains(errs, "gave up after 2s (--timeout)") || took > 20*time.Second {
			t.Fatalf("%v: exit %d after %s; stderr: %s", cmd, code, took, errs)
		}
	}
	t.Setenv("ENVSYNC_TIMEOUT", "1s")
	if code, _, errs, took := e.run(t.Context(), "plan"); code != 1 || !strings.Contains(errs, "gave up after 1s") || took > 20*time.Second {
		t.Fatalf("ENVSYNC_TIMEOUT: exit %d after %s; stderr: %s", code, took, errs)
	}
	t.Setenv("ENVSYNC_TIMEOUT", "")
	if e.s3Object() != "" {
		t.Fatal("a blackholed run wrote the S3 object")
	}
	e.proxy.SetRule(nil)
	e.mustRun(0, "import", "--yes")
	e.converged()
}

// Item 2: the reply to the flag write is lost; the SDK's retry meets our own
// write. The change is reported as written and the requested restart happens.
func TestFaultLostReplyFlagsRestart(t *testing.T) {
	e := newFaultEnv(t)
	sinktest.ECSService(t, e.cluster, "web", sinktest.Container{EnvFiles: []string{"s3://" + e.bucket + "/prod/feature.env"}})
	e.write("export.json", faultExport)
	e.config("")
	e.mustRun(0, "import", "--yes")
	var dropped atomic.Bool
	e.proxy.SetRule(func(r *faultproxy.Request) faultproxy.Action {
		if strings.HasPrefix(r.Target(), "PUT /"+e.bucket+"/prod/feature.env") && !dropped.Swap(true) {
			return faultproxy.Action{Kind: faultproxy.DropReply}
		}
		return faultproxy.Action{Kind: faultproxy.Pass}
	})
	code, out, errs, took := e.run(t.Context(), "flags", "set", "FEATURE_NEW_CHECKOUT=off", "--reason", "incident 42", "--restart", "--app", "web")
	if code != 0 || took > 30*time.Second || !dropped.Load() {
		t.Fatalf("exit %d after %s (dropped %v)\nstdout: %s\nstderr: %s", code, took, dropped.Load(), out, errs)
	}
	if strings.Contains(errs, "nothing written") || !strings.Contains(out, "~ FEATURE_NEW_CHECKOUT: on → off") || !strings.Contains(errs, "envsync: restarting ecs://"+e.cluster+"/web") {
		t.Fatalf("stdout: %s\nstderr: %s", out, errs)
	}
	if got := e.s3Object(); got != "FEATURE_NEW_CHECKOUT=off\n" {
		t.Fatalf("s3 object = %q", got)
	}
	// Run again: the file already holds it; a requested restart still happens.
	e.proxy.SetRule(nil)
	errs = e.mustRun(0, "flags", "set", "FEATURE_NEW_CHECKOUT=off", "--reason", "incident 42", "--restart", "--app", "web")
	if !strings.Contains(errs, "already has that; nothing written") || !strings.Contains(errs, "envsync: restarting") {
		t.Fatalf("re-run stderr: %s", errs)
	}
}

// Item 2 and the held cases: the reply to every write of an import is lost
// once (the secret's create, the S3 PUT). The import succeeds, each store
// holds exactly one copy, and the next import writes nothing.
func TestFaultLostReplyEachWrite(t *testing.T) {
	e := newFaultEnv(t)
	e.write("export.json", faultExport)
	e.config("")
	seen := map[string]bool{}
	var n atomic.Int64
	e.proxy.SetRule(func(r *faultproxy.Request) faultproxy.Action {
		if isWrite(r) && !seen[r.Target()] {
			seen[r.Target()] = true // the proxy serves one request at a time here: writes are sequential
			n.Add(1)
			return faultproxy.Action{Kind: faultproxy.DropReply}
		}
		return faultproxy.Action{Kind: faultproxy.Pass}
	})
	code, out, errs, took := e.run(t.Context(), "import", "--yes")
	if code != 0 || took > 30*time.Second || n.Load() < 2 {
		t.Fatalf("exit %d after %s, %d replies dropped\nstdout: %s\nstderr: %s", code, took, n.Load(), out, errs)
	}
	before := e.proxy.Requests()
	e.converged()
	e.proxy.SetRule(func(r *faultproxy.Request) faultproxy.Action {
		if isWrite(r) {
			t.Errorf("re-run wrote: %s", r.Target())
		}
		return faultproxy.Action{Kind: faultproxy.Pass}
	})
	e.mustRun(0, "import", "--yes")
	if e.proxy.Requests() == before {
		t.Fatal("the re-run made no call at all (not read through the proxy)")
	}
}

// Throttling forever: every call is refused with SlowDown. The command gives
// up within its deadline, writes nothing, and the next run converges.
func TestFaultThrottledForever(t *testing.T) {
	e := newFaultEnv(t)
	e.write("export.json", faultExport)
	e.config("")
	e.proxy.SetRule(func(*faultproxy.Request) faultproxy.Action { return faultproxy.Throttle() })
	code, _, errs, took := e.run(t.Context(), "import", "--yes", "--timeout", "5s")
	if code != 1 || took > 30*time.Second || !strings.HasPrefix(errs, "envsync: error: ") {
		t.Fatalf("exit %d after %s; stderr: %s", code, took, errs)
	}
	e.proxy.SetRule(nil)
	if e.s3Object() != "" || e.secretValue(e.secret) != "" {
		t.Fatal("a throttled run wrote")
	}
	e.mustRun(0, "import", "--yes")
	e.converged()
}

// moto down: nothing answers (every connection is closed). A clear error
// within the bound; the next run converges.
func TestFaultMotoDown(t *testing.T) {
	e := newFaultEnv(t)
	e.write("export.json", faultExport)
	e.config("")
	e.proxy.SetRule(func(*faultproxy.Request) faultproxy.Action { return faultproxy.Action{Kind: faultproxy.DropRequest} })
	code, _, errs, took := e.run(t.Context(), "import", "--yes")
	if code != 1 || took > 60*time.Second || !strings.Contains(errs, "unreachable") {
		t.Fatalf("exit %d after %s; stderr: %s", code, took, errs)
	}
	e.proxy.SetRule(nil)
	e.mustRun(0, "import", "--yes")
	e.converged()
}

// SIGINT and SIGTERM mid-import, as a real signal to a real process (the
// envsync that testscript.RunMain puts on PATH runs main's own
// signal.NotifyContext): the secret is written, the S3 PUT hangs, the signal
// arrives. The process exits 1 promptly; the S3 object is untouched; the
// next import converges.
func TestFaultSignalMidImport(t *testing.T) {
	for _, sig := range []os.Signal{os.Interrupt, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			e := newFaultEnv(t)
			e.write("export.json", faultExport)
			e.config("")
			hanging := make(chan struct{})
			var once sync.Once
			e.proxy.SetRule(func(r *faultproxy.Request) faultproxy.Action {
				if strings.HasPrefix(r.Target(), "PUT /"+e.bucket+"/") {
					once.Do(func() { close(hanging) })
					return faultproxy.Action{Kind: faultproxy.Hang}
				}
				return faultproxy.Action{Kind: faultproxy.Pass}
			})
			cmd := exec.Command("envsync", "--config", filepath.Join(e.dir, "envsync.yaml"), "import", "--yes")
			var errb bytes.Buffer
			cmd.Stderr = &errb
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			select {
			case <-hanging:
			case <-time.After(30 * time.Second):
				cmd.Process.Kill()
				t.Fatalf("the S3 write never started; stderr: %s", errb.String())
			}
			start := time.Now()
			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			err := cmd.Wait()
			if code := cmd.ProcessState.ExitCode(); code != 1 || time.Since(start) > 15*time.Second || !strings.Contains(errb.String(), "context canceled") {
				t.Fatalf("exit %d (%v) %s after the signal; stderr: %s", code, err, time.Since(start), errb.String())
			}
			e.proxy.SetRule(nil)
			if e.s3Object() != "" {
				t.Fatal("the interrupted S3 write landed")
			}
			if e.secretValue(e.secret) == "" {
				t.Fatal("the secret, written before the signal, is missing")
			}
			e.mustRun(0, "import", "--yes")
			e.converged()
		})
	}
}

// Item 3: per-key prefixes that nest are refused before any call; a pruned
// key that comes back with its old value is written again (a fresh request
// token), so import converges instead of "applied 1 change" forever.
func TestFaultPerKeyOverlapAndPrune(t *testing.T) {
	e := newFaultEnv(t)
	prefix := sinktest.Name("acme/prod")
	e.write("export.json", `{"DB_PASSWORD": "hunter2-correct-horse", "API_TOKEN": "tok-123456789"}`)
	e.write("worker.json", `{"DB_PASSWORD": "other-app-secret"}`)
	e.write("envsync.yaml", fmt.Sprintf(`version: 1
apps:
  web:
    source: export.json
    routes:
      secret: secretsmanager://%s?layout=per-key
  worker:
    source: worker.json
    routes:
      secret: secretsmanager://%s/worker?layout=per-key
`, prefix, prefix))
	before := e.proxy.Requests()
	code, _, errs, _ := e.run(t.Context(), "import", "--yes", "--prune", "--app", "web")
	if code != 1 || !strings.Contains(errs, "routes overlap") || e.proxy.Requests() != before {
		t.Fatalf("exit %d, %d calls; stderr: %s", code, e.proxy.Requests()-before, errs)
	}

	// One app only: prune a key, then bring it back with the same value.
	e.write("envsync.yaml", fmt.Sprintf("version: 1\napps:\n  web:\n    source: export.json\n    routes:\n      secret: secretsmanager://%s?layout=per-key\n", prefix))
	e.mustRun(0, "import", "--yes")
	e.write("export.json", `{"DB_PASSWORD": "hunter2-correct-horse"}`)
	e.mustRun(0, "import", "--yes", "--prune")
	e.mustRun(0, "plan")
	e.write("export.json", `{"DB_PASSWORD": "hunter2-correct-horse", "API_TOKEN": "tok-123456789"}`)
	e.mustRun(0, "import", "--yes")
	e.mustRun(0, "plan") // converged: the key is back
	if got := e.secretValue(prefix + "/API_TOKEN"); got != "tok-123456789" {
		t.Fatalf("API_TOKEN holds %d bytes", len(got))
	}
}

// The held case for the remaining writes: the reply to PutSecretValue (a
// changed value) and to DeleteSecret (a pruned key) is lost once. Import
// succeeds, the secrets hold exactly the new content, and a plan is clean.
func TestFaultLostReplyUpdateAndDelete(t *testing.T) {
	e := newFaultEnv(t)
	prefix := sinktest.Name("acme/prod")
	e.write("envsync.yaml", fmt.Sprintf("version: 1\napps:\n  web:\n    source: export.json\n    routes:\n      secret: secretsmanager://%s?layout=per-key\n", prefix))
	e.write("export.json", `{"DB_PASSWORD": "hunter2-correct-horse", "API_TOKEN": "tok-123456789"}`)
	e.mustRun(0, "import", "--yes")

	e.write("export.json", `{"DB_PASSWORD": "rotated-staple-battery"}`)
	dropped := map[string]bool{}
	e.proxy.SetRule(func(r *faultproxy.Request) faultproxy.Action {
		op := r.Target()
		if (strings.HasSuffix(op, ".PutSecretValue") || strings.HasSuffix(op, ".DeleteSecret")) && !dropped[op] {
			dropped[op] = true
			return faultproxy.Action{Kind: faultproxy.DropReply}
		}
		return faultproxy.Action{Kind: faultproxy.Pass}
	})
	code, out, errs, took := e.run(t.Context(), "import", "--yes", "--prune")
	if code != 0 || took > 30*time.Second || len(dropped) != 2 {
		t.Fatalf("exit %d after %s, dropped %v\nstdout: %s\nstderr: %s", code, took, dropped, out, errs)
	}
	e.proxy.SetRule(nil)
	if got := e.secretValue(prefix + "/DB_PASSWORD"); got != "rotated-staple-battery" {
		t.Fatalf("DB_PASSWORD holds %d bytes", len(got))
	}
	if got := e.secretValue(prefix + "/API_TOKEN"); got != "" {
		t.Fatal("API_TOKEN was not deleted")
	}
	e.mustRun(0, "plan", "--prune")
}

// A faulty Heroku source (the local Platform API server behind the proxy):
// hangs, truncated JSON and 429 forever each end in exit 1 within the bound,
// with the right message, and nothing written; the next run converges.
func TestFaultHerokuSource(t *testing.T) {
	e := newFaultEnv(t)
	hk := herokutest.New(t, herokuToken)
	app := sinktest.Name("acme")
	hk.SetConfig(app, map[string]string{"FEATURE_NEW_CHECKOUT": "on", "RAILS_ENV": "production", "DB_PASSWORD": "hunter2-correct-horse"})
	hp := faultproxy.Start(hk.URL)
	t.Cleanup(hp.Close)
	t.Setenv("HEROKU_API_URL", hp.URL)
	t.Setenv("HEROKU_API_KEY", herokuToken)
	e.config("")
	cfg := strings.Replace(string(must(os.ReadFile(filepath.Join(e.dir, "envsync.yaml")))), "source: export.json", "source: heroku://"+app, 1)
	e.write("envsync.yaml", cfg)

	for _, tt := range []struct {
		name string
		act  faultproxy.Action
		want string
	}{
		{"hang", faultproxy.Action{Kind: faultproxy.Hang}, "gave up after 3s (--timeout)"},
		{"truncated JSON", faultproxy.Action{Kind: faultproxy.Respond, Status: 200, Header: map[string][]string{"Content-Type": {"application/json"}}, Body: `{"RAILS_ENV": "produ`}, "Heroku's reply is not the JSON the Platform API sends"},
		{"429 forever", faultproxy.Action{Kind: faultproxy.Respond, Status: 429, Header: map[string][]string{"Content-Type": {"application/json"}}, Body: `{"id": "rate_limit", "message": "Your account reached the API rate limit"}`}, "rate limited"},
	} {
		hp.SetRule(func(*faultproxy.Request) faultproxy.Action { return tt.act })
		code, _, errs, took := e.run(t.Context(), "import", "--yes", "--timeout", "3s")
		if code != 1 || took > 30*time.Second || !strings.Contains(errs, tt.want) {
			t.Errorf("%s: exit %d after %s; stderr: %s", tt.name, code, took, errs)
		}
		if tt.name != "hang" && strings.Contains(errs, "check the network") {
			t.Errorf("%s: network hint for a reply: %s", tt.name, errs)
		}
	}
	if e.s3Object() != "" || e.secretValue(e.secret) != "" {
		t.Fatal("a run with a faulty source wrote")
	}
	hp.SetRule(nil)
	e.mustRun(0, "import", "--yes")
	e.converged()
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
