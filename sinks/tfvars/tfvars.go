// Package tfvars keeps variables in one map variable of a Terraform .tfvars
// file (tfvars:PATH#VARIABLE). Several routes may share one file, each
// owning its own variable: a write rewrites only its own attribute, with
// hclwrite, and keeps every other byte of the file (comments, other
// variables, formatting). Writes are atomic (temp file + rename) and
// conditional on the content read.
package tfvars

import (
	"context"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/zclconf/go-cty/cty"

	"github.com/envsync/envsync"
	"github.com/envsync/envsync/sinks/internal/localfile"
)

func init() { envsync.Register("tfvars", Open) }

// Store is one map variable in a tfvars file.
type Store struct {
	url, path, variable string
	files               *envsync.FileCache // the run's: a file routes share is parsed once
}

// Open parses tfvars:PATH#VARIABLE.
func Open(_ context.Context, u *url.URL, opts envsync.OpenOptions) (envsync.Store, error) {
	p := u.Opaque
	if p == "" {
		p = u.Path
	}
	if unescaped, err := url.PathUnescape(p); err == nil {
		p = unescaped
	}
	if p == "" || u.Fragment == "" || !hclsyntax.ValidIdentifier(u.Fragment) {
		return nil, envsync.WithHint(fmt.Errorf("%w: %q: want tfvars:PATH#VARIABLE with a valid Terraform variable name", envsync.ErrInvalid, u.String()),
			"e.g. tfvars:infra/production/app_env.auto.tfvars#app_static_env")
	}
	return &Store{url: u.String(), path: localfile.Resolve(opts.BaseDir, p), variable: u.Fragment, files: opts.Files}, nil
}

// Read evaluates the variable's map of strings. With the run's file cache,
// the file is read and parsed once however many routes share it.
func (s *Store) Read(_ context.Context) (*envsync.Snapshot, error) {
	if s.files == nil {
		pf, err := s.readFile()
		if err != nil {
			return nil, err
		}
		return s.variableOf(pf)
	}
	v, err := s.files.Load("tfvars:"+s.path, func() (any, error) { return s.readFile() })
	if err != nil {
		return nil, err
	}
	return s.variableOf(v.(*parsedFile))
}

// parsedFile is a tfvars file read and parsed once.
type parsedFile struct {
	mu     sync.Mutex // evaluation of the shared syntax tree, one at a time
	data   []byte
	exists bool
	attrs  hcl.Attributes
}

// parses counts files parsed for reading (tests check the cache).
var parses atomic.Int64

func (s *Store) readFile() (*parsedFile, error) {
	parses.Add(1)
	data, _, exists, err := localfile.Read(s.path)
	if err != nil {
		return nil, err
	}
	if !exists {
		return &parsedFile{}, nil
	}
	attrs, err := s.parseFile(data)
	if err != nil {
		return nil, err
	}
	return &parsedFile{data: data, exists: true, attrs: attrs}, nil
}

func (s *Store) variableOf(pf *parsedFile) (*envsync.Snapshot, error) {
	if !pf.exists {
		return envsync.EmptySnapshot(), nil
	}
	pf.mu.Lock()
	defer pf.mu.Unlock()
	return s.snapshot(pf.data, pf.attrs)
}

func (s *Store) parseFile(data []byte) (hcl.Attributes, error) {
	f, diags := hclsyntax.ParseConfig(data, s.path, hcl.InitialPos)
	if diags.HasErrors() {
		return nil, s.diagErr(diags)
	}
	attrs, diags := f.Body.JustAttributes()
	if diags.HasErrors() {
		return nil, s.diagErr(diags)
	}
	return attrs, nil
}

// parse reads the variable out of the file's content. The snapshot's
// version covers only this variable's bytes: routes sharing a file do not
// conflict with each other.
func (s *Store) parse(data []byte) (*envsync.Snapshot, error) {
	attrs, err := s.parseFile(data)
	if err != nil {
		return nil, err
	}
	return s.snapshot(data, attrs)
}

func (s *Store) snapshot(data []byte, attrs hcl.Attributes) (*envsync.Snapshot, error) {
	attr, ok := attrs[s.variable]
	if !ok {
		return envsync.EmptySnapshot(), nil
	}
	version := localfile.Version(attr.Range.SliceBytes(data))
	val, diags := attr.Expr.Value(nil)
	if diags.HasErrors() {
		return nil, s.diagErr(diags)
	}
	line := attr.Range.Start.Line
	if val.IsNull() || !(val.Type().IsMapType() || val.Type().IsObjectType()) {
		return nil, &envsync.PosError{File: s.path, Line: line, Err: fmt.Errorf("%w: %s: want a map of strings", envsync.ErrInvalid, s.variable)}
	}
	vars := map[string]string{}
	for it := val.ElementIterator(); it.Next(); {
		k, v := it.Element()
		if v.IsNull() || !v.IsKnown() || v.Type() != cty.String {
			return nil, &envsync.PosError{File: s.path, Line: line, Err: fmt.Errorf("%w: %s[%q]: want a string", envsync.ErrInvalid, s.variable, k.AsString())}
		}
		vars[k.AsString()] = v.AsString()
	}
	return &envsync.Snapshot{Vars: vars, Exists: true, Version: version}, nil
}

func (s *Store) diagErr(diags hcl.Diagnostics) error {
	d := diags[0]
	line := 0
	if d.Subject != nil {
		line = d.Subject.Start.Line
	}
	return &envsync.PosError{File: s.path, Line: line, Err: fmt.Errorf("%w: %s", envsync.ErrInvalid, d.Summary)}
}

// Write sets the variable to req.Vars and keeps every other byte.
func (s *Store) Write(_ context.Context, req *envsync.WriteRequest) error {
	if envsync.Unchanged(req.Base, req.Vars) {
		return nil
	}
	unlock, err := localfile.Lock(s.path)
	if err != nil {
		return err
	}
	defer unlock()
	data, _, exists, err := localfile.Read(s.path)
	if err != nil {
		return err
	}
	cur := envsync.EmptySnapshot()
	if exists {
		if cur, err = s.parse(data); err != nil {
			return err
		}
	}
	if cur.Version != req.Base.Version {
		return fmt.Errorf("%s#%s: %w", s.path, s.variable, envsync.ErrConflict)
	}
	f, diags := hclwrite.ParseConfig(data, s.path, hcl.InitialPos)
	if diags.HasErrors() {
		return s.diagErr(diags)
	}
	tokens, err := mapTokens(req.Vars)
	if err != nil {
		return err
	}
	body := f.Body()
	if body.GetAttribute(s.variable) == nil && len(data) > 0 && data[len(data)-1] != '\n' {
		body.AppendNewline()
	}
	body.SetAttributeRaw(s.variable, tokens)
	return localfile.Replace(s.path, f.Bytes(), 0o644, false)
}

// mapTokens renders vars as a formatted HCL object expression, keys sorted.
func mapTokens(vars map[string]string) (hclwrite.Tokens, error) {
	tmp := hclwrite.NewEmptyFile()
	vals := map[string]cty.Value{}
	for _, k := range slices.Sorted(maps.Keys(vars)) {
		vals[k] = cty.StringVal(vars[k])
	}
	v := cty.MapValEmpty(cty.String)
	if len(vals) > 0 {
		v = cty.MapVal(vals)
	}
	tmp.Body().SetAttributeValue("x", v)
	formatted, diags := hclwrite.ParseConfig(hclwrite.Format(tmp.Bytes()), "", hcl.InitialPos)
	if diags.HasErrors() {
		return nil, fmt.Errorf("rendering tfvars: %s", diags.Error())
	}
	return formatted.Body().GetAttribute("x").Expr().BuildTokens(nil), nil
}
