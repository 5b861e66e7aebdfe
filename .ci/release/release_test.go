// Package release checks what `make release-snapshot` (goreleaser) wrote to
// dist/: `make release-check` runs it with ENVSYNC_DIST set.
package release

import (
	"archive/tar"
	"archive/zip"
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"debug/elf"
	"debug/macho"
	"debug/pe"
	"encoding/hex"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// TestReleaseArchives: one archive per platform, each matching its line in
// the checksums file, each holding an envsync built for its platform; the
// linux/amd64 one runs and reports the version in the archive names.
func TestReleaseArchives(t *testing.T) {
	dist := os.Getenv("ENVSYNC_DIST")
	if dist == "" {
		t.Fatal("set ENVSYNC_DIST to the dist/ folder of make release-snapshot (make release-check does)")
	}
	sumsPath, _ := filepath.Glob(filepath.Join(dist, "envsync_*_checksums.txt"))
	if len(sumsPath) != 1 {
		t.Fatalf("want one envsync_*_checksums.txt in %s, found %v", dist, sumsPath)
	}
	version := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(sumsPath[0]), "envsync_"), "_checksums.txt")
	sums := map[string]string{}
	f, err := os.Open(sumsPath[0])
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		sum, name, ok := strings.Cut(sc.Text(), "  ")
		if !ok || len(sum) != 64 {
			t.Fatalf("checksums line %q: want HASH  FILE", sc.Text())
		}
		sums[name] = sum
	}
	f.Close()

	platforms := map[string]string{ // archive → object format
		"linux_amd64.tar.gz": "elf", "linux_arm64.tar.gz": "elf",
		"darwin_amd64.tar.gz": "macho", "darwin_arm64.tar.gz": "macho",
		"windows_amd64.zip": "pe",
	}
	if len(sums) != len(platforms) {
		t.Errorf("checksums list %d files, want %d: %v", len(sums), len(platforms), sums)
	}
	for suffix, format := range platforms {
		name := "envsync_" + version + "_" + suffix
		t.Run(suffix, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(dist, name))
			if err != nil {
				t.Fatal(err)
			}
			got := sha256.Sum256(data)
			if hex.EncodeToString(got[:]) != sums[name] {
				t.Fatalf("%s: sha256 %x, checksums say %q", name, got, sums[name])
			}
			bin := extract(t, name, data)
			switch format {
			case "elf":
				e, err := elf.NewFile(bytes.NewReader(bin))
				if err != nil {
					t.Fatal(err)
				}
				if want := map[bool]elf.Machine{true: elf.EM_X86_64, false: elf.EM_AARCH64}[strings.Contains(suffix, "amd64")]; e.Machine != want {
					t.Errorf("built for %v", e.Machine)
				}
			case "macho":
				m, err := macho.NewFile(bytes.NewReader(bin))
				if err != nil {
					t.Fatal(err)
				}
				if want := map[bool]macho.Cpu{true: macho.CpuAmd64, false: macho.CpuArm64}[strings.Contains(suffix, "amd64")]; m.Cpu != want {
					t.Errorf("built for %v", m.Cpu)
				}
			case "pe":
				if _, err := pe.NewFile(bytes.NewReader(bin)); err != nil {
					t.Fatal(err)
				}
			}
			if suffix == "linux_amd64.tar.gz" && runtime.GOOS == "linux" && runtime.GOARCH == "amd64" {
				path := filepath.Join(t.TempDir(), "envsync")
				if err := os.WriteFile(path, bin, 0o755); err != nil {
					t.Fatal(err)
				}
				out, err := exec.Command(path, "--version").CombinedOutput()
				if err != nil || strings.TrimSpace(string(out)) != "envsync version "+version {
					t.Errorf("envsync --version: %q (%v); want %q", out, err, "envsync version "+version)
				}
			}
		})
	}
}

// extract returns the envsync binary inside an archive.
func extract(t *testing.T, name string, data []byte) []byte {
	t.Helper()
	if strings.HasSuffix(name, ".zip") {
		zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range zr.File {
			if f.Name == "envsync.exe" {
				rc, err := f.Open()
				if err != nil {
					t.Fatal(err)
				}
				defer rc.Close()
				b, _ := io.ReadAll(rc)
				return b
			}
		}
		t.Fatalf("%s has no envsync.exe", name)
	}
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if err != nil {
			t.Fatalf("%s has no envsync: %v", name, err)
		}
		if h.Name == "envsync" {
			b, _ := io.ReadAll(tr)
			return b
		}
	}
}
