package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	sm "github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/envsync/envsync"
	"github.com/envsync/envsync/sinks/awscfg"
	"github.com/envsync/envsync/sinks/sinktest"
	"github.com/envsync/envsync/sinks/sinktest/faultproxy"
)

// The benchmarks in this file put a latency proxy in front of moto_server,
// so that every AWS request costs a real round trip (40 ms, about what a
// request to AWS from outside its region costs), and report the ratios the
// performance goals are judged by. Figures go in README.md (Performance).

const rtt = 40 * time.Millisecond

var (
	proxyOnce sync.Once
	proxy     *faultproxy.Proxy
)

// behindProxy starts moto, puts a latency proxy (no latency, no replay yet)
// in front of it and points the SDK at the proxy. The proxy is shared by the
// benchmarks (awscfg caches the endpoint per HTTP client) and ends with the
// test binary.
func behindProxy(b *testing.B) *faultproxy.Proxy {
	setAWS(b)
	proxyOnce.Do(func() { proxy = faultproxy.Start(sinktest.MotoEndpoint(b)) })
	proxy.SetLatency(0)
	proxy.SetMemo(false)
	b.Setenv("AWS_ENDPOINT_URL", proxy.URL)
	return proxy
}

// manyApps writes a config of n apps, each with a 20-variable export, an S3
// env file, a tfvars file shared by static and dynamic, and a JSON secret.
func manyApps(b *testing.B, dir, bucket string, n int) string {
	writeExport(b, filepath.Join(dir, "app.json"), 20)
	prefix := sinktest.Name("rtt")
	var cfg strings.Builder
	cfg.WriteString("version: 1\napps:\n")
	for i := range n {
		cfg.WriteString(appConfig(fmt.Sprintf("app%04d", i), "app.json", bucket, prefix))
	}
	path := filepath.Join(dir, "envsync.yaml")
	if err := os.WriteFile(path, []byte(cfg.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	return path
}

// rounds is how many times each side of a comparison runs, interleaved; the
// fastest of each is compared, which is what a shared, busy machine still
// measures reliably.
const rounds = 3

func fastest(d *time.Duration, took time.Duration) {
	if *d == 0 || took < *d {
		*d = took
	}
}

func timed(b *testing.B, want int, args ...string) time.Duration {
	start := time.Now()
	if code := runBench(b, args...); code != want {
		b.Fatalf("envsync %s: exit %d, want %d", strings.Join(args, " "), code, want)
	}
	return time.Since(start)
}

// BenchmarkPlanVsDrift200Apps40ms: plan and drift of the same 200 apps at
// 40 ms a request, at the default --parallel, fastest of 3 each; goal: plan
// within 1.2× of drift.
func BenchmarkPlanVsDrift200Apps40ms(b *testing.B) {
	p := behindProxy(b)
	dir := b.TempDir()
	cfg := manyApps(b, dir, sinktest.Bucket(b, true), 200)
	timed(b, 0, "--config", cfg, "import", "--yes", "--parallel", "32")
	p.SetLatency(rtt)
	var plan, drift time.Duration
	for b.Loop() {
		plan, drift = 0, 0
		for range rounds {
			fastest(&drift, timed(b, 0, "--config", cfg, "drift"))
			fastest(&plan, timed(b, 0, "--config", cfg, "plan"))
		}
	}
	b.ReportMetric(drift.Seconds(), "drift-s")
	b.ReportMetric(plan.Seconds(), "plan-s")
	b.ReportMetric(plan.Seconds()/drift.Seconds(), "plan/drift")
}

// BenchmarkPerKeyImport200Keys40ms: importing 200 secrets, one secret per
// key, at 40 ms a request; goal: within 1.2× of what Secrets Manager's write
// quota (50 a second) allows, 200/50 = 4 s.
func BenchmarkPerKeyImport200Keys40ms(b *testing.B) {
	p := behindProxy(b)
	dir := b.TempDir()
	vars := map[string]string{}
	for i := range 200 {
		vars[fmt.Sprintf("SERVICE_%03d_API_KEY", i)] = fmt.Sprintf("k%03d%s", i, strings.Repeat("9fQx2Lm7", 4))
	}
	data, _ := json.Marshal(vars)
	os.WriteFile(filepath.Join(dir, "app.json"), data, 0o644)
	p.SetLatency(rtt)
	var took time.Duration
	for i := 0; b.Loop(); i++ {
		cfg := filepath.Join(dir, fmt.Sprintf("c%d.yaml", i))
		os.WriteFile(cfg, []byte(fmt.Sprintf("version: 1\napps:\n  app:\n    source: app.json\n    routes:\n      secret: secretsmanager://%s?layout=per-key\n", sinktest.Name("perkey"))), 0o644)
		took = timed(b, 0, "--config", cfg, "import", "--yes")
	}
	floor := 200.0 / 50
	b.ReportMetric(took.Seconds(), "import-s")
	b.ReportMetric(took.Seconds()/floor, "x-write-quota-floor")
}

// BenchmarkDrift1000AppsParallel64: drift of 1,000 apps (an S3 env file and
// a JSON secret each) at --parallel 64 and 40 ms a request, against the
// floor program measured in the same run: the same SDK making the same two
// reads per app, side by side, 64 apps at once, nothing else. Its ideal is
// N × RTT / P = 0.625 s. Goal: drift within 1.15× of the floor program.
//
// Two sub-benchmarks: "moto" reads from moto_server itself, whose speed (a
// Python server on a shared machine, about 200 requests a second here)
// bounds both programs; "replayed" has the proxy answer each read again
// from moto's first answer (faultproxy.SetMemo), so that what is measured is
// the client and the round trips.
func BenchmarkDrift1000AppsParallel64(b *testing.B) {
	const apps, par = 1000, 64
	p := behindProxy(b)
	dir := b.TempDir()
	bucket := sinktest.Bucket(b, true)
	prefix := sinktest.Name("d1k")
	var cfg strings.Builder
	cfg.WriteString("version: 1\napps:\n")
	writeExport(b, filepath.Join(dir, "app.json"), 10)
	for i := range apps {
		fmt.Fprintf(&cfg, "  app%04d:\n    source: app.json\n    routes:\n      feature: s3://%s/app%04d/feature.env\n      secret: secretsmanager://%s/app%04d\n", i, bucket, i, prefix, i)
	}
	path := filepath.Join(dir, "envsync.yaml")
	os.WriteFile(path, []byte(cfg.String()), 0o644)
	timed(b, 0, "--config", path, "import", "--yes", "--parallel", "32")

	ctx := b.Context()
	awsCfg, err := awscfg.Load(ctx, envsync.OpenOptions{Parallel: par})
	if err != nil {
		b.Fatal(err)
	}
	s3c := s3.NewFromConfig(awsCfg, func(o *s3.Options) {
		o.UsePathStyle = true
		o.DisableLogOutputChecksumValidationSkipped = true
		o.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
	})
	smc := sm.NewFromConfig(awsCfg)
	floorRun := func() {
		sem := make(chan struct{}, par)
		var wg sync.WaitGroup
		for i := range apps {
			sem <- struct{}{}
			wg.Go(func() {
				defer func() { <-sem }()
				var inner sync.WaitGroup
				inner.Go(func() {
					out, err := s3c.GetObject(ctx, &s3.GetObjectInput{Bucket: &bucket, Key: aws.String(fmt.Sprintf("app%04d/feature.env", i))})
					if err != nil {
						b.Error(err)
						return
					}
					out.Body.Close()
				})
				inner.Go(func() {
					if _, err := smc.GetSecretValue(ctx, &sm.GetSecretValueInput{SecretId: aws.String(fmt.Sprintf("%s/app%04d", prefix, i))}); err != nil {
						b.Error(err)
					}
				})
				inner.Wait()
			})
		}
		wg.Wait()
	}
	for _, memo := range []bool{false, true} {
		name := map[bool]string{false: "moto", true: "replayed"}[memo]
		b.Run(name, func(b *testing.B) {
			p.SetLatency(0)
			p.SetMemo(memo)
			floorRun() // warm both pools (and fill the memo) the same way
			timed(b, 0, "--config", path, "drift", "--parallel", fmt.Sprint(par))
			p.SetLatency(rtt)
			var drift, floor time.Duration
			var conns int64
			for b.Loop() {
				drift, floor = 0, 0
				for range rounds {
					start := time.Now()
					floorRun()
					fastest(&floor, time.Since(start))
					c0 := p.Conns()
					fastest(&drift, timed(b, 0, "--config", path, "drift", "--parallel", fmt.Sprint(par)))
					conns = p.Conns() - c0
				}
			}
			ideal := (time.Duration(apps) * rtt / par).Seconds()
			b.ReportMetric(drift.Seconds(), "drift-s")
			b.ReportMetric(floor.Seconds(), "floor-program-s")
			b.ReportMetric(ideal, "ideal-NxRTT/P-s")
			b.ReportMetric(drift.Seconds()/floor.Seconds(), "x-floor-program")
			b.ReportMetric(drift.Seconds()/ideal, "x-ideal")
			b.ReportMetric(float64(conns), "new-conns/drift")
		})
	}
}
