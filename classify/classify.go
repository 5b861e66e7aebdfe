// Package classify decides each variable's class and says why.
//
// Precedence, first decision wins (DESIGN.md): a credential-looking value is
// secret unless its exact name is allowed; then exact-name overrides; the
// user's rules in file order; the built-in rules; and secret when nothing
// matched (fail safe).
package classify

import (
	"slices"

	"github.com/envsync/envsync"
	"github.com/envsync/envsync/rules"
)

// Classifier implements envsync.Classifier. It is safe for concurrent use.
type Classifier struct {
	allow     map[string]string
	overrides map[string]envsync.Class
	user      []rules.Rule
	builtin   []rules.Rule
}

var _ envsync.Classifier = (*Classifier)(nil)

// New returns a classifier with the user's rules (may be nil) followed by
// the built-in rules.
func New(user *rules.File) *Classifier {
	b := rules.Builtin()
	c := &Classifier{allow: map[string]string{}, overrides: map[string]envsync.Class{}, builtin: b.Rules}
	for _, a := range b.Allow {
		c.allow[a.Name] = a.Reason
	}
	if user != nil {
		for _, a := range user.Allow {
			c.allow[a.Name] = a.Reason
		}
		for _, o := range user.Overrides {
			c.overrides[o.Name] = o.Class
		}
		c.user = user.Rules
	}
	return c
}

// Words splits a name into upper-case words (see rules.Words).
func Words(name string) []string { return rules.Words(name) }

// Classify decides v's class. The reason never contains the value.
func (c *Classifier) Classify(v envsync.Var) envsync.Decision {
	allowed, isAllowed := c.allow[v.Name]
	if !isAllowed {
		if id, reason, ok := DetectValue(v.Value); ok {
			return envsync.Decision{Class: envsync.Secret, Rule: "detector:" + id, Reason: reason}
		}
	}
	if class, ok := c.overrides[v.Name]; ok {
		return envsync.Decision{Class: class, Rule: "override", Reason: "listed under overrides:"}
	}
	words := nameWords(v.Name)
	for i := range c.user {
		if r := &c.user[i]; r.Match(v.Name, words, v.Value) {
			return envsync.Decision{Class: r.Class, Rule: "rule:" + r.Name, Reason: r.Reason}
		}
	}
	d := envsync.Decision{Class: envsync.Secret, Rule: "default", Reason: "no rule matched, so it is treated as secret (fail safe)"}
	for i := range c.builtin {
		if r := &c.builtin[i]; r.Match(v.Name, words, v.Value) {
			d = envsync.Decision{Class: r.Class, Rule: "builtin:" + r.Name, Reason: r.Reason}
			break
		}
	}
	if isAllowed && d.Class == envsync.Secret {
		// The user vouched that the value is public (a browser DSN, a
		// publishable key): config, not a secret.
		return envsync.Decision{Class: envsync.Static, Rule: "allow", Reason: "listed under allow: " + allowed}
	}
	return d
}

// Framework prefixes that say where a variable is visible, not what it is:
// Next.js, Create React App, Vite, Nuxt, Expo, Gatsby.
var frameworkPrefixes = [][]string{
	{"NEXT", "PUBLIC"}, {"NEXT", "PRIVATE"}, {"NUXT", "PUBLIC"}, {"EXPO", "PUBLIC"},
	{"REACT", "APP"}, {"VITE"}, {"GATSBY"}, {"PUBLIC"},
}

// nameWords splits a name into words and drops a framework prefix.
func nameWords(name string) []string {
	words := rules.Words(name)
	for _, p := range frameworkPrefixes {
		if len(words) > len(p) && slices.Equal(words[:len(p)], p) {
			return words[len(p):]
		}
	}
	return words
}
