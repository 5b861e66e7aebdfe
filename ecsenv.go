package envsync

import (
	"bufio"
	"bytes"
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxEnvLine is the longest line the ECS agent reads from an env file: it
// scans with bufio.Scanner's default 64 KiB buffer and fails the task beyond it.
const MaxEnvLine = bufio.MaxScanTokenSize

// EnvLine is one line of an env file, as EnvLines cuts it.
type EnvLine struct {
	Num int    // 1-based
	Raw string // the line without its "\n" (a "\r" before it is kept)
	// Text is Raw without the one "\r" that ends a CRLF line.
	Text string
	CRLF bool
	// TooLong is set for a line of MaxEnvLine bytes or more: ECS fails the task.
	TooLong bool
	// Comment is set when the line starts with "#".
	Comment bool
	// Key and Value are Text split at the first "=", verbatim; HasEq is false
	// when there is no "=" (then Key is the whole text).
	Key, Value string
	HasEq      bool
}

// Loaded reports whether the ECS agent sets a variable from the line: not a
// comment, has "=", key and value not empty.
func (l EnvLine) Loaded() bool {
	return !l.Comment && !l.TooLong && l.HasEq && l.Key != "" && l.Value != ""
}

// EnvLines cuts an env file into lines the way the ECS agent's scanner does:
// a line ends at "\n" with one optional "\r" before it, and a last line
// without "\n" counts. It is the one line reader under ParseEnvFile,
// LintEnvFile and CheckEnvChanges.
func EnvLines(data []byte) []EnvLine {
	if len(data) == 0 {
		return nil
	}
	parts := bytes.Split(data, []byte("\n"))
	if data[len(data)-1] == '\n' {
		parts = parts[:len(parts)-1]
	}
	out := make([]EnvLine, len(parts))
	for i, p := range parts {
		raw := string(p)
		l := EnvLine{Num: i + 1, Raw: raw, Text: raw, TooLong: len(raw) >= MaxEnvLine}
		if t, ok := strings.CutSuffix(raw, "\r"); ok {
			l.Text, l.CRLF = t, true
		}
		l.Comment = strings.HasPrefix(l.Text, "#")
		l.Key, l.Value, l.HasEq = strings.Cut(l.Text, "=")
		out[i] = l
	}
	return out
}

// ParseEnvFile reads an ECS environment file the way the ECS agent does
// (amazon-ecs-agent, agent/taskresource/envFiles): line by line (EnvLines);
// a line starting with "#" is skipped; a line with "=" is split at the first
// "=", key and value taken verbatim (no quote removal, no trimming, no
// `export`, no escapes); a line whose key or value is empty, or that has no
// "=", is skipped; a later line for the same key wins. A line longer than
// MaxEnvLine is an error, as it fails the task. name is used in error messages.
func ParseEnvFile(name string, data []byte) (map[string]string, error) {
	vars := map[string]string{}
	for _, l := range EnvLines(data) {
		if l.TooLong {
			return nil, &PosError{File: name, Line: l.Num, Err: fmt.Errorf("%w: line longer than 64 KiB; ECS fails the task on it", ErrInvalid)}
		}
		if l.Loaded() {
			vars[l.Key] = l.Value
		}
	}
	return vars, nil
}

// Problem is one variable an env file cannot carry.
type Problem struct {
	Key    string
	Reason string // lowercase, says what to do
}

// UnrepresentableError lists every variable that cannot be written.
type UnrepresentableError struct {
	Store    string
	Problems []Problem
	// In names the format, e.g. "Secrets Manager"; "" means an ECS env file.
	In string
}

func (e *UnrepresentableError) Error() string {
	var b strings.Builder
	if e.Store != "" {
		fmt.Fprintf(&b, "%s: ", e.Store)
	}
	in := e.In
	if in == "" {
		in = "an ECS env file"
	}
	fmt.Fprintf(&b, "%d value(s) %v in %s:", len(e.Problems), ErrUnrepresentable, in)
	for _, p := range e.Problems {
		fmt.Fprintf(&b, "\n  %s: %s", p.Key, p.Reason)
	}
	return b.String()
}

func (e *UnrepresentableError) Unwrap() error { return ErrUnrepresentable }

// CheckEnvKey says why key cannot be a key in an env file that both the ECS
// agent (EC2) and Docker's env-file reader (Fargate) read the same way, or "".
func CheckEnvKey(key string) string {
	switch {
	case key == "":
		return "empty name"
	case !utf8.ValidString(key):
		return "name is not valid UTF-8"
	case strings.HasPrefix(key, "#"):
		return "name starts with '#', so the line would be read as a comment"
	case strings.Contains(key, "="):
		return "name contains '='"
	case strings.ContainsFunc(key, func(r rune) bool { return unicode.IsSpace(r) || r == 0 }):
		return "name contains white space or NUL, which Docker's env-file reader (Fargate) rejects"
	}
	return ""
}

// CheckEnvValue says why value cannot be written to an ECS env file, or "".
// Values are never quoted: ECS would keep the quotes.
func CheckEnvValue(value string) string {
	switch {
	case value == "":
		return "empty value: ECS skips the line, so the variable would be unset; remove it or give it a value"
	case strings.ContainsAny(value, "\n\r"):
		return "value contains a line break, which an env file cannot carry; store it in Secrets Manager or encode it (e.g. base64)"
	case strings.ContainsRune(value, 0):
		return "value contains a NUL byte"
	case !utf8.ValidString(value):
		return "value is not valid UTF-8, which Docker's env-file reader (Fargate) rejects"
	}
	return ""
}

// FormatEnvFile renders vars as an ECS env file: KEY=value lines sorted by
// key, no quotes, no blank lines, a final newline — deterministic bytes that
// the ECS agent and Docker read identically. Every variable that cannot be
// carried is reported in one *UnrepresentableError, and nothing is returned.
func FormatEnvFile(vars map[string]string) ([]byte, error) {
	keys := slices.Sorted(func(yield func(string) bool) {
		for k := range vars {
			if !yield(k) {
				return
			}
		}
	})
	var probs []Problem
	var b bytes.Buffer
	for _, k := range keys {
		v := vars[k]
		reason := CheckEnvKey(k)
		if reason == "" {
			reason = CheckEnvValue(v)
		}
		if reason == "" && len(k)+1+len(v) > MaxEnvLine-1 {
			reason = "line longer than 64 KiB, which fails the ECS task; store it in Secrets Manager"
		}
		if reason != "" {
			probs = append(probs, Problem{Key: k, Reason: reason})
			continue
		}
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(v)
		b.WriteByte('\n')
	}
	if len(probs) > 0 {
		return nil, &UnrepresentableError{Problems: probs}
	}
	return b.Bytes(), nil
}
