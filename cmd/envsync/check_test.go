package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// gitRepo makes a repository whose main branch has base, then a pr branch
// whose commit writes pr; it returns the repository's folder (the cwd).
func gitRepo(t *testing.T, files map[string]string, pr map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	t.Chdir(dir)
	git := func(args ...string) {
		t.Helper()
		cmd := exec.Command("git", args...)
		cmd.Env = append(os.Environ(), "GIT_CONFIG_GLOBAL=/dev/null", "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	write := func(m map[string]string) {
		for name, content := range m {
			os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755)
			if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	git("init", "-q", "-b", "main")
	write(files)
	git("add", "-A")
	git("commit", "-q", "-m", "base")
	git("checkout", "-q", "-b", "pr")
	write(pr)
	git("add", "-A")
	git("commit", "-q", "-m", "pr")
	return dir
}

type runner struct{ summary, output string }

func githubRunner(t *testing.T, dir string) runner {
	r := runner{summary: filepath.Join(dir, "..", "summary.md"), output: filepath.Join(dir, "..", "output.txt")}
	t.Setenv("GITHUB_ACTIONS", "true")
	t.Setenv("GITHUB_BASE_REF", "main")
	t.Setenv("GITHUB_STEP_SUMMARY", r.summary)
	t.Setenv("GITHUB_OUTPUT", r.output)
	for _, k := range []string{"AWS_ACCESS_KEY_ID", "AWS_PROFILE", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"} {
		t.Setenv(k, "")
	}
	t.Setenv("HOME", t.TempDir())
	return r
}

func runCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = run(t.Context(), append([]string{"envsync"}, args...), strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

const checkConfig = `version: 1
apps:
  web:
    source: heroku://acme
    routes:
      feature: s3://acme-env/production/feature.env
    flags_file: config/production/feature.env
`

func TestCheckRefusesSecretsAndMangledValues(t *testing.T) {
	const secret = "sk_live_4eC39HqLyjWDarjtT1zdp7dc"
	dir := gitRepo(t,
		map[string]string{"envsync.yaml": checkConfig, "config/production/feature.env": "FEATURE_CHECKOUT=off\nMAINTENANCE_MODE=off\n"},
		map[string]string{"config/production/feature.env": "FEATURE_CHECKOUT=on\nMAINTENANCE_MODE=off\nSTRIPE_KEY=" + secret + "\nFEATURE_BANNER=\"Hello\"\nFEATURE_EMPTY=\n"})
	r := githubRunner(t, dir)
	code, stdout, stderr := runCLI(t, "check")
	if code != 1 {
		t.Fatalf("exit %d; want 1\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	for line, code := range map[int]string{3: "SEC001", 4: "ENV001", 5: "ENV002"} {
		re := regexp.MustCompile(`(?m)^::error file=config/production/feature.env,line=` + strconv.Itoa(line) + `,title=` + code + `::`)
		if n := len(re.FindAllString(stdout, -1)); n != 1 {
			t.Errorf("line %d: %d %s annotations; want 1\n%s", line, n, code, stdout)
		}
	}
	if n := strings.Count(stdout, "::error "); n != 3 {
		t.Errorf("%d error annotations; want 3:\n%s", n, stdout)
	}
	summary, _ := os.ReadFile(r.summary)
	output, _ := os.ReadFile(r.output)
	for name, text := range map[string]string{"stdout": stdout, "stderr": stderr, "summary": string(summary), "output": string(output)} {
		if strings.Contains(text, secret) {
			t.Errorf("%s shows the secret", name)
		}
	}
	m := regexp.MustCompile(`changed-keys<<(\S+)\n`).FindSubmatchIndex(output)
	if !strings.Contains(string(output), "violations=3\n") || m == nil {
		t.Fatalf("GITHUB_OUTPUT:\n%s", output)
	}
	delim := string(output[m[2]:m[3]])
	value, _, closed := strings.Cut(string(output[m[1]:]), "\n"+delim+"\n")
	if !closed || strings.Fields(value)[0] != "FEATURE_BANNER" || !strings.Contains(value, "STRIPE_KEY") {
		t.Errorf("changed-keys = %q (closed %v)", value, closed)
	}
	if !strings.Contains(stderr, "skipped comparing with s3://acme-env/production/feature.env: no AWS credentials") {
		t.Errorf("stderr does not say the deployed comparison was skipped:\n%s", stderr)
	}
}

func TestCheckPassesFlagFlips(t *testing.T) {
	dir := gitRepo(t,
		map[string]string{"envsync.yaml": checkConfig, "config/production/feature.env": "FEATURE_CHECKOUT=off\nSLACK_ALERTS_CHANNEL=#ops\n", "README.md": "x\n"},
		map[string]string{"config/production/feature.env": "FEATURE_CHECKOUT=on\nSLACK_ALERTS_CHANNEL=#ops-new\n", "README.md": "y\n"})
	r := githubRunner(t, dir)
	code, stdout, stderr := runCLI(t, "check")
	if code != 0 || strings.Contains(stdout, "::error") {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	summary, _ := os.ReadFile(r.summary)
	for _, want := range []string{"## envsync check: passed", "| `config/production/feature.env` | `FEATURE_CHECKOUT` | feature | `off` → `on` | ok |", "`SLACK_ALERTS_CHANNEL` | feature | `#ops` → `#ops-new` | ok |"} {
		if !strings.Contains(string(summary), want) {
			t.Errorf("summary lacks %q:\n%s", want, summary)
		}
	}
	output, _ := os.ReadFile(r.output)
	if !strings.Contains(string(output), "violations=0\n") {
		t.Errorf("GITHUB_OUTPUT:\n%s", output)
	}
}

func TestCheckLocalOutput(t *testing.T) {
	gitRepo(t, map[string]string{"app.env": "A=1\n"}, map[string]string{"app.env": "A=1\nexport B=2\nrails_env=production\n"})
	t.Setenv("GITHUB_ACTIONS", "")
	code, stdout, _ := runCLI(t, "check", "--base", "main")
	if code != 1 {
		t.Fatalf("exit %d:\n%s", code, stdout)
	}
	for _, want := range []string{"app.env:2: error: ENV003: 'export ' prefix", "app.env:3: warning: ENV009: lower-case name"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout)
		}
	}
}
