package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/envsync/envsync/sinks/sinktest"
)

// Item 7: a secret over Secrets Manager's 64 KiB in the second app is found
// by the plan's validation, before the first app is written.
func TestSecretLimitCheckedBeforeFirstWrite(t *testing.T) {
	e := newFaultEnv(t)
	other := sinktest.Name("acme/other")
	e.write("export.json", faultExport)
	e.write("big.json", fmt.Sprintf(`{"JWT_SECRET": %q, "DB_PASSWORD": "x"}`, strings.Repeat("A", 70000)))
	e.write("envsync.yaml", fmt.Sprintf("version: 1\napps:\n  web:\n    source: export.json\n    routes:\n      secret: secretsmanager://%s\n  big:\n    source: big.json\n    routes:\n      secret: secretsmanager://%s\n", e.secret, other))
	code, _, errs, _ := e.run(t.Context(), "import", "--yes")
	want := fmt.Sprintf("envsync: error: app \"big\": secretsmanager://%s: 1 value(s) cannot be represented in Secrets Manager:\n  (all keys): the secret would be 70035 bytes of JSON; a secret holds at most 65536 (Secrets Manager quota)", other)
	if code != 1 || !strings.Contains(errs, want) || strings.Contains(errs, strings.Repeat("A", 20)) {
		t.Fatalf("exit %d; stderr:\n%s\nwant:\n%s", code, errs, want)
	}
	if e.secretValue(e.secret) != "" || e.secretValue(other) != "" {
		t.Fatal("a secret was written although the plan was invalid")
	}
}

// Item 10: /dev/null on stdin is a character device but not a terminal, so
// import refuses to ask instead of prompting (and reading EOF).
func TestDevNullIsNotATerminal(t *testing.T) {
	f, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if isTerminal(f) {
		t.Fatal("/dev/null counted as a terminal")
	}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "x.env"), []byte("FEATURE_X=on\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "envsync.yaml"), []byte("version: 1\napps:\n  web:\n    source: x.env\n    routes:\n      feature: file:out.env\n"), 0o644)
	var out, errb bytes.Buffer
	code := run(t.Context(), []string{"envsync", "--config", filepath.Join(dir, "envsync.yaml"), "import"}, f, &out, &errb)
	if code != 1 || !strings.Contains(errb.String(), "envsync: error: refusing to apply without --yes: stdin is not a terminal") {
		t.Fatalf("exit %d; stderr: %s", code, errb.String())
	}
	if _, err := os.Stat(filepath.Join(dir, "out.env")); !os.IsNotExist(err) {
		t.Fatal("import wrote without --yes")
	}
}

// Item 10: --wait running out after a successful write says the write
// happened and the wait timed out (not "unreachable, check the network").
func TestWaitDeadlineAfterWrite(t *testing.T) {
	e := newFaultEnv(t)
	sinktest.ECSService(t, e.cluster, "web", sinktest.Container{EnvFiles: []string{"s3://" + e.bucket + "/prod/feature.env"}})
	e.write("export.json", faultExport)
	e.config("")
	e.mustRun(0, "import", "--yes")
	// moto's deployments never report stable tasks: the wait runs out.
	code, _, errs, took := e.run(t.Context(), "flags", "set", "FEATURE_NEW_CHECKOUT=off", "--reason", "r", "--restart", "--wait", "--wait-timeout", "2s", "--app", "web")
	if code != 1 || took > 60*time.Second || !strings.Contains(errs, "was written and ecs://"+e.cluster+"/web is restarting (deployment ") ||
		!strings.Contains(errs, "but it was not stable within 2s: context deadline exceeded") || strings.Contains(errs, "network") {
		t.Fatalf("exit %d after %s; stderr:\n%s", code, took, errs)
	}
	if got := e.s3Object(); got != "FEATURE_NEW_CHECKOUT=off\n" {
		t.Fatalf("s3 object = %q", got)
	}
}
