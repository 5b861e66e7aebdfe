package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/envsync/envsync"
	"github.com/envsync/envsync/sinks/awscfg"
	"github.com/envsync/envsync/sinks/heroku/herokutest"
	"github.com/envsync/envsync/sinks/sinktest"
)

// credentials are credential-shaped values, each under an innocent name: a
// feature flag, a Slack channel, a pool size, a region. The fragment is what
// must never be printed.
var credentials = []struct{ name, value, fragment string }{
	{"FEATURE_PAYMENTS", "sk_live_4eC39HqLyjWDarjtT1zdp7dc", "4eC39HqLyjWDarjtT1zdp7dc"},
	{"SLACK_ALERTS_CHANNEL", "ghp_abcdefghijklmnopqrstuvwxyz0123456789", "abcdefghijklmnopqrstuvwxyz0123456789"},
	{"FEATURE_REPORTS_DB", "postgres://app:Zq9vLw2pXr7tKm4s@db.internal:5432/app", "Zq9vLw2pXr7tKm4s"},
	{"WEB_CONCURRENCY", "xoxb-1234567890-0987654321-AbCdEfGhIjKlMnOpQrStUvWx", "AbCdEfGhIjKlMnOpQrStUvWx"},
	{"AWS_REGION_NAME", "AKIAIOSFODNN7EXAMPLE", "AKIAIOSFODNN7EXAMPLE"},
}

// TestNoCommandPrintsACredential feeds every command and format a source
// and stores whose values include credential-shaped strings under feature
// names, and checks that none of them reaches stdout, stderr, the step
// summary, the outputs, a tfvars file or the S3 env file.
func TestNoCommandPrintsACredential(t *testing.T) {
	setAWS(t)
	hk := herokutest.New(t, herokuToken)
	t.Setenv("HEROKU_API_URL", hk.URL)
	t.Setenv("HEROKU_API_KEY", herokuToken)
	t.Setenv("GITHUB_ACTOR", "ci-bot")
	app := sinktest.Name("acme")
	vars := map[string]string{"FEATURE_CHECKOUT": "on", "RAILS_ENV": "production", "RAILS_MAX_THREADS": "5"}
	pasted := map[string]string{"FEATURE_CHECKOUT": "off"}
	var envFile strings.Builder
	envFile.WriteString("FEATURE_CHECKOUT=on\n")
	for _, c := range credentials {
		vars[c.name] = c.value
		pasted[c.name] = c.value // pasted into the env file by hand
		fmt.Fprintf(&envFile, "%s=%s\n", c.name, c.value)
	}
	hk.SetConfig(app, vars)
	bucket := sinktest.Bucket(t, true)

	dir := t.TempDir()
	t.Chdir(dir)
	write := func(name, content string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("envsync.yaml", fmt.Sprintf(`version: 1
apps:
  web:
    source: heroku://%s
    routes:
      feature: s3://%s/feature.env
      static:  tfvars:app.tfvars#static
      dynamic: tfvars:app.tfvars#dynamic
      secret:  secretsmanager://%s
    flags_file: reviewed.env
`, app, bucket, sinktest.Name("acme/prod")))
	write("reviewed.env", envFile.String())
	write("clean.env", "FEATURE_CHECKOUT=off\n")
	summary, outputs := filepath.Join(dir, "summary.md"), filepath.Join(dir, "outputs.txt")

	putFeatureFile := func() {
		t.Helper()
		cfg, err := awscfg.Load(t.Context(), envsync.OpenOptions{})
		if err != nil {
			t.Fatal(err)
		}
		body, err := envsync.FormatEnvFile(pasted)
		if err != nil {
			t.Fatal(err)
		}
		key := "feature.env"
		_, err = s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true }).PutObject(t.Context(), &s3.PutObjectInput{Bucket: &bucket, Key: &key, Body: bytes.NewReader(body)})
		if err != nil {
			t.Fatal(err)
		}
	}

	check := func(t *testing.T, what string, texts ...string) {
		t.Helper()
		for _, text := range texts {
			for _, c := range credentials {
				if strings.Contains(text, c.fragment) {
					t.Errorf("%s shows %s's value:\n%s", what, c.name, text)
				}
			}
		}
	}
	runCmd := func(args ...string) {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			var out, errw bytes.Buffer
			code := run(t.Context(), append([]string{"envsync"}, args...), strings.NewReader(""), &out, &errw)
			if code == exitError && !strings.Contains(errw.String(), "nothing written") && !strings.Contains(errw.String(), "SEC00") && args[0] != "check" {
				t.Errorf("exit %d:\n%s", code, errw.String())
			}
			check(t, "stdout", out.String())
			check(t, "stderr", errw.String())
		})
	}

	formats := []string{"text", "json", "markdown"}
	for _, f := range formats {
		runCmd("classify", "--from", "heroku://"+app, "--explain", "--format", f)
		runCmd("plan", "--format", f)
	}
	runCmd("import", "--yes")
	putFeatureFile() // a person pastes tokens into the deployed file
	for _, f := range formats {
		runCmd("classify", "--from", "s3://"+bucket+"/feature.env", "--format", f)
		runCmd("classify", "--from", "reviewed.env", "--format", f)
		runCmd("import", "--yes", "--format", f)
		runCmd("plan", "--format", f)
		runCmd("plan", "--prune", "--format", f)
		runCmd("drift", "--no-ecs", "--format", f)
		runCmd("flags", "list", "--format", f)
		runCmd("flags", "history", "--format", f)
	}
	for _, c := range credentials {
		runCmd("flags", "get", c.name)
	}
	runCmd("flags", "set", "FEATURE_PAYMENTS=off", "--reason", "replace a pasted token")
	runCmd("flags", "unset", "SLACK_ALERTS_CHANNEL", "--reason", "remove a pasted token")
	runCmd("flags", "apply", "--from", "reviewed.env", "--reason", "refused")
	runCmd("flags", "apply", "--from", "clean.env", "--reason", "clean")
	runCmd("flags", "rollback", "--reason", "refused")
	runCmd("flags", "rollback", "--yes", "--reason", "refused")
	for _, f := range formats {
		runCmd("flags", "history", "--format", f)
	}
	t.Setenv("GITHUB_ACTIONS", "true")
	t.Setenv("GITHUB_STEP_SUMMARY", summary)
	t.Setenv("GITHUB_OUTPUT", outputs)
	runCmd("check", "reviewed.env")
	for _, name := range []string{"summary.md", "outputs.txt", "app.tfvars"} {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		check(t, name, string(data))
	}
	t.Setenv("GITHUB_ACTIONS", "")
	runCmd("check", "reviewed.env")

	// The phases: a refused cutover shows the plan; held flags; a cut-over
	// app's drift compares the reviewed file (full of credentials) with S3.
	putFeatureFile()
	runCmd("cutover", "--app", "web", "--yes")
	runCmd("flags", "set", "FEATURE_CHECKOUT=maybe", "--no-heroku", "--reason", "held")
	for _, f := range formats {
		runCmd("plan", "--prune", "--format", f)
		runCmd("drift", "--no-ecs", "--format", f)
	}
	runCmd("import", "--yes", "--prune", "--overwrite-flags")
	runCmd("cutover", "--app", "web", "--yes")
	if data, err := os.ReadFile(filepath.Join(dir, "envsync.yaml")); err != nil || !strings.Contains(string(data), "    phase: cutover\n") {
		t.Fatalf("the app is not cut over (%v):\n%s", err, data)
	}
	putFeatureFile()
	for _, f := range formats {
		runCmd("drift", "--no-ecs", "--format", f)
	}
	runCmd("cutover", "--app", "web", "--undo", "--yes")
}
