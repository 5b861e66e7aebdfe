package envsync

import (
	"bytes"
	"fmt"
	"regexp"
	"strings"
)

// Severity of a lint finding.
type Severity string

// Severities.
const (
	SevError   Severity = "error"
	SevWarning Severity = "warning"
)

// Finding is one problem in an env file. Messages never contain values.
type Finding struct {
	File     string
	Line     int
	Code     string
	Severity Severity
	Key      string
	Message  string
}

func (f Finding) String() string {
	return fmt.Sprintf("%s:%d: %s: %s", f.File, f.Line, f.Code, f.Message)
}

// Lint codes: stable, documented in the README.
const (
	LintQuoted       = "ENV001" // quoted value: ECS keeps the quotes
	LintEmpty        = "ENV002" // empty value: ECS drops the line
	LintExport       = "ENV003" // `export ` prefix: becomes part of the name
	LintSpaceAround  = "ENV004" // space around =: becomes part of the name or value
	LintDuplicate    = "ENV005" // duplicate key: the later line wins silently
	LintInvalidName  = "ENV006" // invalid name
	LintCRLF         = "ENV007" // CRLF line end
	LintNoFinalNL    = "ENV008" // missing final newline
	LintLowerCase    = "ENV009" // lower-case key (warning)
	LintNoEquals     = "ENV010" // a line without =: ECS ignores it
	LintLeadingSpace = "ENV011" // leading white space: ECS and Fargate disagree
	LintTooLong      = "ENV012" // line longer than 64 KiB: the task fails
)

var validName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// LintEnvFile checks an env file against what the ECS agent and Docker's
// env-file reader (Fargate) both read the same way: KEY=value, no quotes,
// no leading spaces, no empty values, no line breaks in values.
func LintEnvFile(name string, data []byte) []Finding {
	var out []Finding
	add := func(line int, code string, sev Severity, key, format string, args ...any) {
		out = append(out, Finding{File: name, Line: line, Code: code, Severity: sev, Key: key, Message: fmt.Sprintf(format, args...)})
	}
	seen := map[string]int{}
	lines := bytes.Split(data, []byte("\n"))
	if len(data) > 0 && data[len(data)-1] == '\n' {
		lines = lines[:len(lines)-1]
	} else if len(data) > 0 {
		add(len(lines), LintNoFinalNL, SevWarning, "", "missing final newline")
	}
	for i, raw := range lines {
		n := i + 1
		text := string(raw)
		if strings.HasSuffix(text, "\r") {
			add(n, LintCRLF, SevError, "", "CRLF line end: save the file with LF line ends")
			text = strings.TrimSuffix(text, "\r")
		}
		if len(raw) >= MaxEnvLine {
			add(n, LintTooLong, SevError, "", "line longer than 64 KiB: the ECS task fails to start")
			continue
		}
		if strings.TrimSpace(text) == "" || strings.HasPrefix(text, "#") {
			continue
		}
		if text[0] == ' ' || text[0] == '\t' {
			add(n, LintLeadingSpace, SevError, "", "leading white space: Fargate strips it and ECS on EC2 keeps it in the name; remove it")
			text = strings.TrimLeft(text, " \t")
			if strings.HasPrefix(text, "#") {
				continue
			}
		}
		key, value, ok := strings.Cut(text, "=")
		if !ok {
			add(n, LintNoEquals, SevError, "", "no '=': ECS ignores this line; write KEY=value or make it a # comment")
			continue
		}
		if k, found := strings.CutPrefix(key, "export "); found {
			add(n, LintExport, SevError, strings.TrimSpace(k), "'export ' prefix: ECS makes it part of the name %q; remove it", key)
			key = strings.TrimSpace(k)
		}
		if strings.TrimRight(key, " \t") != key || strings.TrimLeft(value, " \t") != value && value != "" {
			add(n, LintSpaceAround, SevError, strings.TrimSpace(key), "space around '=': ECS keeps it in the name or value; write KEY=value")
			key = strings.TrimSpace(key)
		}
		if !validName.MatchString(key) {
			add(n, LintInvalidName, SevError, key, "invalid name %q: use letters, digits and _, not starting with a digit", key)
		} else if strings.ToUpper(key) != key {
			add(n, LintLowerCase, SevWarning, key, "lower-case name %q: environment variables are upper case by convention", key)
		}
		switch {
		case value == "":
			add(n, LintEmpty, SevError, key, "%s has an empty value: ECS drops the line, so the variable is unset; remove it or give it a value", key)
		case len(value) >= 2 && (value[0] == '"' || value[0] == '\'') && value[len(value)-1] == value[0]:
			add(n, LintQuoted, SevError, key, "%s has a quoted value: ECS keeps the quotes as part of the value; remove them", key)
		}
		if prev, dup := seen[key]; dup {
			add(n, LintDuplicate, SevError, key, "%s is set twice (first on line %d): the later line wins silently; keep one", key, prev)
		} else {
			seen[key] = n
		}
	}
	return out
}

// HasErrors reports whether any finding is an error.
func HasErrors(fs []Finding) bool {
	for _, f := range fs {
		if f.Severity == SevError {
			return true
		}
	}
	return false
}
