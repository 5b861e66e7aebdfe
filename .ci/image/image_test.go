package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"debug/elf"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// TestImage opens the OCI archive with nothing but archive/tar and
// encoding/json (not the library that wrote it), follows index → manifest
// → config and layer for each platform, checks the user, entrypoint and
// version label, and runs the amd64 entrypoint's --version.
// ENVSYNC_IMAGE (and ENVSYNC_IMAGE_VERSION) test the archive `make image`
// wrote; otherwise the test builds one.
func TestImage(t *testing.T) {
	archive, version := os.Getenv("ENVSYNC_IMAGE"), os.Getenv("ENVSYNC_IMAGE_VERSION")
	if archive == "" {
		archive, version = filepath.Join(t.TempDir(), "envsync-image.tar"), "9.9.9-test"
		o := Options{Repo: "../..", Version: version, Platforms: []string{"linux/amd64", "linux/arm64"}, Out: archive, Created: time.Unix(0, 0).UTC()}
		if err := Build(o); err != nil {
			t.Fatal(err)
		}
	}
	blobs := readTar(t, archive)
	if !bytes.Contains(blobs["oci-layout"], []byte(`"imageLayoutVersion"`)) {
		t.Fatalf("no oci-layout file: not an OCI image layout")
	}
	var index ociIndex
	decode(t, blobs["index.json"], &index) // the layout's index is the multi-platform index
	if got := index.Annotations["org.opencontainers.image.version"]; got != version {
		t.Errorf("index version annotation %q, want %q", got, version)
	}
	machines := map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64}
	seen := map[string]bool{}
	for _, m := range index.Manifests {
		arch := m.Platform.Architecture
		seen[arch] = true
		if m.Platform.OS != "linux" {
			t.Errorf("platform %s/%s", m.Platform.OS, arch)
		}
		var man ociManifest
		decode(t, blob(t, blobs, m.Digest), &man)
		var cfg struct {
			Architecture, OS string
			Config           struct {
				User       string
				Entrypoint []string
				Labels     map[string]string
			} `json:"config"`
		}
		decode(t, blob(t, blobs, man.Config.Digest), &cfg)
		if cfg.Config.User != "65532:65532" {
			t.Errorf("%s: user %q, want 65532:65532 (non-root)", arch, cfg.Config.User)
		}
		if cfg.Architecture != arch || cfg.OS != "linux" {
			t.Errorf("%s: config says %s/%s", arch, cfg.OS, cfg.Architecture)
		}
		if got := cfg.Config.Labels["org.opencontainers.image.version"]; got != version {
			t.Errorf("%s: version label %q, want %q", arch, got, version)
		}
		if len(cfg.Config.Entrypoint) != 1 || len(man.Layers) != 1 {
			t.Fatalf("%s: entrypoint %q, %d layers; want one of each", arch, cfg.Config.Entrypoint, len(man.Layers))
		}
		files := readLayer(t, blob(t, blobs, man.Layers[0].Digest))
		bin, ok := files[strings.TrimPrefix(cfg.Config.Entrypoint[0], "/")]
		if !ok {
			t.Fatalf("%s: the entrypoint %s is not in the layer", arch, cfg.Config.Entrypoint[0])
		}
		f, err := elf.NewFile(bytes.NewReader(bin))
		if err != nil {
			t.Fatalf("%s: entrypoint: %v", arch, err)
		}
		if f.Machine != machines[arch] {
			t.Errorf("%s: entrypoint is built for %v", arch, f.Machine)
		}
		if _, err := f.DynamicSymbols(); err == nil {
			t.Errorf("%s: entrypoint is dynamically linked; scratch has no libc", arch)
		}
		if arch == "amd64" && runtime.GOARCH == "amd64" && runtime.GOOS == "linux" {
			path := filepath.Join(t.TempDir(), "envsync")
			if err := os.WriteFile(path, bin, 0o755); err != nil {
				t.Fatal(err)
			}
			out, err := exec.Command(path, "--version").CombinedOutput()
			if err != nil || strings.TrimSpace(string(out)) != "envsync version "+version {
				t.Errorf("envsync --version: %q (%v); want %q", out, err, "envsync version "+version)
			}
		}
	}
	for arch := range machines {
		if !seen[arch] {
			t.Errorf("no linux/%s image in the index", arch)
		}
	}
}

type descriptor struct {
	MediaType string `json:"mediaType"`
	Digest    string `json:"digest"`
	Platform  struct {
		OS           string `json:"os"`
		Architecture string `json:"architecture"`
	} `json:"platform"`
}

type ociIndex struct {
	Manifests   []descriptor      `json:"manifests"`
	Annotations map[string]string `json:"annotations"`
}

type ociManifest struct {
	Config descriptor   `json:"config"`
	Layers []descriptor `json:"layers"`
}

func readTar(t *testing.T, path string) map[string][]byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	return tarFiles(t, f)
}

func tarFiles(t *testing.T, r io.Reader) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			data, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			out[h.Name] = data
		}
	}
}

func readLayer(t *testing.T, data []byte) map[string][]byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	return tarFiles(t, zr)
}

func blob(t *testing.T, blobs map[string][]byte, digest string) []byte {
	t.Helper()
	data, ok := blobs["blobs/"+strings.Replace(digest, ":", "/", 1)]
	if !ok {
		t.Fatalf("blob %s is missing", digest)
	}
	return data
}

func decode(t *testing.T, data []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatal(err)
	}
}
