// Package localfile reads and atomically writes local files for the file:
// and tfvars: stores: a write goes to a temp file in the same folder, is
// synced, and renamed over the target, so a failed run leaves nothing
// half-written; a write is refused with ErrConflict when the file changed
// since it was read.
package localfile

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync/atomic"

	"github.com/envsync/envsync"
)

// Writes counts the files written by this process (tests check that a no-op
// run writes nothing).
var Writes atomic.Int64

// Target is the file a write to path changes: path itself, or, when path is
// a symlink (or sits in a symlinked folder), the file it points to, so a
// write goes through the link and the link stays. A dangling link resolves
// to where it points.
func Target(path string) string {
	abs, err := filepath.Abs(path)
	if err != nil {
		return path
	}
	if real, err := filepath.EvalSymlinks(abs); err == nil {
		return real
	}
	// A dangling link: follow it by hand (a few hops), else the path.
	p := abs
	for range 40 {
		dest, err := os.Readlink(p)
		if err != nil {
			break
		}
		if !filepath.IsAbs(dest) {
			dest = filepath.Join(filepath.Dir(p), dest)
		}
		p = dest
	}
	return p
}

// Read returns the file's content and its version (a sha256 of the bytes),
// or exists=false when there is no file.
func Read(path string) (data []byte, version string, exists bool, err error) {
	data, err = os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, "", false, nil
	}
	if err != nil {
		return nil, "", false, err
	}
	return data, Version(data), true, nil
}

// Version is the version token of content data.
func Version(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// Write replaces path with data if the file still has version base ("" means
// it must not exist yet). perm is used for a new file; an existing file keeps
// its mode unless private is set, which forces 0600.
func Write(path string, data []byte, base string, perm fs.FileMode, private bool) error {
	path = Target(path)
	unlock, err := Lock(path)
	if err != nil {
		return err
	}
	defer unlock()
	_, cur, _, err := Read(path)
	if err != nil {
		return err
	}
	if cur != base {
		return fmt.Errorf("%s: %w", path, envsync.ErrConflict)
	}
	return Replace(path, data, perm, private)
}

// Lock takes an exclusive lock (flock; LockFileEx on Windows) on the folder holding path, so that
// read-check-rename sequences of envsync processes on one machine do not
// interleave. It creates the folder if needed.
func Lock(path string) (unlock func(), err error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	return lockFolder(dir)
}

// Replace writes data to path atomically (temp file, fsync, rename). When
// path is a symlink the file it points to is replaced and the link kept.
func Replace(path string, data []byte, perm fs.FileMode, private bool) error {
	path = Target(path)
	exists := false
	if _, err := os.Stat(path); err == nil {
		exists = true
	}
	if exists && !private {
		if st, err := os.Stat(path); err == nil {
			perm = st.Mode().Perm()
		}
	}
	if private {
		perm = 0o600
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".envsync-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // after a successful rename this is a no-op
	if err := tmp.Chmod(perm); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	Writes.Add(1)
	return nil
}

// Resolve returns the path of a file: or tfvars: URL's PATH part, relative
// to base when it is not absolute.
func Resolve(base, p string) string {
	if filepath.IsAbs(p) || base == "" {
		return p
	}
	return filepath.Join(base, p)
}
