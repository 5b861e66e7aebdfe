package envsync

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/joho/godotenv"
)

// OpenSource opens where variables come from: any registered store URL
// (heroku://APP, s3://…, file:…), else a path: *.json is a `heroku config
// --json` export, anything else a dotenv file.
func OpenSource(ctx context.Context, src string, opts OpenOptions) (Source, error) {
	if IsStoreURL(src) {
		return Open(ctx, src, opts)
	}
	if strings.Contains(src, "://") {
		_, _, err := ParseStoreURL(src)
		return nil, err
	}
	return &fileSource{path: src, files: opts.Files}, nil
}

// fileSource reads an export or a dotenv file; with the run's file cache,
// apps sharing one file parse it once.
type fileSource struct {
	path  string
	files *FileCache
}

func (f *fileSource) Read(ctx context.Context) (*Snapshot, error) {
	if f.files == nil {
		return f.read()
	}
	v, err := f.files.Load("source:"+f.path, func() (any, error) { return f.read() })
	if err != nil {
		return nil, err
	}
	snap := *v.(*Snapshot) // callers get their own map
	snap.Vars = maps.Clone(snap.Vars)
	return &snap, nil
}

func (f *fileSource) read() (*Snapshot, error) {
	data, err := os.ReadFile(f.path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, WithHint(fmt.Errorf("%s: %w", f.path, ErrNotFound), "export one with: heroku config --json -a APP > FILE.json")
		}
		return nil, err
	}
	var vars map[string]string
	if strings.HasSuffix(strings.ToLower(f.path), ".json") {
		vars, err = ParseExport(f.path, data)
	} else {
		vars, err = ParseDotenv(f.path, data)
	}
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(data)
	return &Snapshot{Vars: vars, Exists: true, Version: hex.EncodeToString(sum[:])}, nil
}

// ParseExport reads a `heroku config --json` export: one JSON object of
// name → string. Anything else — an array, a non-string value, a duplicate
// name, trailing data — is an error naming the line. Values never appear in
// errors.
func ParseExport(name string, data []byte) (map[string]string, error) {
	fail := func(off int64, format string, args ...any) error {
		return &PosError{File: name, Line: lineAt(data, off), Err: fmt.Errorf("%w: "+format, append([]any{ErrInvalid}, args...)...)}
	}
	if !utf8.Valid(data) {
		// encoding/json would replace the bad bytes with U+FFFD: a value
		// stored with other bytes than the export holds.
		return nil, fail(int64(firstInvalidUTF8(data)), "not valid UTF-8 (a heroku config --json export always is): re-export the file")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	tok, err := dec.Token()
	if err != nil {
		return nil, fail(dec.InputOffset(), "not a JSON object of name → string (as `heroku config --json` prints): %s", jsonReason(err))
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, fail(dec.InputOffset(), "want a JSON object of name → string (as `heroku config --json` prints)")
	}
	vars := map[string]string{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, fail(dec.InputOffset(), "%s", jsonReason(err))
		}
		key := tok.(string) // object keys are always strings
		keyOff := dec.InputOffset()
		tok, err = dec.Token()
		if err != nil {
			return nil, fail(dec.InputOffset(), "%q: %s", key, jsonReason(err))
		}
		val, ok := tok.(string)
		if !ok {
			if _, isDelim := tok.(json.Delim); isDelim {
				return nil, fail(keyOff, "%q: want a string value, got an object or array", key)
			}
			return nil, fail(keyOff, "%q: want a string value, got %s (quote it)", key, jsonKind(tok))
		}
		if _, dup := vars[key]; dup {
			return nil, fail(keyOff, "%q appears twice", key)
		}
		if key == "" {
			return nil, fail(keyOff, "empty variable name")
		}
		vars[key] = val
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return nil, fail(dec.InputOffset(), "%s", jsonReason(err))
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fail(dec.InputOffset(), "unexpected data after the JSON object")
	}
	return vars, nil
}

func jsonKind(tok any) string {
	switch tok.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case float64, json.Number:
		return "a number"
	}
	return "a non-string"
}

// jsonReason describes a JSON syntax error without quoting the input.
func jsonReason(err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return "invalid JSON: " + se.Error()
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return "unexpected end of file"
	}
	return "invalid JSON"
}

// lineAt returns the 1-based line of byte offset off.
func lineAt(data []byte, off int64) int {
	if off > int64(len(data)) {
		off = int64(len(data))
	}
	return bytes.Count(data[:off], []byte("\n")) + 1
}

var dotenvName = regexp.MustCompile(`^(export[ \t]+)?[A-Za-z_][A-Za-z0-9_.-]*[ \t]*[=:]`)

// ParseDotenv reads a developer's .env file with the dotenv conventions
// (github.com/joho/godotenv: quotes, `export`, comments, escapes and
// ${VAR} expansion in double quotes, multi-line quoted values). A malformed
// file is an error naming the line; values never appear in errors.
func ParseDotenv(name string, data []byte) (map[string]string, error) {
	if !utf8.Valid(data) {
		return nil, &PosError{File: name, Line: lineAt(data, int64(firstInvalidUTF8(data))), Err: fmt.Errorf("%w: not valid UTF-8", ErrInvalid)}
	}
	vars, err := godotenv.UnmarshalBytes(data)
	if err == nil {
		return vars, nil
	}
	// godotenv's errors carry neither a line nor a safe message (they quote
	// the value): find the statement that fails by parsing the file again one
	// statement at a time. A statement is one line, or several when a quoted
	// value spans lines; each line is parsed once (again only when it may close
	// a quote), so a bad last line in a long file costs one more pass, not one
	// pass per line.
	line, perr := dotenvErrorLine(data)
	if perr == nil {
		perr = err
	}
	lines := bytes.SplitAfter(data, []byte("\n"))
	line = min(max(line, 1), len(lines))
	text := strings.TrimSpace(string(lines[line-1]))
	reason := "not a NAME=value line"
	switch {
	case strings.Contains(perr.Error(), "unterminated quoted value"):
		reason = "unterminated quoted value: close the quote"
	case text != "" && !dotenvName.MatchString(text):
		reason = "not a NAME=value line (names are letters, digits and _, and cannot start with a digit)"
	}
	return nil, &PosError{File: name, Line: line, Err: fmt.Errorf("%w: %s", ErrInvalid, reason)}
}

// dotenvErrorLine returns the 1-based line of the statement godotenv cannot
// parse and its error, or 0 and nil when every statement parses on its own.
func dotenvErrorLine(data []byte) (int, error) {
	lines := bytes.SplitAfter(data, []byte("\n"))
	start := 0        // first line of the pending statement
	var pending error // the pending statement's error (an open quote)
	for i, l := range lines {
		if pending != nil && !bytes.ContainsAny(l, `"'`) {
			continue // cannot close the open quote: no need to parse again
		}
		_, err := godotenv.UnmarshalBytes(bytes.Join(lines[start:i+1], nil))
		switch {
		case err == nil:
			start, pending = i+1, nil
		case strings.Contains(err.Error(), "unterminated quoted value"):
			pending = err // a quoted value may go on over the next lines
		default:
			return start + 1, err
		}
	}
	if pending != nil {
		return start + 1, pending
	}
	return 0, nil
}

func firstInvalidUTF8(b []byte) int {
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size <= 1 {
			return i
		}
		i += size
	}
	return len(b)
}
