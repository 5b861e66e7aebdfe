package main

import (
	"bytes"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/envsync/envsync"
	"github.com/envsync/envsync/sinks/awscfg"
	"github.com/envsync/envsync/sinks/heroku/herokutest"
	"github.com/envsync/envsync/sinks/sinktest"
)

// readmeBlock is a fenced code block of README.md and the section it is in.
type readmeBlock struct{ section, lang, text string }

func readmeBlocks(t *testing.T) []readmeBlock {
	data, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	var out []readmeBlock
	section := ""
	fence := regexp.MustCompile("(?s)^```(\\w*)\n(.*?)\n```")
	for rest := string(data); rest != ""; {
		if strings.HasPrefix(rest, "#") {
			line, _, _ := strings.Cut(rest, "\n")
			section = strings.TrimSpace(strings.TrimLeft(line, "#"))
		}
		if m := fence.FindStringSubmatch(rest); m != nil {
			out = append(out, readmeBlock{section, m[1], m[2]})
			rest = rest[len(m[0]):]
		}
		_, rest, _ = strings.Cut(rest, "\n")
	}
	return out
}

func readmeBlock1(t *testing.T, blocks []readmeBlock, section, lang string, n int) string {
	t.Helper()
	for _, b := range blocks {
		if b.section == section && b.lang == lang {
			if n == 0 {
				return b.text
			}
			n--
		}
	}
	t.Fatalf("README.md has no %q block #%d in %q", lang, n, section)
	return ""
}

// TestREADME runs the README's one-shot import as written — its config, its
// rule file and its commands — against moto and the local Heroku API, and
// parses its DRY config example.
func TestREADME(t *testing.T) {
	moto := sinktest.MotoEndpoint(t)
	hk := herokutest.New(t, herokuToken)
	for k, v := range map[string]string{
		"AWS_ENDPOINT_URL": moto, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
		"AWS_REGION": "us-east-1", "AWS_CONFIG_FILE": os.DevNull, "AWS_SHARED_CREDENTIALS_FILE": os.DevNull,
		"AWS_EC2_METADATA_DISABLED": "true", "HEROKU_API_URL": hk.URL, "HEROKU_API_KEY": herokuToken,
	} {
		t.Setenv(k, v)
	}
	for _, k := range []string{"ENVSYNC_CONFIG", "ENVSYNC_APP", "ENVSYNC_FORMAT", "ENVSYNC_DETAILED_EXITCODE"} {
		t.Setenv(k, "") // restored after the test
		os.Unsetenv(k)
	}
	blocks := readmeBlocks(t)
	t.Chdir(t.TempDir())
	if err := os.WriteFile("envsync.yaml", []byte(readmeBlock1(t, blocks, "The one-shot import", "yaml", 0)), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile("rules.yaml", []byte(readmeBlock1(t, blocks, "Rule files", "yaml", 0)), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := envsync.ParseConfig("dry.yaml", []byte(readmeBlock1(t, blocks, "The one-shot import", "yaml", 1))); err != nil {
		t.Fatalf("the README's DRY config: %v", err)
	}
	hk.SetConfig("acme-production", map[string]string{
		"RAILS_ENV": "production", "FEATURE_CHECKOUT": "on", "SLACK_ALERTS_CHANNEL": "#ops", "LEGACY_CHECKOUT": "yes",
		"WEB_CONCURRENCY": "2", "STRIPE_SECRET_KEY": "sk_live_4eC39HqLyjWDarjtT1zdp7dc",
	})
	cfg, err := awscfg.Load(t.Context(), envsync.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	c := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
	bucket := "acme-env"
	if _, err := c.CreateBucket(t.Context(), &s3.CreateBucketInput{Bucket: &bucket}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutBucketVersioning(t.Context(), &s3.PutBucketVersioningInput{Bucket: &bucket, VersioningConfiguration: &types.VersioningConfiguration{Status: types.BucketVersioningStatusEnabled}}); err != nil {
		t.Fatal(err)
	}

	for _, line := range strings.Split(readmeBlock1(t, blocks, "The one-shot import", "", 0), "\n") {
		line, _, _ = strings.Cut(line, "#")
		for _, cmd := range strings.Split(line, "&&") {
			args := strings.Fields(cmd)
			if len(args) == 0 {
				continue
			}
			var stdout, stderr bytes.Buffer
			code := run(t.Context(), args, strings.NewReader(""), &stdout, &stderr)
			want := 0
			if strings.TrimSpace(cmd) == "envsync import" {
				want = 1 // asks; not a terminal here, so it refuses
			}
			if code != want {
				t.Fatalf("%s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", cmd, code, want, &stdout, &stderr)
			}
			t.Logf("%s: exit %d", strings.TrimSpace(cmd), code)
			if strings.Contains(stdout.String()+stderr.String(), "sk_live_") {
				t.Fatalf("%s printed a secret", cmd)
			}
		}
	}
	var stdout, stderr bytes.Buffer
	if code := run(t.Context(), []string{"envsync", "plan", "--detailed-exitcode"}, strings.NewReader(""), &stdout, &stderr); code != 0 {
		t.Fatalf("after the README's import, plan --detailed-exitcode: exit %d\n%s%s", code, &stdout, &stderr)
	}
}
