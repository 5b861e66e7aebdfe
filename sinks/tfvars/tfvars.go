// Package tfvars keeps variables in one map variable of a Terraform .tfvars
// file (tfvars:PATH#VARIABLE). Several routes may share one file, each
// owning its own variable: a write rewrites only its own attribute, with
// hclwrite, and keeps every other byte of the file (comments, other
// variables, formatting). Writes are atomic (temp file + rename) and
// conditional on the content read.
package tfvars

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"unicode/utf8"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/zclconf/go-cty/cty"
	"golang.org/x/text/unicode/norm"

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

// Claim: one variable of one file; several variables may share the file.
func (s *Store) Claim() envsync.Claim {
	return envsync.Claim{Space: "tfvars:" + localfile.Target(s.path), Name: s.variable}
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
	data   []byte     // without a byte order mark
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
	data = bytes.TrimPrefix(data, bom)
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
	data = bytes.TrimPrefix(data, bom)
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

// Validate refuses what a tfvars string cannot hold byte for byte: text that
// is not valid UTF-8, and text not in Unicode NFC — HCL and Terraform
// normalise every string to NFC, so a decomposed "é" would be stored, and
// read by Terraform, as other bytes, and every plan would show a change.
func (s *Store) Validate(vars map[string]string) error {
	e := &envsync.UnrepresentableError{Store: s.url, In: "a tfvars file"}
	for _, k := range slices.Sorted(maps.Keys(vars)) {
		v := vars[k]
		switch {
		case !utf8.ValidString(k) || !norm.NFC.IsNormalString(k):
			e.Problems = append(e.Problems, envsync.Problem{Key: strconv.QuoteToASCII(k), Reason: "the name is not valid UTF-8 in Unicode NFC, which Terraform needs"})
		case !utf8.ValidString(v):
			e.Problems = append(e.Problems, envsync.Problem{Key: k, Reason: "the value is not valid UTF-8: Terraform strings are text; fix the bytes at the source"})
		case !norm.NFC.IsNormalString(v):
			e.Problems = append(e.Problems, envsync.Problem{Key: k, Reason: "the value is not in Unicode NFC: Terraform would store and read it as other bytes; write it in NFC (composed) at the source"})
		}
	}
	if len(e.Problems) > 0 {
		return e
	}
	return nil
}

// bom is the UTF-8 byte order mark some editors put at the start of a file.
var bom = []byte("\xef\xbb\xbf")

// Write sets the variable to req.Vars and keeps every other byte: a byte
// order mark and CRLF line ends are kept as the file has them.
func (s *Store) Write(_ context.Context, req *envsync.WriteRequest) error {
	if err := s.Validate(req.Vars); err != nil {
		return err
	}
	if envsync.Unchanged(req.Base, req.Vars) {
		return nil
	}
	unlock, err := localfile.Lock(localfile.Target(s.path))
	if err != nil {
		return err
	}
	defer unlock()
	if s.files != nil {
		// The run's parse of the file is stale from here on (this write, or
		// the other writer a conflict would reveal): later reads parse again.
		defer s.files.Forget("tfvars:" + s.path)
	}
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
	hasBOM := bytes.HasPrefix(data, bom)
	crlf := bytes.Contains(data, []byte("\r\n"))
	f, diags := hclwrite.ParseConfig(bytes.TrimPrefix(data, bom), s.path, hcl.InitialPos)
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
	out := f.Bytes()
	if crlf { // hclwrite writes "\n" for what it adds: match the file
		out = bytes.ReplaceAll(bytes.ReplaceAll(out, []byte("\r\n"), []byte("\n")), []byte("\n"), []byte("\r\n"))
	}
	if hasBOM {
		out = append(slices.Clip(bom), out...)
	}
	return localfile.Replace(s.path, out, 0o644, false)
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
