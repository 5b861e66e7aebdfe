package rules

import (
	_ "embed"
	"errors"
	"fmt"
	"os"
	"regexp"
	"regexp/syntax"
	"slices"
	"strings"
	"sync"
	"unicode"

	"gopkg.in/yaml.v3"

	"github.com/envsync/envsync"
)

// File is a parsed rule file.
type File struct {
	Path      string
	Rules     []Rule
	Overrides []Override
	Allow     []Allow
}

// Rule decides a class when a variable matches it.
type Rule struct {
	Name   string
	Class  envsync.Class
	Reason string
	Line   int
	// Weak marks a fallback (confidence: weak): its decisions are listed
	// for review.
	Weak bool

	name               *regexp.Regexp
	nameUpper          *regexp.Regexp // name without case folding, for the upper-cased name (see nameMatcher)
	namePrefixes       []string       // every name nameUpper matches starts with one of these (nil: unknown)
	words, first, last [][]string
	wordEnds           []string
	// firstWords indexes the first word of every words: sequence, so that
	// a name without any of them is rejected with a few map lookups.
	firstWords map[string]bool
	value      *regexp.Regexp
	notWords   [][]string
	notValue   *regexp.Regexp
}

// Override forces the class of one exact name.
type Override struct {
	Name  string
	Class envsync.Class
	Line  int
}

// Allow says why one exact name's credential-looking value is public.
type Allow struct {
	Name, Reason string
	Line         int
}

// Match reports whether the rule matches a variable whose name splits into
// words (see Words).
func (r *Rule) Match(name string, words []string, value string) bool {
	if r.words != nil && !r.hasWords(words) {
		return false
	}
	if r.wordEnds != nil && !slices.ContainsFunc(words, func(w string) bool {
		return slices.ContainsFunc(r.wordEnds, func(end string) bool { return strings.HasSuffix(w, end) })
	}) {
		return false
	}
	if r.first != nil && (len(words) == 0 || !slices.ContainsFunc(r.first, func(seq []string) bool { return hasPrefix(words, seq) })) {
		return false
	}
	if r.last != nil && (len(words) == 0 || !slices.ContainsFunc(r.last, func(seq []string) bool { return hasSuffix(words, seq) })) {
		return false
	}
	if r.notWords != nil && slices.ContainsFunc(r.notWords, func(seq []string) bool { return containsSeq(words, seq) }) {
		return false
	}
	// The cheap word tests come first; regular expressions last.
	if r.nameUpper != nil {
		up := strings.ToUpper(name)
		if r.namePrefixes != nil && !slices.ContainsFunc(r.namePrefixes, func(p string) bool { return strings.HasPrefix(up, p) }) {
			return false
		}
		if !r.nameUpper.MatchString(up) {
			return false
		}
	} else if r.name != nil && !r.name.MatchString(name) {
		return false
	}
	if r.value != nil && !r.value.MatchString(value) {
		return false
	}
	if r.notValue != nil && r.notValue.MatchString(value) {
		return false
	}
	return true
}

// hasWords reports whether words contains one of the rule's word sequences.
func (r *Rule) hasWords(words []string) bool {
	for i, w := range words {
		if !r.firstWords[w] {
			continue
		}
		for _, seq := range r.words {
			if seq[0] == w && len(words)-i >= len(seq) && slices.Equal(words[i:i+len(seq)], seq) {
				return true
			}
		}
	}
	return false
}

func containsSeq(words, seq []string) bool {
	for i := 0; i+len(seq) <= len(words); i++ {
		if slices.Equal(words[i:i+len(seq)], seq) {
			return true
		}
	}
	return false
}

func hasPrefix(words, seq []string) bool {
	return len(words) >= len(seq) && slices.Equal(words[:len(seq)], seq)
}

func hasSuffix(words, seq []string) bool {
	return len(words) >= len(seq) && slices.Equal(words[len(words)-len(seq):], seq)
}

// Words splits a variable name into upper-case words at "_", "-", ".",
// spaces and camelCase boundaries: "stripeSecretKey" → STRIPE SECRET KEY,
// "AWS_S3_BUCKET" → AWS S3 BUCKET, "OAuthClientID" → OAUTH CLIENT ID.
func Words(name string) []string {
	var words []string
	var cur []rune
	flush := func() {
		if len(cur) > 0 {
			words = append(words, strings.ToUpper(string(cur)))
			cur = cur[:0]
		}
	}
	rs := []rune(name)
	for i, r := range rs {
		if r == '_' || r == '-' || r == '.' || r == ' ' || r == '/' || r == ':' {
			flush()
			continue
		}
		if len(cur) > 0 && unicode.IsUpper(r) {
			prev := rs[i-1]
			nextLower := i+1 < len(rs) && unicode.IsLower(rs[i+1])
			// fooBar → foo|Bar; HTTPServer → HTTP|Server; but ID, URL stay whole.
			if unicode.IsLower(prev) || (unicode.IsUpper(prev) && nextLower) {
				flush()
			}
		}
		cur = append(cur, r)
	}
	flush()
	return words
}

type fileYAML struct {
	Rules     []ruleYAML        `yaml:"rules"`
	Overrides map[string]string `yaml:"overrides"`
	Allow     map[string]string `yaml:"allow"`
	Version   int               `yaml:"version"`
}

type ruleYAML struct {
	Name  string   `yaml:"name"`
	Match string   `yaml:"match"`
	Words []string `yaml:"words"`
	First []string `yaml:"first"`
	Last  []string `yaml:"last"`
	// WordEnds: a word of the name ends with one of these (PGPASSWORD).
	WordEnds []string `yaml:"word_ends"`
	Value    string   `yaml:"value"`
	// NotWords and NotValue are evidence that rules the class out.
	NotWords []string `yaml:"not_words"`
	NotValue string   `yaml:"not_value"`
	Class    string   `yaml:"class"`
	Reason   string   `yaml:"reason"`
	// Confidence is "strong" (the default) or "weak".
	Confidence string `yaml:"confidence"`
}

// Load reads and parses a rule file.
func Load(path string) (*File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("rule file %s: %w", path, envsync.ErrNotFound)
		}
		return nil, fmt.Errorf("rule file: %w", err)
	}
	return Parse(path, data)
}

var unknownField = regexp.MustCompile(`field (\S+) not found in type rules\.(\w+)`)

// Parse parses a rule file's content. Errors are *envsync.PosError naming
// path and line.
func Parse(path string, data []byte) (f *File, err error) {
	errAt := func(line int, format string, args ...any) error {
		return &envsync.PosError{File: path, Line: line, Err: fmt.Errorf("%w: "+format, append([]any{envsync.ErrInvalid}, args...)...)}
	}
	defer func() { // yaml.v3 has panicked on hostile input before; never let it crash envsync
		if r := recover(); r != nil {
			f, err = nil, errAt(0, "cannot parse the rule file")
		}
	}()
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, yamlErr(path, err)
	}
	var raw fileYAML
	dec := yaml.NewDecoder(strings.NewReader(string(data)))
	dec.KnownFields(true)
	if err := dec.Decode(&raw); err != nil && !errors.Is(err, errEOF(err)) {
		return nil, yamlErr(path, err)
	}
	if raw.Version != 0 && raw.Version != 1 {
		return nil, errAt(findKey(&doc, "version"), "version: want 1")
	}
	f = &File{Path: path}
	ruleNodes := seqItems(&doc, "rules")
	seen := map[string]bool{}
	for i, ry := range raw.Rules {
		line := 0
		if i < len(ruleNodes) {
			line = ruleNodes[i].Line
		}
		r, err := compile(ry, line)
		if err != nil {
			return nil, errAt(line, "rule %d (%s): %v", i+1, ry.Name, err)
		}
		if seen[r.Name] {
			return nil, errAt(line, "rule name %q is used twice", r.Name)
		}
		seen[r.Name] = true
		f.Rules = append(f.Rules, *r)
	}
	for _, kv := range mapItems(&doc, "overrides") {
		c, err := envsync.ParseClass(kv[1].Value)
		if err != nil {
			return nil, errAt(kv[1].Line, "overrides: %s: %v", kv[0].Value, err)
		}
		f.Overrides = append(f.Overrides, Override{Name: kv[0].Value, Class: c, Line: kv[0].Line})
	}
	for _, kv := range mapItems(&doc, "allow") {
		if strings.TrimSpace(kv[1].Value) == "" {
			return nil, errAt(kv[1].Line, "allow: %s: give the reason its value is public", kv[0].Value)
		}
		f.Allow = append(f.Allow, Allow{Name: kv[0].Value, Reason: kv[1].Value, Line: kv[0].Line})
	}
	return f, nil
}

func errEOF(err error) error {
	if err != nil && err.Error() == "EOF" {
		return err
	}
	return errors.New("not eof")
}

func yamlErr(path string, err error) error {
	line, msg := envsync.YAMLErrorLine(err)
	if m := unknownField.FindStringSubmatch(msg); m != nil {
		if m[2] == "ruleYAML" {
			msg = fmt.Sprintf("unknown field %q in a rule (want name, match, words, word_ends, first, last, value, not_words, not_value, class, reason, confidence)", m[1])
		} else {
			msg = fmt.Sprintf("unknown field %q (want version, rules, overrides, allow)", m[1])
		}
	}
	msg = strings.NewReplacer("rules.ruleYAML", "a rule", "rules.fileYAML", "the rule file").Replace(msg)
	return &envsync.PosError{File: path, Line: line, Err: fmt.Errorf("%w: %s", envsync.ErrInvalid, msg)}
}

// seqItems returns the item nodes of the top-level sequence key.
func seqItems(doc *yaml.Node, key string) []*yaml.Node {
	if v := valueOf(doc, key); v != nil && v.Kind == yaml.SequenceNode {
		return v.Content
	}
	return nil
}

// mapItems returns the key/value node pairs of the top-level mapping key.
func mapItems(doc *yaml.Node, key string) [][2]*yaml.Node {
	var out [][2]*yaml.Node
	if v := valueOf(doc, key); v != nil && v.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(v.Content); i += 2 {
			out = append(out, [2]*yaml.Node{v.Content[i], v.Content[i+1]})
		}
	}
	return out
}

func valueOf(doc *yaml.Node, key string) *yaml.Node {
	if doc == nil || len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return nil
	}
	m := doc.Content[0]
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

func findKey(doc *yaml.Node, key string) int {
	if v := valueOf(doc, key); v != nil {
		return v.Line
	}
	return 0
}

var ruleName = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]*$`)

func compile(ry ruleYAML, line int) (*Rule, error) {
	if !ruleName.MatchString(ry.Name) {
		return nil, fmt.Errorf("name: want a short id of lower-case letters, digits, '-', '_' or '.'")
	}
	class, err := envsync.ParseClass(ry.Class)
	if err != nil {
		return nil, fmt.Errorf("class: %w", err)
	}
	r := &Rule{Name: ry.Name, Class: class, Reason: ry.Reason, Line: line}
	switch ry.Confidence {
	case "", "strong":
	case "weak":
		r.Weak = true
	default:
		return nil, fmt.Errorf("confidence: want strong or weak")
	}
	if ry.Match != "" {
		if r.name, err = nameMatcher(ry.Match); err != nil {
			return nil, fmt.Errorf("match: %w", err)
		}
		r.nameUpper = upperMatcher(r.name)
		if r.nameUpper != nil {
			r.namePrefixes = literalPrefixes(r.nameUpper.String())
		}
	}
	if r.words, err = wordList("words", ry.Words); err != nil {
		return nil, err
	}
	if r.first, err = wordList("first", ry.First); err != nil {
		return nil, err
	}
	if r.last, err = wordList("last", ry.Last); err != nil {
		return nil, err
	}
	if r.words != nil {
		r.firstWords = map[string]bool{}
		for _, seq := range r.words {
			r.firstWords[seq[0]] = true
		}
	}
	if ry.WordEnds != nil {
		ends, err := wordList("word_ends", ry.WordEnds)
		if err != nil {
			return nil, err
		}
		for _, e := range ends {
			if len(e) != 1 {
				return nil, fmt.Errorf("word_ends: %q is not one word", strings.Join(e, " "))
			}
			r.wordEnds = append(r.wordEnds, e[0])
		}
	}
	if ry.Value != "" {
		if r.value, err = regexp.Compile(ry.Value); err != nil {
			return nil, fmt.Errorf("value: bad regex: %v", strings.TrimPrefix(err.Error(), "error parsing regexp: "))
		}
	}
	if r.notWords, err = wordList("not_words", ry.NotWords); err != nil {
		return nil, err
	}
	if ry.NotValue != "" {
		if r.notValue, err = regexp.Compile(ry.NotValue); err != nil {
			return nil, fmt.Errorf("not_value: bad regex: %v", strings.TrimPrefix(err.Error(), "error parsing regexp: "))
		}
	}
	if r.name == nil && r.words == nil && r.wordEnds == nil && r.first == nil && r.last == nil && r.value == nil {
		return nil, fmt.Errorf("give at least one of match, words, word_ends, first, last, value")
	}
	if r.Reason == "" {
		r.Reason = "matches rule " + r.Name
	}
	return r, nil
}

func wordList(field string, list []string) ([][]string, error) {
	if list == nil {
		return nil, nil
	}
	if len(list) == 0 {
		return nil, fmt.Errorf("%s: empty list", field)
	}
	out := make([][]string, 0, len(list))
	for _, w := range list {
		seq := strings.Fields(strings.ToUpper(w))
		if len(seq) == 0 {
			return nil, fmt.Errorf("%s: empty word", field)
		}
		for _, s := range seq {
			if len(Words(s)) != 1 {
				return nil, fmt.Errorf("%s: %q is not one word (names split at _ - . and camelCase)", field, w)
			}
		}
		out = append(out, seq)
	}
	return out, nil
}

// upperMatcher returns re without case folding when that is the same test
// on an upper-cased ASCII name: the pattern has no lower-case letter (so no
// escape such as \d or \s either). Case folding makes Go's matcher several
// times slower, and names are matched for every variable.
func upperMatcher(re *regexp.Regexp) *regexp.Regexp {
	src := strings.TrimPrefix(re.String(), "(?i)")
	if strings.ContainsFunc(src, func(r rune) bool { return r >= 'a' && r <= 'z' || r > unicode.MaxASCII }) {
		return nil
	}
	up, err := regexp.Compile(src)
	if err != nil {
		return nil
	}
	return up
}

// literalPrefixes returns strings one of which starts every match of the
// anchored pattern src (^(HEROKU_…|DYNO|…)$), so that most names are turned
// away without running the regular expression; nil when it cannot tell.
func literalPrefixes(src string) []string {
	re, err := syntax.Parse(src, syntax.Perl)
	if err != nil {
		return nil
	}
	re = re.Simplify()
	if re.Op != syntax.OpConcat || len(re.Sub) == 0 || re.Sub[0].Op != syntax.OpBeginText {
		return nil
	}
	var prefixes func(re *syntax.Regexp) []string
	prefixes = func(re *syntax.Regexp) []string {
		switch re.Op {
		case syntax.OpLiteral:
			if re.Flags&syntax.FoldCase != 0 {
				return nil
			}
			return []string{string(re.Rune)}
		case syntax.OpCapture:
			return prefixes(re.Sub[0])
		case syntax.OpConcat:
			if len(re.Sub) == 0 {
				return nil
			}
			return prefixes(re.Sub[0])
		case syntax.OpAlternate:
			var out []string
			for _, sub := range re.Sub {
				p := prefixes(sub)
				if p == nil {
					return nil
				}
				out = append(out, p...)
			}
			return out
		case syntax.OpCharClass:
			var out []string
			for i := 0; i+1 < len(re.Rune); i += 2 {
				for r := re.Rune[i]; r <= re.Rune[i+1]; r++ {
					if len(out) == 64 {
						return nil
					}
					out = append(out, string(r))
				}
			}
			return out
		}
		return nil
	}
	out := prefixes(&syntax.Regexp{Op: syntax.OpConcat, Sub: re.Sub[1:]})
	if slices.Contains(out, "") {
		return nil
	}
	return out
}

// nameMatcher compiles a glob ("SLACK_*_CHANNEL") or a /regex/, both
// case-insensitive and anchored to the whole name.
func nameMatcher(m string) (*regexp.Regexp, error) {
	if len(m) >= 2 && strings.HasPrefix(m, "/") && strings.HasSuffix(m, "/") {
		re, err := regexp.Compile("(?i)" + m[1:len(m)-1])
		if err != nil {
			return nil, fmt.Errorf("bad regex: %v", strings.TrimPrefix(err.Error(), "error parsing regexp: "))
		}
		return re, nil
	}
	var b strings.Builder
	b.WriteString("(?i)^")
	for _, r := range m {
		switch r {
		case '*':
			b.WriteString(".*")
		case '?':
			b.WriteString(".")
		default:
			b.WriteString(regexp.QuoteMeta(string(r)))
		}
	}
	b.WriteString("$")
	return regexp.Compile(b.String())
}

//go:embed builtin.yaml
var builtinYAML []byte

var builtin = sync.OnceValues(func() (*File, error) { return Parse("builtin.yaml", builtinYAML) })

// Builtin returns the built-in rules. They are parsed once; a test proves
// they parse, so an error here is a bug in envsync.
func Builtin() *File {
	f, err := builtin()
	if err != nil {
		panic("envsync: the built-in rules do not parse: " + err.Error())
	}
	return f
}
