package envsync

import (
	"fmt"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/bmatcuk/doublestar/v4"
)

// EnvFileKind is how envsync check reads a file.
type EnvFileKind string

// Kinds of files for envsync check.
const (
	// NotEnvFile is not checked.
	NotEnvFile EnvFileKind = ""
	// ECSEnvFile is read by ECS (an app's flags_file, or a file the include
	// globs match): linted by ECS rules, keys classified.
	ECSEnvFile EnvFileKind = "ecs"
	// DotenvFile is a developer's dotenv file (.env, .env.development,
	// .env.example, …): read with the dotenv conventions, never by ECS.
	DotenvFile EnvFileKind = "dotenv"
)

// DefaultCheckInclude are the globs of ECS env files when none are given:
// ECS requires the .env extension. A file named .env or .env.* is a
// developer's dotenv file unless an include glob given by the user names it.
var DefaultCheckInclude = []string{"**/*.env"}

// CheckScope says which files envsync check reads, and how. Globs are
// doublestar patterns (**, *, ?, [..], {a,b}) matched against the path
// relative to the repository root, with forward slashes.
type CheckScope struct {
	// Include are the globs of ECS env files; empty means DefaultCheckInclude.
	Include []string
	// Exclude are globs of files never checked.
	Exclude []string
	// SkipDotenv skips developer dotenv files instead of linting them by
	// dotenv rules.
	SkipDotenv bool
}

// Validate refuses a glob that cannot be parsed.
func (s CheckScope) Validate() error {
	for _, g := range slices.Concat(s.Include, s.Exclude) {
		if !doublestar.ValidatePattern(g) {
			return WithHint(fmt.Errorf("%w: glob %q", ErrInvalid, g), "globs use **, *, ?, [...] and {a,b}, with / between folders")
		}
	}
	return nil
}

// Kind says how the file at abs (rel: its path relative to the repository
// root) is checked: an app's flags_file is always an ECS env file; an
// excluded file is not checked; a file an include glob given by the user
// matches is an ECS env file; a file named .env or .env.* is a dotenv file
// (NotEnvFile with SkipDotenv); else a file the default include matches is
// an ECS env file.
func (s CheckScope) Kind(cfg *Config, rel, abs string) EnvFileKind {
	return s.kind(cfg, rel, abs, false)
}

// Named is Kind for a file named on the command line: the same rules, except
// that a file no rule takes (neither excluded nor a dotenv file nor matched
// by an include) is checked as an ECS env file, because it was asked for.
func (s CheckScope) Named(cfg *Config, rel, abs string) EnvFileKind {
	return s.kind(cfg, rel, abs, true)
}

func (s CheckScope) kind(cfg *Config, rel, abs string, named bool) EnvFileKind {
	if FlagsFileApp(cfg, abs) != nil {
		return ECSEnvFile
	}
	rel = filepath.ToSlash(rel)
	if matchAny(s.Exclude, rel) {
		return NotEnvFile
	}
	if len(s.Include) > 0 && matchAny(s.Include, rel) {
		return ECSEnvFile
	}
	if IsDotenvName(path.Base(rel)) {
		if s.SkipDotenv {
			return NotEnvFile
		}
		return DotenvFile
	}
	if named || (len(s.Include) == 0 && matchAny(DefaultCheckInclude, rel)) {
		return ECSEnvFile
	}
	return NotEnvFile
}

// IsDotenvName reports whether a file name is a developer's dotenv file:
// .env, or .env. followed by anything (.env.development, .env.local, …).
func IsDotenvName(name string) bool {
	return name == ".env" || strings.HasPrefix(name, ".env.")
}

func matchAny(globs []string, rel string) bool {
	for _, g := range globs {
		if ok, _ := doublestar.Match(g, rel); ok {
			return true
		}
	}
	return false
}

// Dotenv codes of CheckDotenvChange: stable, documented in the README.
const (
	DotenvSyntax     = "DOT001" // the file does not parse as dotenv
	DotenvCredential = "DOT002" // an added or changed value looks like a credential (warning)
)

// CheckDotenvChange is the pull-request guard for a developer's dotenv
// file: it must parse with the dotenv conventions (DOT001, an error), and
// an added or changed value that looks like a credential is a warning
// (DOT002): such files are not read by ECS, so the ECS rules (quotes, class)
// do not apply. Findings never contain a value.
func CheckDotenvChange(name string, old, data []byte, cl Classifier) []Finding {
	after, err := ParseDotenv(name, data)
	if err != nil {
		f := Finding{File: name, Line: 1, Code: DotenvSyntax, Severity: SevError, Message: err.Error()}
		if pe, ok := err.(*PosError); ok {
			f.Line, f.Message = pe.Line, fmt.Sprintf("not a valid dotenv file: %v", pe.Err)
		}
		return []Finding{f}
	}
	before := map[string]string{}
	if old != nil {
		if b, err := ParseDotenv(name, old); err == nil {
			before = b
		}
	}
	var out []Finding
	for _, ch := range Diff(before, after) {
		if ch.Action == Delete {
			continue
		}
		d := cl.Classify(Var{Name: ch.Key, Value: ch.New})
		if id, detected := strings.CutPrefix(d.Rule, "detector:"); detected {
			out = append(out, Finding{File: name, Line: dotenvLine(data, ch.Key), Code: DotenvCredential, Severity: SevWarning, Key: ch.Key,
				Message: fmt.Sprintf("%s: %s (%s): make sure it is not a real credential; real ones belong in Secrets Manager, not in git", ch.Key, d.Reason, id)})
		}
	}
	return out
}

// dotenvLine is the line that sets key in a dotenv file (the last one), or 1.
func dotenvLine(data []byte, key string) int {
	re := regexp.MustCompile(`^[ \t]*(export[ \t]+)?` + regexp.QuoteMeta(key) + `[ \t]*[=:]`)
	line := 1
	for i, l := range strings.Split(string(data), "\n") {
		if re.MatchString(l) {
			line = i + 1
		}
	}
	return line
}
