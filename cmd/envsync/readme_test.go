package main

import (
	"bytes"
	"encoding/json"
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

// TestREADME runs the README's examples as written, in the README's order,
// against moto and the local Heroku API: the one-shot import (its config,
// rule file and commands), wiring the ECS service (ecs render, a service
// created from the rendered JSON, parity), the feature-flag commands, both
// phases of "From first import to Heroku off" with the cutover and the way
// back, and envsync init for a team; and it parses the DRY config example.
// (make, completion, Terraform and IAM blocks are not commands to run here:
// the Makefile targets run in CI, completion and IAM have their own tests.)
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

	// The rest of the journey, as the README tells it, on the same config:
	// wire the ECS service, change flags, then the two phases. An exit code
	// other than 0 is listed with the reason.
	runBlock := func(section string, n int, want map[string]int) {
		t.Helper()
		for _, c := range readmeCommands(readmeBlock1(t, blocks, section, "", n)) {
			var stdout, stderr bytes.Buffer
			code := run(t.Context(), c.args, strings.NewReader(""), &stdout, &stderr)
			line := strings.Join(c.args, " ")
			if code != want[line] {
				t.Fatalf("%s: %s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", section, line, code, want[line], &stdout, &stderr)
			}
			if strings.Contains(stdout.String()+stderr.String(), "sk_live_") {
				t.Fatalf("%s printed a secret", line)
			}
			if c.redirect != "" {
				if err := os.WriteFile(c.redirect, stdout.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			t.Logf("%s: exit %d", line, code)
		}
	}
	// "Wire the ECS service": render, then create the service from the
	// rendered JSON (what the user does with the aws CLI or Terraform).
	render := readmeCommands(readmeBlock1(t, blocks, "Wire the ECS service", "", 0))
	if len(render) != 3 {
		t.Fatalf("Wire the ECS service: %d commands; the test knows 3", len(render))
	}
	for i, c := range render {
		var stdout, stderr bytes.Buffer
		if code := run(t.Context(), c.args, strings.NewReader(""), &stdout, &stderr); code != 0 {
			t.Fatalf("%s: exit %d\n%s%s", strings.Join(c.args, " "), code, &stdout, &stderr)
		}
		if c.redirect != "" {
			if err := os.WriteFile(c.redirect, stdout.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		if i == 0 {
			ecsServiceFrom(t, "acme-production", "web", c.redirect)
		}
	}
	// "Feature flags in seconds": the reviewed copy is what flags list prints.
	stdout.Reset()
	if code := run(t.Context(), []string{"envsync", "flags", "list"}, strings.NewReader(""), &stdout, &stderr); code != 0 {
		t.Fatalf("flags list: exit %d", code)
	}
	if err := os.MkdirAll("config/production", 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile("config/production/feature.env", stdout.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("ENVSYNC_WAIT_TIMEOUT", "1s")
	runBlock("Feature flags in seconds", 0, map[string]int{
		// moto starts no tasks, so a rollout never becomes stable: --wait gives up (the file was written).
		`envsync flags set FEATURE_CHECKOUT=on --reason launch day --restart --wait`: 1,
		// asks first; stdin is not a terminal here, so it refuses.
		`envsync flags rollback --reason undo`: 1,
	})
	// "From first import to Heroku off": migrating, the cutover, cut over.
	runBlock("From first import to Heroku off", 0, nil) // import: nothing to do, so it does not ask
	// "2. Cutover", as the README says it: envsync cutover --app web (here the README config's app).
	stdout.Reset()
	stderr.Reset()
	if code := run(t.Context(), []string{"envsync", "cutover", "--app", "web-production", "--yes"}, strings.NewReader(""), &stdout, &stderr); code != 0 {
		t.Fatalf("cutover: exit %d\n%s%s", code, &stdout, &stderr)
	}
	runBlock("From first import to Heroku off", 1, nil)
	// The way back: migrating again, and the import works again.
	if code := run(t.Context(), []string{"envsync", "cutover", "--app", "web-production", "--undo", "--yes"}, strings.NewReader(""), &stdout, &stderr); code != 0 {
		t.Fatalf("cutover --undo: exit %d\n%s%s", code, &stdout, &stderr)
	}
	if code := run(t.Context(), []string{"envsync", "import", "--yes"}, strings.NewReader(""), &stdout, &stderr); code != 0 {
		t.Fatalf("import after the way back: exit %d\n%s%s", code, &stdout, &stderr)
	}

	// "Start: envsync init", in a new folder, for a team of two apps; the
	// config it writes is accepted by plan as it is.
	for _, name := range []string{"acme-api", "acme-web"} {
		hk.SetConfig(name, map[string]string{"RAILS_ENV": "production", "FEATURE_SEARCH": "on"})
		hk.SetTeam(name, "acme")
	}
	t.Chdir(t.TempDir())
	runBlock("Start: `envsync init`", 0, nil)
	if code := run(t.Context(), []string{"envsync", "plan"}, strings.NewReader(""), &stdout, &stderr); code != 0 {
		t.Fatalf("plan of the config init wrote: exit %d\n%s%s", code, &stdout, &stderr)
	}
}

// readmeCommand is one command of a README shell block: its words (double
// or single quotes grouped, # comments dropped) and the file its stdout
// goes to.
type readmeCommand struct {
	args     []string
	redirect string
}

// readmeCommands splits a README block into commands: one per line, and
// "a && b" into two.
func readmeCommands(block string) []readmeCommand {
	var out []readmeCommand
	for _, line := range strings.Split(strings.ReplaceAll(block, "\\\n", " "), "\n") {
		var words []string
		var cur strings.Builder
		inWord, quote := false, rune(0)
		flush := func() {
			if inWord {
				words = append(words, cur.String())
			}
			cur.Reset()
			inWord = false
		}
	scan:
		for _, r := range line {
			switch {
			case quote != 0 && r == quote:
				quote = 0
			case quote != 0:
				cur.WriteRune(r)
			case r == '"' || r == '\'':
				quote, inWord = r, true
			case r == '#' && !inWord:
				break scan
			case r == ' ' || r == '\t':
				flush()
			default:
				cur.WriteRune(r)
				inWord = true
			}
		}
		flush()
		c := readmeCommand{}
		for i := 0; i < len(words); i++ {
			switch w := words[i]; {
			case w == "&&":
				out = append(out, c)
				c = readmeCommand{}
			case w == ">" && i+1 < len(words):
				c.redirect = words[i+1]
				i++
			default:
				c.args = append(c.args, w)
			}
		}
		if len(c.args) > 0 {
			out = append(out, c)
		}
	}
	return out
}

// ecsServiceFrom registers the container definition ecs render wrote to
// path (merged into a container named web) and creates the service.
func ecsServiceFrom(t *testing.T, cluster, service, path string) {
	t.Helper()
	var doc struct {
		ContainerDefinition struct {
			EnvironmentFiles []struct{ Value string } `json:"environmentFiles"`
			Secrets          []struct {
				Name      string `json:"name"`
				ValueFrom string `json:"valueFrom"`
			} `json:"secrets"`
			Environment []struct{ Name, Value string } `json:"environment"`
		} `json:"containerDefinition"`
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	ct := sinktest.Container{Env: map[string]string{}, Secrets: map[string]string{}}
	for _, f := range doc.ContainerDefinition.EnvironmentFiles {
		ct.EnvFiles = append(ct.EnvFiles, "s3://"+strings.TrimPrefix(f.Value, "arn:aws:s3:::"))
	}
	for _, s := range doc.ContainerDefinition.Secrets {
		ct.Secrets[s.Name] = s.ValueFrom
	}
	for _, e := range doc.ContainerDefinition.Environment {
		ct.Env[e.Name] = e.Value
	}
	sinktest.ECSService(t, cluster, service, ct)
}
