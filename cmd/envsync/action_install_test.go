package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// installStep returns action.yml's install step: its script and env.
func installStep(t *testing.T) (string, map[string]string) {
	t.Helper()
	data, err := os.ReadFile("../../action.yml")
	if err != nil {
		t.Fatal(err)
	}
	var a actionYAML
	if err := yaml.Unmarshal(data, &a); err != nil {
		t.Fatalf("action.yml: %v", err)
	}
	for _, s := range a.Runs.Steps {
		if strings.Contains(s.Uses, "setup-go") {
			t.Errorf("action.yml uses %s: the action must never change the job's Go", s.Uses)
		}
		if s.ID == "install" {
			return s.Run, s.Env
		}
	}
	t.Fatal("action.yml has no step with id install")
	return "", nil
}

// releaseDir serves what a release holds: $ENVSYNC_DIST (make
// release-snapshot's dist/) when set, else archives built here the same way
// (envsync_VERSION_OS_ARCH.tar.gz and envsync_VERSION_checksums.txt).
func releaseDir(t *testing.T) (dir, version string) {
	t.Helper()
	if dist := os.Getenv("ENVSYNC_DIST"); dist != "" {
		sums, _ := filepath.Glob(filepath.Join(dist, "envsync_*_checksums.txt"))
		if len(sums) != 1 {
			t.Fatalf("ENVSYNC_DIST=%s: want one envsync_*_checksums.txt, found %v", dist, sums)
		}
		version = strings.TrimSuffix(strings.TrimPrefix(filepath.Base(sums[0]), "envsync_"), "_checksums.txt")
		return dist, version
	}
	dir, version = t.TempDir(), "0.0.0-test"
	bin := filepath.Join(t.TempDir(), "envsync")
	build := exec.Command("go", "build", "-trimpath", "-ldflags", "-X github.com/envsync/envsync.Version="+version, "-o", bin, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	data, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for _, f := range []struct {
		name string
		data []byte
	}{{"README.md", []byte("# envsync\n")}, {"envsync", data}} {
		tw.WriteHeader(&tar.Header{Name: f.name, Mode: 0o755, Size: int64(len(f.data))})
		tw.Write(f.data)
	}
	tw.Close()
	zw.Close()
	archive := fmt.Sprintf("envsync_%s_linux_amd64.tar.gz", version)
	sum := sha256.Sum256(buf.Bytes())
	writeFile(t, filepath.Join(dir, archive), buf.String())
	writeFile(t, filepath.Join(dir, "envsync_"+version+"_checksums.txt"), hex.EncodeToString(sum[:])+"  "+archive+"\n")
	return dir, version
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestActionInstall runs the action's install step the way the runner does,
// against a local server laid out like the releases page: a good checksum
// installs a working envsync; a bad one fails the step, says why, and
// installs nothing.
func TestActionInstall(t *testing.T) {
	script, env := installStep(t)
	dir, version := releaseDir(t)
	srv := httptest.NewServer(http.StripPrefix("/v"+version, http.FileServer(http.Dir(dir))))
	t.Cleanup(srv.Close)

	run := func(t *testing.T, inputs map[string]string) (tmp, out string, code int) {
		tmp = t.TempDir()
		cmd := exec.Command("bash", "-e", "-c", script)
		cmd.Env = append(os.Environ(), "RUNNER_TEMP="+tmp, "RUNNER_OS=Linux", "RUNNER_ARCH=X64",
			"GITHUB_PATH="+filepath.Join(tmp, "path"), "GITHUB_OUTPUT="+filepath.Join(tmp, "output"))
		ref := regexp.MustCompile(`\$\{\{\s*(inputs|github)\.([\w-]+)\s*\}\}`)
		for k, v := range env {
			v = ref.ReplaceAllStringFunc(v, func(m string) string { return inputs[ref.FindStringSubmatch(m)[2]] })
			cmd.Env = append(cmd.Env, k+"="+v)
		}
		b, _ := cmd.CombinedOutput()
		return tmp, string(b), cmd.ProcessState.ExitCode()
	}

	t.Run("good checksum", func(t *testing.T) {
		tmp, out, code := run(t, map[string]string{"version": "v" + version, "download-url": srv.URL, "build-from-source": "false"})
		if code != 0 {
			t.Fatalf("exit %d\n%s", code, out)
		}
		bin := filepath.Join(tmp, "envsync-bin", "envsync")
		got, err := exec.Command(bin, "--version").Output()
		if err != nil || strings.TrimSpace(string(got)) != "envsync version "+version {
			t.Errorf("installed envsync --version: %q (%v); want version %s", got, err, version)
		}
		if p, _ := os.ReadFile(filepath.Join(tmp, "path")); string(p) != filepath.Dir(bin)+"\n" {
			t.Errorf("GITHUB_PATH = %q", p)
		}
		if o, _ := os.ReadFile(filepath.Join(tmp, "output")); string(o) != "path="+bin+"\n" {
			t.Errorf("GITHUB_OUTPUT = %q", o)
		}
	})

	t.Run("bad checksum", func(t *testing.T) {
		bad := t.TempDir()
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			data, _ := os.ReadFile(filepath.Join(dir, e.Name()))
			if strings.HasSuffix(e.Name(), "_checksums.txt") {
				data = regexp.MustCompile(`(?m)^[0-9a-f]{64}`).ReplaceAll(data, []byte(strings.Repeat("0", 64)))
			}
			writeFile(t, filepath.Join(bad, e.Name()), string(data))
		}
		badSrv := httptest.NewServer(http.StripPrefix("/v"+version, http.FileServer(http.Dir(bad))))
		t.Cleanup(badSrv.Close)
		tmp, out, code := run(t, map[string]string{"version": version, "download-url": badSrv.URL, "build-from-source": "false"})
		if code != 1 {
			t.Fatalf("exit %d; want 1\n%s", code, out)
		}
		archive := fmt.Sprintf("envsync_%s_linux_amd64.tar.gz", version)
		want := regexp.MustCompile(`(?m)^::error title=envsync install::checksum mismatch for ` + regexp.QuoteMeta(archive) +
			`: sha256 is [0-9a-f]{64} but envsync_` + regexp.QuoteMeta(version) + `_checksums.txt says 0{64}; refusing to install$`)
		if !want.MatchString(out) {
			t.Errorf("output does not say why:\n%s", out)
		}
		if _, err := os.Stat(filepath.Join(tmp, "envsync-bin", "envsync")); err == nil {
			t.Error("envsync was installed despite the bad checksum")
		}
		if p, _ := os.ReadFile(filepath.Join(tmp, "path")); len(p) > 0 {
			t.Errorf("GITHUB_PATH was changed: %q", p)
		}
	})

	t.Run("no version", func(t *testing.T) {
		_, out, code := run(t, map[string]string{"download-url": srv.URL, "build-from-source": "false"})
		if code != 1 || !strings.Contains(out, "::error title=envsync install::set the envsync release to install, e.g. with: version: 0.2.0 (or build-from-source: true)") {
			t.Fatalf("exit %d\n%s", code, out)
		}
	})
}

// TestWorkflowsPinEnvsync: the example workflows install a pinned envsync
// release, never @latest, and never set up Go just to build it.
func TestWorkflowsPinEnvsync(t *testing.T) {
	files, _ := filepath.Glob("../../testdata/workflows/*.yml")
	if len(files) == 0 {
		t.Fatal("no example workflows")
	}
	pin := regexp.MustCompile(`(?m)(ENVSYNC_VERSION|version): "\d+\.\d+\.\d+"`)
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		s := string(data)
		if strings.Contains(s, "@latest") || strings.Contains(s, "setup-go") {
			t.Errorf("%s: installs envsync unpinned or sets up Go", filepath.Base(f))
		}
		if !pin.MatchString(s) {
			t.Errorf("%s: no pinned envsync version", filepath.Base(f))
		}
	}
}
