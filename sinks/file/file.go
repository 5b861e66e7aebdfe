// Package file keeps variables in a local ECS env file (file:PATH): the
// embedded default store, no cloud needed. Relative paths are relative to
// the config file. A file that holds secrets is written with mode 0600.
package file

import (
	"context"
	"fmt"
	"net/url"

	"github.com/envsync/envsync"
	"github.com/envsync/envsync/sinks/internal/localfile"
)

func init() { envsync.Register("file", Open) }

// Store is one local env file.
type Store struct {
	url, path string
}

// Open parses file:PATH (or file:///abs/path).
func Open(_ context.Context, u *url.URL, opts envsync.OpenOptions) (envsync.Store, error) {
	p := u.Opaque
	if p == "" {
		p = u.Path
	}
	if p == "" || u.RawQuery != "" || u.Fragment != "" {
		return nil, envsync.WithHint(fmt.Errorf("%w: %q: want file:PATH", envsync.ErrInvalid, u.String()), "e.g. file:out/feature.env")
	}
	if unescaped, err := url.PathUnescape(p); err == nil {
		p = unescaped
	}
	return &Store{url: u.String(), path: localfile.Resolve(opts.BaseDir, p)}, nil
}

// Read parses the file with the ECS agent's rules.
func (s *Store) Read(_ context.Context) (*envsync.Snapshot, error) {
	data, version, exists, err := localfile.Read(s.path)
	if err != nil {
		return nil, err
	}
	if !exists {
		return envsync.EmptySnapshot(), nil
	}
	vars, err := envsync.ParseEnvFile(s.path, data)
	if err != nil {
		return nil, err
	}
	return &envsync.Snapshot{Vars: vars, Exists: true, Version: version}, nil
}

// Validate refuses what an ECS env file cannot carry.
func (s *Store) Validate(vars map[string]string) error {
	if _, err := envsync.FormatEnvFile(vars); err != nil {
		return s.named(err)
	}
	return nil
}

func (s *Store) named(err error) error {
	if ue, ok := err.(*envsync.UnrepresentableError); ok {
		ue.Store = s.url
	}
	return err
}

// Write replaces the file atomically, conditional on the version read.
func (s *Store) Write(_ context.Context, req *envsync.WriteRequest) error {
	data, err := envsync.FormatEnvFile(req.Vars)
	if err != nil {
		return s.named(err)
	}
	if envsync.Unchanged(req.Base, req.Vars) {
		return nil
	}
	return localfile.Write(s.path, data, req.Base.Version, 0o644, req.Sensitive)
}

// Claim: one local file (symlinks resolved).
func (s *Store) Claim() envsync.Claim {
	return envsync.Claim{Space: "file", Name: localfile.Target(s.path)}
}

// HoldsSecrets: a local file written 0600 may hold secrets (DESIGN.md).
func (s *Store) HoldsSecrets() bool { return true }
