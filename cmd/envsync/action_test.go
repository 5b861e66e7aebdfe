package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

type actionYAML struct {
	Inputs map[string]struct {
		Default string `yaml:"default"`
	} `yaml:"inputs"`
	Runs struct {
		Using string `yaml:"using"`
		Steps []struct {
			ID   string            `yaml:"id"`
			Uses string            `yaml:"uses"`
			Run  string            `yaml:"run"`
			Env  map[string]string `yaml:"env"`
		} `yaml:"steps"`
	} `yaml:"runs"`
}

// TestAction parses action.yml and runs its check step's script the way the
// runner would, against a pull request in a temp repository.
func TestAction(t *testing.T) {
	data, err := os.ReadFile("../../action.yml")
	if err != nil {
		t.Fatal(err)
	}
	var a actionYAML
	if err := yaml.Unmarshal(data, &a); err != nil {
		t.Fatalf("action.yml: %v", err)
	}
	if a.Runs.Using != "composite" {
		t.Fatalf("runs.using = %q", a.Runs.Using)
	}
	for _, name := range []string{"config", "files", "base-ref"} {
		if _, ok := a.Inputs[name]; !ok {
			t.Errorf("input %q is missing", name)
		}
	}
	pinned := regexp.MustCompile(`^[\w-]+/[\w-]+@[0-9a-f]{40}$`)
	var script string
	var env map[string]string
	for _, s := range a.Runs.Steps {
		if s.Uses != "" && !pinned.MatchString(s.Uses) {
			t.Errorf("%s is not pinned by commit SHA", s.Uses)
		}
		if s.ID == "check" {
			script, env = s.Run, s.Env
		}
	}
	if script == "" {
		t.Fatal("no step with id check")
	}

	bin := t.TempDir()
	build := exec.Command("go", "build", "-o", filepath.Join(bin, "envsync"), ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	dir := gitRepo(t, map[string]string{"config/feature.env": "FEATURE_A=off\n"},
		map[string]string{"config/feature.env": "FEATURE_A=on\nFEATURE_B=\"quoted\"\n"})
	r := githubRunner(t, dir)
	inputs := map[string]string{"config": "", "files": "", "base-ref": "main"}
	cmd := exec.Command("bash", "-e", "-c", script)
	cmd.Env = append(os.Environ(), "RUNNER_TEMP="+bin)
	for k, v := range env {
		v = regexp.MustCompile(`\$\{\{\s*inputs\.([\w-]+)\s*\}\}`).ReplaceAllStringFunc(v, func(m string) string {
			return inputs[regexp.MustCompile(`inputs\.([\w-]+)`).FindStringSubmatch(m)[1]]
		})
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.Env = append(cmd.Env, "ENVSYNC="+filepath.Join(bin, "envsync")) // the install step's output
	out, err := cmd.Output()
	if code := cmd.ProcessState.ExitCode(); code != 1 {
		t.Fatalf("exit %d (%v); want 1\n%s", code, err, out)
	}
	if !strings.Contains(string(out), "::error file=config/feature.env,line=2,title=ENV001::") {
		t.Errorf("no annotation for the quoted value:\n%s", out)
	}
	if got, _ := os.ReadFile(r.output); !strings.Contains(string(got), "violations=1\n") {
		t.Errorf("GITHUB_OUTPUT:\n%s", got)
	}
}
