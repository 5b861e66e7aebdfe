// Command image builds the envsync container image without a Docker engine
// or a registry: a static envsync for each platform on an empty (scratch)
// base, non-root, written as an OCI image-layout tarball (an "OCI archive"
// that `crane push`, `skopeo copy oci-archive:…` and `docker load` read).
//
// It is its own module so that go-containerregistry stays out of envsync's
// dependencies. CA certificates are compiled into envsync
// (golang.org/x/crypto/x509roots/fallback), so the image holds nothing but
// the binary, /tmp and the nonroot home.
//
//	go run ./.ci/image -repo . -version 1.2.3 -out bin/envsync-image.tar
package main

import (
	"archive/tar"
	"bytes"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Nonroot is the distroless "nonroot" user and group.
const Nonroot = 65532

// Options say what to build.
type Options struct {
	Repo      string   // the envsync checkout
	Version   string   // stamped into the binary and the image labels
	Platforms []string // os/arch
	Out       string   // the OCI archive to write
	Created   time.Time
}

func main() {
	var o Options
	var platforms string
	flag.StringVar(&o.Repo, "repo", ".", "the envsync checkout")
	flag.StringVar(&o.Version, "version", "dev", "the version to stamp")
	flag.StringVar(&platforms, "platforms", "linux/amd64,linux/arm64", "comma-separated os/arch list")
	flag.StringVar(&o.Out, "out", "bin/envsync-image.tar", "the OCI archive to write")
	flag.Parse()
	o.Platforms = strings.Split(platforms, ",")
	o.Created = time.Unix(0, 0).UTC()
	if s := os.Getenv("SOURCE_DATE_EPOCH"); s != "" {
		var sec int64
		if _, err := fmt.Sscan(s, &sec); err == nil {
			o.Created = time.Unix(sec, 0).UTC()
		}
	}
	if err := Build(o); err != nil {
		log.SetFlags(0)
		log.Fatalf("image: %v", err)
	}
	fmt.Fprintf(os.Stderr, "image: wrote %s (%s, envsync %s)\n", o.Out, strings.Join(o.Platforms, ", "), o.Version)
}

// Build compiles envsync for each platform and writes the multi-platform
// image to o.Out, atomically.
func Build(o Options) error {
	work, err := os.MkdirTemp("", "envsync-image-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)

	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	for _, p := range o.Platforms {
		goos, goarch, ok := strings.Cut(p, "/")
		if !ok || goos != "linux" {
			return fmt.Errorf("platform %q: want linux/ARCH", p)
		}
		bin := filepath.Join(work, "envsync-"+goarch)
		if err := goBuild(o, goarch, bin); err != nil {
			return err
		}
		img, err := platformImage(o, goarch, bin)
		if err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{
			Add:        img,
			Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: goos, Architecture: goarch}},
		})
	}
	idx = mutate.Annotations(idx, labels(o)).(v1.ImageIndex)

	dir := filepath.Join(work, "layout")
	if _, err := layout.Write(dir, idx); err != nil {
		return fmt.Errorf("writing the OCI layout: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(o.Out), 0o755); err != nil {
		return err
	}
	tmp := o.Out + ".tmp"
	if err := tarDir(dir, tmp, o.Created); err != nil {
		os.Remove(tmp)
		return err
	}
	return os.Rename(tmp, o.Out)
}

func goBuild(o Options, goarch, out string) error {
	cmd := exec.Command("go", "build", "-trimpath",
		"-ldflags", "-s -w -X github.com/envsync/envsync.Version="+o.Version,
		"-o", out, "./cmd/envsync")
	cmd.Dir = o.Repo
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+goarch)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go build for linux/%s: %w", goarch, err)
	}
	return nil
}

func labels(o Options) map[string]string {
	return map[string]string{
		"org.opencontainers.image.title":       "envsync",
		"org.opencontainers.image.description": "move Heroku config vars to AWS and keep them right",
		"org.opencontainers.image.version":     o.Version,
		"org.opencontainers.image.source":      "https://github.com/envsync/envsync",
		"org.opencontainers.image.licenses":    "Apache-2.0",
		"org.opencontainers.image.created":     o.Created.Format(time.RFC3339),
	}
}

// platformImage is one layer (the binary, /tmp, the nonroot home) on an
// empty base, run as 65532:65532.
func platformImage(o Options, goarch, bin string) (v1.Image, error) {
	data, err := os.ReadFile(bin)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	dirs := []struct {
		name     string
		mode     int64
		uid, gid int
	}{
		{"etc/", 0o755, 0, 0},
		{"home/", 0o755, 0, 0},
		{"home/nonroot/", 0o700, Nonroot, Nonroot},
		{"tmp/", 0o1777, 0, 0},
		{"usr/", 0o755, 0, 0},
		{"usr/local/", 0o755, 0, 0},
		{"usr/local/bin/", 0o755, 0, 0},
	}
	for _, d := range dirs {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: d.name, Mode: d.mode, Uid: d.uid, Gid: d.gid, ModTime: o.Created, Format: tar.FormatPAX}); err != nil {
			return nil, err
		}
	}
	files := []struct {
		name string
		mode int64
		data []byte
	}{
		// So tools that look the user up (id, ps, some libraries) find it.
		{"etc/passwd", 0o644, []byte("root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n")},
		{"etc/group", 0o644, []byte("root:x:0:\nnonroot:x:65532:\n")},
		{"usr/local/bin/envsync", 0o755, data},
	}
	for _, f := range files {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: f.name, Mode: f.mode, Size: int64(len(f.data)), ModTime: o.Created, Format: tar.FormatPAX}); err != nil {
			return nil, err
		}
		if _, err := tw.Write(f.data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	layer, err := tarball.LayerFromReader(bytes.NewReader(buf.Bytes()), tarball.WithMediaType(types.OCILayer))
	if err != nil {
		return nil, err
	}
	base := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	base = mutate.ConfigMediaType(base, types.OCIConfigJSON)
	img, err := mutate.Append(base, mutate.Addendum{Layer: layer, MediaType: types.OCILayer, History: v1.History{
		Created: v1.Time{Time: o.Created}, CreatedBy: "envsync .ci/image: envsync " + o.Version, Comment: "static envsync binary",
	}})
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", goarch
	cf.Created = v1.Time{Time: o.Created}
	cf.Config.Entrypoint = []string{"/usr/local/bin/envsync"}
	cf.Config.Cmd = []string{"--help"}
	cf.Config.User = fmt.Sprintf("%d:%d", Nonroot, Nonroot)
	cf.Config.WorkingDir = "/home/nonroot"
	cf.Config.Env = []string{"PATH=/usr/local/bin", "HOME=/home/nonroot"}
	cf.Config.Labels = labels(o)
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		return nil, err
	}
	return mutate.Annotations(img, labels(o)).(v1.Image), nil
}

// tarDir writes dir as a tar file with fixed times and owners.
func tarDir(dir, out string, mtime time.Time) error {
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	tw := tar.NewWriter(f)
	err = filepath.Walk(dir, func(path string, fi os.FileInfo, err error) error {
		if err != nil || path == dir {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		hdr := &tar.Header{Name: filepath.ToSlash(rel), ModTime: mtime, Mode: 0o644, Format: tar.FormatPAX}
		if fi.IsDir() {
			hdr.Typeflag, hdr.Name, hdr.Mode = tar.TypeDir, hdr.Name+"/", 0o755
			return tw.WriteHeader(hdr)
		}
		hdr.Typeflag, hdr.Size = tar.TypeReg, fi.Size()
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		src, err := os.Open(path)
		if err != nil {
			return err
		}
		defer src.Close()
		_, err = io.Copy(tw, src)
		return err
	})
	if err == nil {
		err = tw.Close()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
