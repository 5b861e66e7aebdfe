// Package envsync moves an application's environment variables off Heroku and
// keeps them right on AWS. It holds the domain: variables and their classes,
// stores addressed by URL, the ECS env-file format, plans and the sync engine.
//
// The command in cmd/envsync is a thin shell around this package; stores live
// in sinks/* and register themselves by URL scheme (see Register).
package envsync

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Version is the envsync release, stamped into S3 object metadata.
// It is overridden at build time with -ldflags "-X github.com/envsync/envsync.Version=…".
var Version = "0.1.0-dev"

// Class is where a variable belongs once it leaves Heroku.
type Class string

// The five classes. See DESIGN.md for what each means.
const (
	Feature Class = "feature" // flags and switches: an ECS env file in S3
	Static  Class = "static"  // fixed when the environment is built: tfvars
	Dynamic Class = "dynamic" // sized by the environment: tfvars
	Secret  Class = "secret"  // grants access: Secrets Manager
	Ignore  Class = "ignore"  // Heroku-only metadata: reported, never routed
)

// Classes lists every class in display order.
var Classes = []Class{Feature, Static, Dynamic, Secret, Ignore}

// RoutedClasses lists the classes a config may route to a store.
var RoutedClasses = []Class{Feature, Static, Dynamic, Secret}

// ParseClass returns the class named s, or an error wrapping ErrUnknownClass.
func ParseClass(s string) (Class, error) {
	for _, c := range Classes {
		if string(c) == s {
			return c, nil
		}
	}
	return "", fmt.Errorf("%w %q (want one of feature, static, dynamic, secret, ignore)", ErrUnknownClass, s)
}

// Var is one configuration variable.
type Var struct {
	Name  string
	Value string
	// Addon is the Heroku add-on that owns the variable (e.g. "heroku-postgresql"),
	// or "" when a person set it.
	Addon string
}

// Decision is the classifier's verdict on one variable, with the reason a
// person can read (`envsync classify --explain`).
type Decision struct {
	Class Class
	// Rule identifies what decided: "detector:aws-access-key-id", "allow",
	// "override", "rule:NAME" for a user rule, "builtin:NAME" for a built-in
	// rule, or "default" when nothing matched.
	Rule string
	// Reason says why, in a short lowercase sentence.
	Reason string
	// Confidence says whether the decision rests on strong evidence or on a
	// fallback that a person should review.
	Confidence Confidence
}

// Confidence is how much a decision rests on.
type Confidence string

const (
	// Strong: a token format, an exact convention, the user's own rule.
	Strong Confidence = "strong"
	// Weak: a fallback — the value's shape alone, a name whose evidence
	// conflicts, or nothing matched (secret by default).
	Weak Confidence = "weak"
)

// NeedsReview reports whether a person should check the decision: anything
// not resting on strong evidence.
func (d Decision) NeedsReview() bool { return d.Confidence != Strong }

// Classifier decides the class of a variable. Implementations must be safe
// for concurrent use and must never put a value in Reason.
type Classifier interface {
	Classify(v Var) Decision
}

// Sentinel errors. Stores translate their SDK's errors into these once, at the
// adapter, so the engine and the CLI can compare them with errors.Is.
var (
	ErrUnknownClass    = errors.New("unknown class")
	ErrNotFound        = errors.New("not found")
	ErrConflict        = errors.New("changed since it was read")
	ErrAccessDenied    = errors.New("access denied")
	ErrUnreachable     = errors.New("unreachable")
	ErrUnrepresentable = errors.New("cannot be represented")
	ErrSecretRoute     = errors.New("secret values cannot go to a plain-text store")
	ErrInvalid         = errors.New("invalid")
	ErrUnknownScheme   = errors.New("unknown store scheme")
)

// PosError is an error at a position in a file: it prints as FILE:LINE: msg.
type PosError struct {
	File string
	Line int // 1-based; 0 when the whole file is at fault
	Err  error
}

func (e *PosError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %v", e.File, e.Line, e.Err)
	}
	return fmt.Sprintf("%s: %v", e.File, e.Err)
}

func (e *PosError) Unwrap() error { return e.Err }

// YAMLErrorLine splits an error of gopkg.in/yaml.v3 ("yaml: line N: msg", or
// "yaml: unmarshal errors:\n  line N: msg") into the line it names (0 when
// none) and the message without the prefixes, for a PosError.
func YAMLErrorLine(err error) (int, string) {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	msg = strings.TrimPrefix(msg, "unmarshal errors:\n  ")
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		return line, m[2]
	}
	return 0, msg
}

var yamlLine = regexp.MustCompile(`^line (\d+): (.*)`)

// HintError carries advice for the person running the command; the CLI prints
// it as "envsync: hint: …" after the error.
type HintError struct {
	Err  error
	Hint string
}

func (e *HintError) Error() string { return e.Err.Error() }
func (e *HintError) Unwrap() error { return e.Err }

// WithHint wraps err with a hint. A nil err stays nil.
func WithHint(err error, hint string) error {
	if err == nil {
		return nil
	}
	return &HintError{Err: err, Hint: hint}
}

// Hint returns the first hint attached to err, or "".
func Hint(err error) string {
	var h *HintError
	if errors.As(err, &h) {
		return h.Hint
	}
	return ""
}

// Redact is a last line of defence for text leaving the process through a
// side channel (notifications): it masks anything that looks like a
// credential in a URL (user:password@).
func Redact(s string) string {
	return redactUserinfo.ReplaceAllString(s, "://***@")
}

var redactUserinfo = regexp.MustCompile(`://[^/@\s]+@`)
