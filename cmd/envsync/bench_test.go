package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/envsync/envsync"
	"github.com/envsync/envsync/sinks/sinktest"
)

// writeExport writes an export of n vars: a realistic mix of classes.
func writeExport(t testing.TB, path string, n int) {
	vars := map[string]string{}
	for i := range n {
		switch i % 5 {
		case 0:
			vars[fmt.Sprintf("FEATURE_FLAG_%03d", i)] = "on"
		case 1:
			vars[fmt.Sprintf("SERVICE_%03d_HOST", i)] = fmt.Sprintf("svc%d.internal.example.com", i)
		case 2:
			vars[fmt.Sprintf("WORKER_%03d_CONCURRENCY", i)] = "4"
		default:
			vars[fmt.Sprintf("SERVICE_%03d_API_KEY", i)] = fmt.Sprintf("k%03d%s", i, strings.Repeat("9fQx2Lm7", 4))
		}
	}
	data, _ := json.Marshal(vars)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func appConfig(name, src, bucket, secret string) string {
	return fmt.Sprintf(`  %s:
    source: %s
    routes:
      feature: s3://%s/%s/feature.env
      static:  tfvars:%s.tfvars#static
      dynamic: tfvars:%s.tfvars#dynamic
      secret:  secretsmanager://%s
`, name, src, bucket, name, name, name, secret)
}

func runBench(b testing.TB, args ...string) int {
	return run(b.Context(), append([]string{"envsync"}, args...), strings.NewReader(""), io.Discard, io.Discard)
}

// BenchmarkImport200Vars: a full import of a 200-variable app against moto,
// then the no-op import that follows it.
func BenchmarkImport200Vars(b *testing.B) {
	setAWS(b)
	dir := b.TempDir()
	writeExport(b, filepath.Join(dir, "app.json"), 200)
	bucket := sinktest.Bucket(b, true)
	counter := &envsync.CallCounter{}
	benchCounter = counter
	defer func() { benchCounter = nil }()
	var calls, noop int
	for i := 0; b.Loop(); i++ {
		cfg := filepath.Join(dir, fmt.Sprintf("c%d.yaml", i))
		os.WriteFile(cfg, []byte("version: 1\napps:\n"+appConfig(fmt.Sprintf("app%d", i), "app.json", bucket, sinktest.Name("bench/app"))), 0o644)
		counter.Reset()
		if code := runBench(b, "--config", cfg, "import", "--yes"); code != 0 {
			b.Fatalf("import: exit %d", code)
		}
		calls = counter.Total()
		b.StopTimer()
		counter.Reset()
		runBench(b, "--config", cfg, "import", "--yes")
		noop = counter.Writes()
		b.StartTimer()
	}
	b.ReportMetric(float64(calls), "aws-calls/import")
	b.ReportMetric(float64(noop), "writes/no-op-import")
}

// BenchmarkDrift200Apps: the nightly check of 200 apps × 50 vars against moto.
func BenchmarkDrift200Apps(b *testing.B) {
	setAWS(b)
	dir := b.TempDir()
	bucket := sinktest.Bucket(b, true)
	var cfg strings.Builder
	cfg.WriteString("version: 1\napps:\n")
	const apps = 200
	for i := range apps {
		src := fmt.Sprintf("app%d.json", i)
		writeExport(b, filepath.Join(dir, src), 50)
		cfg.WriteString(appConfig(fmt.Sprintf("app%d", i), src, bucket, sinktest.Name("bench/drift")))
	}
	path := filepath.Join(dir, "envsync.yaml")
	os.WriteFile(path, []byte(cfg.String()), 0o644)
	if code := runBench(b, "--config", path, "import", "--yes"); code != 0 {
		b.Fatalf("import: exit %d", code)
	}
	counter := &envsync.CallCounter{}
	benchCounter = counter
	defer func() { benchCounter = nil }()
	for b.Loop() {
		counter.Reset()
		if code := runBench(b, "--config", path, "drift", "--parallel", "16"); code != 0 {
			b.Fatalf("drift: exit %d", code)
		}
	}
	b.ReportMetric(float64(counter.Total())/apps, "aws-calls/app")
}

// BenchmarkFlagsSet: from command start to the S3 object updated, and to the
// ECS restart requested.
func BenchmarkFlagsSet(b *testing.B) {
	setAWS(b)
	dir := b.TempDir()
	bucket := sinktest.Bucket(b, true)
	cluster := sinktest.Name("bench")
	sinktest.ECSService(b, cluster, "web", sinktest.Container{EnvFiles: []string{"s3://" + bucket + "/flags.env"}})
	cfg := filepath.Join(dir, "envsync.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf("version: 1\napps:\n  web:\n    source: x.env\n    routes:\n      feature: s3://%s/flags.env\n    restart: ecs://%s/web\n", bucket, cluster)), 0o644)
	var restart time.Duration
	for i := 0; b.Loop(); i++ {
		if code := runBench(b, "--config", cfg, "flags", "set", fmt.Sprintf("FEATURE_X=v%d", i), "--reason", "bench"); code != 0 {
			b.Fatalf("flags set: exit %d", code)
		}
		b.StopTimer()
		start := time.Now()
		if code := runBench(b, "--config", cfg, "flags", "set", fmt.Sprintf("FEATURE_Y=v%d", i), "--reason", "bench", "--restart"); code != 0 {
			b.Fatalf("flags set --restart: exit %d", code)
		}
		restart = time.Since(start)
		b.StartTimer()
	}
	b.ReportMetric(float64(restart.Milliseconds()), "ms-to-restart-requested")
}

// setAWS points the SDK at moto for a benchmark.
func setAWS(b testing.TB) {
	url := sinktest.MotoEndpoint(b)
	for k, v := range map[string]string{"AWS_ENDPOINT_URL": url, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_REGION": "us-east-1",
		"AWS_CONFIG_FILE": os.DevNull, "AWS_SHARED_CREDENTIALS_FILE": os.DevNull, "AWS_EC2_METADATA_DISABLED": "true"} {
		b.Setenv(k, v)
	}
}
