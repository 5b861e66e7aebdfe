// Package classify decides each variable's class, says why, and says how
// sure it is.
//
// Precedence, first decision wins (DESIGN.md):
//  1. a value in a known credential format (a token format, a PEM private
//     key, a URL with a password, an Authorization header) is secret unless
//     its exact name is allowed;
//     so is a long random-looking value of no known format, unless the name's
//     head noun says it is a public identifier (an OAuth client id, a site
//     key, an id whose value has an id's alphabet);
//  2. exact-name overrides;
//  3. the user's rules in file order;
//  4. the built-in rules, led by the value's public format if it has one (a
//     publishable key, an OAuth client id, a certificate: static, unless the
//     name says credential);
//  5. secret when nothing matched (fail safe).
//
// Neither an override nor a user rule may move a variable whose name says it
// is a secret (DB_PASSWORD, STRIPE_SECRET_KEY) to another class: only allow:,
// with a reason, does that.
package classify

import (
	"regexp"
	"slices"
	"strings"

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

func strong(class envsync.Class, rule, reason string) envsync.Decision {
	return envsync.Decision{Class: class, Rule: rule, Reason: reason, Confidence: envsync.Strong}
}

func weak(class envsync.Class, rule, reason string) envsync.Decision {
	return envsync.Decision{Class: class, Rule: rule, Reason: reason, Confidence: envsync.Weak}
}

// Classify decides v's class. The reason never contains the value.
func (c *Classifier) Classify(v envsync.Var) envsync.Decision {
	allowed, isAllowed := c.allow[v.Name]
	words := nameWords(v.Name)
	// format is what the value's format says at the level of the built-in
	// rules (a public id); your overrides and rules still come first.
	var format *envsync.Decision
	if !isAllowed {
		id, reason, cred := DetectValue(v.Value)
		if cred && !strings.HasPrefix(id, "high-entropy") {
			return strong(envsync.Secret, "detector:"+id, reason)
		}
		if pid, preason, ok := PublicValue(v.Value); ok {
			d := strong(envsync.Static, "public:"+pid, preason)
			if credentialWord(words) {
				d = weak(envsync.Secret, "detector:"+pid, preason+", but the name says it is a credential, so it is treated as secret")
			}
			format = &d
		} else if cred {
			// Random-looking but of no known format: an id in a name that
			// says so is public; anything else is a key.
			d, ok := publicID(words, v.Value)
			if !ok {
				return strong(envsync.Secret, "detector:"+id, reason)
			}
			format = &d
		}
	}
	var b envsync.Decision
	if format != nil {
		b = *format
	} else {
		b = c.builtinDecision(v, words)
	}
	byName := b.Class == envsync.Secret && b.Rule != "default" && !isAllowed
	user, ok := c.userDecision(v, words)
	if ok {
		if byName && user.Class != envsync.Secret {
			return strong(envsync.Secret, b.Rule, b.Reason+"; "+user.Rule+" would make it "+string(user.Class)+
				", but only allow: (with a reason) moves a secret by name")
		}
		b = user
	}
	if isAllowed && b.Class == envsync.Secret {
		// The user vouched that the value is public (a browser DSN, a
		// publishable key): config, not a secret.
		return strong(envsync.Static, "allow", "listed under allow: "+allowed)
	}
	return b
}

// userDecision is the decision of an override or a user rule, if one applies.
func (c *Classifier) userDecision(v envsync.Var, words []string) (envsync.Decision, bool) {
	if class, ok := c.overrides[v.Name]; ok {
		return strong(class, "override", "listed under overrides:"), true
	}
	for i := range c.user {
		if r := &c.user[i]; r.Match(v.Name, words, v.Value) {
			return strong(r.Class, "rule:"+r.Name, r.Reason), true
		}
	}
	return envsync.Decision{}, false
}

// builtinDecision is the first built-in rule's decision, or the fail-safe.
func (c *Classifier) builtinDecision(v envsync.Var, words []string) envsync.Decision {
	for i := range c.builtin {
		if r := &c.builtin[i]; r.Match(v.Name, words, v.Value) {
			if r.Weak {
				return weak(r.Class, "builtin:"+r.Name, r.Reason)
			}
			return strong(r.Class, "builtin:"+r.Name, r.Reason)
		}
	}
	return weak(envsync.Secret, "default", "no rule matched, so it is treated as secret (fail safe)")
}

// Head nouns that name a public identifier, longest first. An OAuth client
// id is public by the standard (it travels in browser redirects); other ids
// are public when their value has an id's alphabet.
var (
	clientIDHeads = [][]string{{"CLIENT", "ID"}, {"CLIENT", "IDS"}, {"CONSUMER", "ID"}}
	// Keys that are public by name: sent to browsers by design.
	publicKeyHeads = [][]string{{"PUBLIC", "KEY"}, {"PUBLISHABLE", "KEY"}, {"PUBLISHABLE"}, {"SITE", "KEY"}, {"SITEKEY"}, {"SITE"}}
	idHeads        = [][]string{
		{"ID"}, {"IDS"}, {"UID"}, {"GUID"}, {"IDENTIFIER"},
		{"DATABASE"}, {"DB", "NAME"}, {"DATABASE", "NAME"}, {"BUCKET"}, {"BUCKET", "NAME"},
	}
	// Words that make an id part of a credential pair (AWS_ACCESS_KEY_ID,
	// HCTI_API_USER_ID: the user half of basic auth against an API).
	credentialIDWords = [][]string{
		{"ACCESS", "KEY"}, {"SECRET"}, {"PASSWORD"}, {"TOKEN"}, {"API", "USER"}, {"API", "KEY"}, {"APP", "KEY"}, {"APPLICATION", "KEY"}, {"LICENSE"},
	}
	// Words that say the value is a credential, wherever they stand.
	credentialWords = [][]string{
		{"SECRET"}, {"SECRETS"}, {"PASSWORD"}, {"PASSWD"}, {"PASS"}, {"PASSPHRASE"}, {"TOKEN"}, {"TOKENS"},
		{"PRIVATE", "KEY"}, {"SECRET", "KEY"}, {"API", "KEY"}, {"APIKEY"}, {"ACCESS", "KEY"}, {"CREDENTIALS"},
	}
	// An id's alphabet: digits, hex, one case of letters and digits, with an
	// optional lower-case prefix (lt_01J…, liveChatApp_…); not mixed-case
	// random, which is how keys look.
	idAlphabet = regexp.MustCompile(`^([A-Za-z]+[_:-])?([0-9a-f]+|[0-9A-F]+|[0-9a-z]+|[0-9A-Z]+)$`)
)

func publicID(words []string, value string) (envsync.Decision, bool) {
	for _, w := range credentialIDWords {
		if containsSeq(words, w) {
			return envsync.Decision{}, false
		}
	}
	if slices.ContainsFunc(clientIDHeads, func(h []string) bool { return hasSuffix(words, h) }) {
		return strong(envsync.Static, "public:client-id", "an OAuth client id is public by design (it travels in browser redirects)"), true
	}
	if slices.ContainsFunc(publicKeyHeads, func(h []string) bool { return hasSuffix(words, h) }) && !containsSeq(words, []string{"PRIVATE"}) {
		return strong(envsync.Static, "public:public-key", "a public, publishable or site key is sent to browsers by design"), true
	}
	if slices.ContainsFunc(idHeads, func(h []string) bool { return hasSuffix(words, h) }) && idAlphabet.MatchString(value) {
		return weak(envsync.Static, "public:id", "the name says it is an identifier and the value has an id's alphabet, not a key's"), true
	}
	return envsync.Decision{}, false
}

func credentialWord(words []string) bool {
	return slices.ContainsFunc(credentialWords, func(w []string) bool { return containsSeq(words, w) })
}

func containsSeq(words, seq []string) bool {
	for i := 0; i+len(seq) <= len(words); i++ {
		if slices.Equal(words[i:i+len(seq)], seq) {
			return true
		}
	}
	return false
}

func hasSuffix(words, seq []string) bool {
	return len(words) >= len(seq) && slices.Equal(words[len(words)-len(seq):], seq)
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

// ToReview returns the decisions a person should check, weakest first:
// what nothing matched (secret by default), then a secret kept against
// public-looking evidence, then the other fallbacks (a value's shape alone);
// by name within each. Strong decisions are left out.
func ToReview(entries []envsync.Entry) []envsync.Entry {
	var out []envsync.Entry
	for _, e := range entries {
		if e.NeedsReview() {
			out = append(out, e)
		}
	}
	rank := func(e envsync.Entry) int {
		switch {
		case e.Rule == "default":
			return 0
		case e.Class == envsync.Secret:
			return 1
		}
		return 2
	}
	slices.SortStableFunc(out, func(a, b envsync.Entry) int {
		if d := rank(a) - rank(b); d != 0 {
			return d
		}
		return strings.Compare(a.Name, b.Name)
	})
	return out
}
