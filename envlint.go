package envsync

import (
	"fmt"
	"regexp"
	"slices"
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
	lines := EnvLines(data)
	if len(data) > 0 && data[len(data)-1] != '\n' {
		add(len(lines), LintNoFinalNL, SevWarning, "", "missing final newline")
	}
	for _, l := range lines {
		n, text := l.Num, l.Text
		if l.CRLF {
			add(n, LintCRLF, SevError, "", "CRLF line end: save the file with LF line ends")
		}
		if l.TooLong {
			add(n, LintTooLong, SevError, "", "line longer than 64 KiB: the ECS task fails to start")
			continue
		}
		if strings.TrimSpace(text) == "" || l.Comment {
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
		case QuotedValue(value):
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

// Classification codes of CheckEnvChange, beside the lint codes: stable,
// documented in the README.
const (
	CheckCredential = "SEC001" // the value looks like a credential
	CheckSecretKey  = "SEC002" // the classifier calls the key secret
	CheckWrongClass = "CLS001" // a static or dynamic key in a feature file
)

// KeyCheck is one key that a change to an env file adds, changes or
// removes, with its class and the verdict. Show Old and New only through
// the display rule (Show/Mask with Sensitive).
type KeyCheck struct {
	File, Key string
	Line      int    // in the new file; 0 for a removed key
	Action    Action // Add, Update or Delete
	Old, New  string
	Class     Class
	Sensitive bool
	Verdict   string // "ok", "error: credential", "error: secret", "error: ENV001" (a lint error on its line), "warning: static", "removed"
}

// CheckEnvChange is the pull-request guard for one env file: it lints data
// (LintEnvFile), then classifies every key that differs from old (the file
// before the change; nil when it is new), both read as ECS reads them
// (ParseEnvFile's lines). A credential-shaped value (SEC001) or a key the
// classifier calls secret (SEC002) is an error; a static or dynamic key is a
// warning (CLS001). Findings are sorted by line and never contain a value.
func CheckEnvChange(name string, old, data []byte, cl Classifier) ([]Finding, []KeyCheck) {
	findings := LintEnvFile(name, data)
	lintErr := map[int]string{} // line → the first lint error's code there
	for _, f := range findings {
		if _, seen := lintErr[f.Line]; !seen && f.Severity == SevError {
			lintErr[f.Line] = f.Code
		}
	}
	before, _ := loadedLines(old)
	after, line := loadedLines(data)
	var keys []KeyCheck
	for _, ch := range Diff(before, after) {
		k := KeyCheck{File: name, Key: ch.Key, Line: line[ch.Key], Action: ch.Action, Old: ch.Old, New: ch.New, Verdict: "ok"}
		if ch.Action == Delete {
			k.Class, k.Verdict = cl.Classify(Var{Name: ch.Key, Value: ch.Old}).Class, "removed"
		} else {
			d := cl.Classify(Var{Name: ch.Key, Value: ch.New})
			k.Class = d.Class
			add := func(code string, sev Severity, msg string) {
				findings = append(findings, Finding{File: name, Line: k.Line, Code: code, Severity: sev, Key: k.Key, Message: msg})
			}
			switch id, detected := strings.CutPrefix(d.Rule, "detector:"); {
			case detected:
				k.Verdict = "error: credential"
				add(CheckCredential, SevError, fmt.Sprintf("%s: %s (%s): never commit it; put it in Secrets Manager and route the secret class there", k.Key, d.Reason, id))
			case d.Class == Secret:
				k.Verdict = "error: secret"
				add(CheckSecretKey, SevError, fmt.Sprintf("%s is classified secret (%s): put it in Secrets Manager, not in an env file in git", k.Key, d.Reason))
			case d.Class == Static || d.Class == Dynamic:
				k.Verdict = "warning: " + string(d.Class)
				add(CheckWrongClass, SevWarning, fmt.Sprintf("%s is %s (%s): it belongs in tfvars, not in the feature env file", k.Key, d.Class, d.Reason))
			}
		}
		if code, bad := lintErr[k.Line]; bad && k.Line > 0 && (k.Verdict == "ok" || strings.HasPrefix(k.Verdict, "warning")) {
			k.Verdict = "error: " + code // the line itself is wrong for ECS
		}
		k.Sensitive = Sensitive(cl, k.Class, k.Key, k.Old) || Sensitive(cl, k.Class, k.Key, k.New)
		keys = append(keys, k)
	}
	slices.SortStableFunc(findings, func(a, b Finding) int { return a.Line - b.Line })
	return findings, keys
}

// loadedLines reads data as ECS does (a later line wins) and says on which
// line each key was set.
func loadedLines(data []byte) (map[string]string, map[string]int) {
	vars, line := map[string]string{}, map[string]int{}
	for _, l := range EnvLines(data) {
		if l.Loaded() {
			vars[l.Key], line[l.Key] = l.Value, l.Num
		}
	}
	return vars, line
}

// QuotedValue reports whether value is wrapped in matching quotes ("on",
// 'on'), which ECS keeps as part of the value.
func QuotedValue(value string) bool {
	return len(value) >= 2 && (value[0] == '"' || value[0] == '\'') && value[len(value)-1] == value[0]
}
