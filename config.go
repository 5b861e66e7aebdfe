package envsync

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"

	"gopkg.in/yaml.v3"
)

// Config is a parsed envsync.yaml.
type Config struct {
	// Path is the file it was read from; Dir its folder, against which
	// relative paths (rules, tfvars:, file:, flags_file, sources) resolve.
	Path, Dir string
	Version   int
	// Rules is the path of the user's rule file, resolved, or "".
	Rules string
	// Apps in file order.
	Apps []*App

	// Routes that overlap across apps, found once (index 1: with --prune).
	overlapOnce [2]sync.Once
	overlapErr  [2]error
	// Defaults are the app-level defaults (defaults:), or nil.
	Defaults *AppDefaults
}

// App is one application: where its variables come from and where each
// class goes.
type App struct {
	Name   string
	Source string
	// Routes maps a class (never Ignore) to a store URL.
	Routes map[Class]string
	// Restart is the ECS service to roll after a flag change (ecs://CLUSTER/SERVICE), or "".
	Restart string
	// Container is the app's container in the Restart service (sidecars are
	// left alone), or "": then the only essential container, or the one named
	// like the service.
	Container string
	// FlagsFile is the reviewed copy of the feature env file in git, resolved, or "".
	FlagsFile string
	// Phase says where the truth is: the source (migrating, the default) or
	// the stores (cutover). See phase.go.
	Phase Phase
	// PhaseLine is the line of phase: in the config file, or 0 when it is not set.
	PhaseLine int
	// Line is where the app is defined in the config file.
	Line int

	fromDefaults map[Class]bool // routes filled in from defaults: that the app's own routes: may replace
}

// LoadConfig reads and validates a config file. Errors name the file and line.
func LoadConfig(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, WithHint(fmt.Errorf("config file %s: %w", path, ErrNotFound),
				"write one (see the README) or point --config / ENVSYNC_CONFIG at it")
		}
		return nil, fmt.Errorf("config file: %w", err)
	}
	return ParseConfig(path, data)
}

// ParseConfig parses and validates the config file content data read from path.
func ParseConfig(path string, data []byte) (*Config, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	cfg := &Config{Path: path, Dir: filepath.Dir(abs)}
	p := &configParser{file: path}

	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil && !errors.Is(err, io.EOF) {
		return nil, p.yamlErr(err)
	}
	// A second document ("---") would be ignored by a plain Unmarshal: refuse it.
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		return nil, p.errf(extra.Line, "a second YAML document (after ---): keep every app in one document")
	} else if !errors.Is(err, io.EOF) {
		return nil, p.yamlErr(err)
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return nil, p.errf(0, "the file is empty; want version: 1 and apps:")
	}
	root := deref(doc.Content[0])
	if root.Kind != yaml.MappingNode {
		return nil, p.errf(root.Line, "want a mapping with version: and apps:")
	}
	var appsNode *yaml.Node
	seen := map[string]int{}
	kvs, err := p.fields(root, true)
	if err != nil {
		return nil, err
	}
	for _, kv := range kvs {
		k, v := kv[0], kv[1]
		if first, dup := seen[k.Value]; dup {
			return nil, p.errf(k.Line, "%q is set twice (first on line %d)", k.Value, first)
		}
		seen[k.Value] = k.Line
		switch k.Value {
		case "version":
			if err := v.Decode(&cfg.Version); err != nil || cfg.Version != 1 {
				return nil, p.errf(v.Line, "version: want 1, got %q", v.Value)
			}
		case "rules":
			s, err := p.str(v, "rules")
			if err != nil {
				return nil, err
			}
			cfg.Rules = cfg.resolve(s)
		case "apps":
			appsNode = deref(v)
		case "defaults":
			d, err := p.defaults(deref(v))
			if err != nil {
				return nil, err
			}
			cfg.Defaults = d
		default:
			return nil, p.errf(k.Line, "unknown field %q (want version, rules, defaults, apps)", k.Value)
		}
	}
	if cfg.Version == 0 {
		return nil, p.errf(root.Line, "version: is missing; want version: 1")
	}
	if appsNode == nil || appsNode.Kind != yaml.MappingNode || len(appsNode.Content) == 0 {
		line := root.Line
		if appsNode != nil {
			line = appsNode.Line
		}
		return nil, p.errf(line, "apps: want at least one app, e.g. apps: {web-production: {source: heroku://my-app, routes: {...}}}")
	}
	kvs, err = p.fields(appsNode, false)
	if err != nil {
		return nil, err
	}
	appLine := map[string]int{} // a map, not a scan: configs with many apps stay linear
	for _, kv := range kvs {
		k, v := kv[0], kv[1]
		if first, dup := appLine[k.Value]; dup {
			return nil, p.errf(k.Line, "app %q is defined twice (first on line %d)", k.Value, first)
		}
		appLine[k.Value] = k.Line
		app, err := p.app(cfg, k, v)
		if err != nil {
			return nil, err
		}
		cfg.Apps = append(cfg.Apps, app)
	}
	return cfg, nil
}

// resolve makes a relative path relative to the config file's folder.
func (c *Config) resolve(p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(c.Dir, p)
}

// ResolveSource turns a relative source path into one relative to the config
// file; store URLs are returned unchanged.
func (c *Config) ResolveSource(src string) string {
	if IsStoreURL(src) {
		return src
	}
	return c.resolve(src)
}

// IsStoreURL reports whether s starts with a registered store scheme.
func IsStoreURL(s string) bool {
	scheme, _, ok := strings.Cut(s, ":")
	if !ok || len(scheme) < 2 { // "C:\…" is a path
		return false
	}
	return slices.Contains(Schemes(), strings.ToLower(scheme))
}

// Select returns the apps named, in config order, or every app when names is
// empty. An unknown name is an error that lists the known ones.
func (c *Config) Select(names []string) ([]*App, error) {
	if len(names) == 0 {
		return c.Apps, nil
	}
	var out []*App
	for _, n := range names {
		i := slices.IndexFunc(c.Apps, func(a *App) bool { return a.Name == n })
		if i < 0 {
			return nil, WithHint(fmt.Errorf("app %q is not in %s: %w", n, c.Path, ErrNotFound),
				"known apps: "+strings.Join(c.AppNames(), ", "))
		}
		if !slices.Contains(out, c.Apps[i]) {
			out = append(out, c.Apps[i])
		}
	}
	slices.SortStableFunc(out, func(a, b *App) int { return a.Line - b.Line })
	return out, nil
}

// AppNames lists the apps' names in config order.
func (c *Config) AppNames() []string {
	names := make([]string, len(c.Apps))
	for i, a := range c.Apps {
		names[i] = a.Name
	}
	return names
}

// deref follows a YAML alias (*name) to its anchored node (&name).
func deref(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

// fields returns a mapping's key/value pairs with merge keys expanded
// (<<: *base, or <<: [*a, *b]; a key written in the mapping beats a merged
// one, an earlier merged mapping beats a later one) and, when extensions is
// true, x-… keys dropped: the anchors of a DRY config live there. A key
// written twice stays twice, for the caller to refuse.
func (p *configParser) fields(n *yaml.Node, extensions bool) ([][2]*yaml.Node, error) {
	return p.expand(n, extensions, map[*yaml.Node]bool{}, map[*yaml.Node]bool{})
}

// expand is fields for one mapping; open holds the mappings being expanded
// (a merge into one of them is a cycle), merged those already expanded in
// this call (merging one twice adds nothing), so the work stays linear.
func (p *configParser) expand(n *yaml.Node, extensions bool, open, merged map[*yaml.Node]bool) ([][2]*yaml.Node, error) {
	open[n] = true
	defer delete(open, n)
	var own, more [][2]*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		switch {
		case k.Tag == "!!merge":
			v = deref(v)
			srcs := []*yaml.Node{v}
			if v.Kind == yaml.SequenceNode {
				srcs = v.Content
			}
			for _, src := range srcs {
				if src = deref(src); src == nil || src.Kind != yaml.MappingNode {
					return nil, p.errf(k.Line, "<<: want a mapping or a list of mappings to merge, e.g. <<: *defaults")
				}
				if open[src] {
					return nil, p.errf(k.Line, "<<: merges a mapping into itself")
				}
				if merged[src] {
					continue
				}
				merged[src] = true
				kvs, err := p.expand(src, extensions, open, merged)
				if err != nil {
					return nil, err
				}
				more = append(more, kvs...)
			}
		case extensions && strings.HasPrefix(k.Value, "x-"):
		default:
			own = append(own, [2]*yaml.Node{k, v})
		}
	}
	have := map[string]bool{}
	for _, kv := range own {
		have[kv[0].Value] = true
	}
	for _, kv := range more {
		if !have[kv[0].Value] {
			have[kv[0].Value] = true
			own = append(own, kv)
		}
	}
	return own, nil
}

type configParser struct{ file string }

func (p *configParser) errf(line int, format string, args ...any) error {
	return &PosError{File: p.file, Line: line, Err: fmt.Errorf("%w: "+format, append([]any{ErrInvalid}, args...)...)}
}

func (p *configParser) yamlErr(err error) error {
	line, msg := YAMLErrorLine(err)
	return p.errf(line, "not valid YAML: %s", msg)
}

// str reads a string field; ${VAR} is replaced by the environment variable
// VAR (an unset variable is an error), so one config serves several stages.
func (p *configParser) str(v *yaml.Node, field string) (string, error) {
	v = deref(v)
	if v.Kind != yaml.ScalarNode || v.Tag == "!!null" || v.Value == "" {
		return "", p.errf(v.Line, "%s: want a string", field)
	}
	var missing []string
	s := envRef.ReplaceAllStringFunc(v.Value, func(ref string) string {
		name := ref[2 : len(ref)-1]
		val, ok := os.LookupEnv(name)
		if !ok {
			missing = append(missing, name)
		}
		return val
	})
	if len(missing) > 0 {
		return "", p.errf(v.Line, "%s: environment variable %s is not set", field, strings.Join(missing, ", "))
	}
	return s, nil
}

var envRef = regexp.MustCompile(`\$\{[A-Za-z_][A-Za-z0-9_]*\}`)

func (p *configParser) app(cfg *Config, k, v *yaml.Node) (*App, error) {
	app := &App{Name: k.Value, Routes: map[Class]string{}, Line: k.Line, Phase: PhaseMigrating}
	v = deref(v)
	if app.Name == "" || strings.ContainsAny(app.Name, " \t/") {
		return nil, p.errf(k.Line, "app name %q: use letters, digits, '-' and '_'", app.Name)
	}
	if isNull(v) && cfg.Defaults != nil {
		v = &yaml.Node{Kind: yaml.MappingNode, Line: v.Line} // "web:" alone: every field from defaults:
	}
	if v.Kind != yaml.MappingNode {
		return nil, p.errf(v.Line, "app %q: want a mapping with source: and routes:", app.Name)
	}
	var routes *yaml.Node
	kvs, err := p.fields(v, true)
	if err != nil {
		return nil, err
	}
	seen := map[string]int{}
	for _, kv := range kvs {
		fk, fv := kv[0], kv[1]
		field := app.Name + "." + fk.Value
		if first, dup := seen[fk.Value]; dup {
			return nil, p.errf(fk.Line, "app %q: %s: is set twice (first on line %d); keep one", app.Name, fk.Value, first)
		}
		seen[fk.Value] = fk.Line
		switch fk.Value {
		case "source":
			s, err := p.str(fv, field)
			if err != nil {
				return nil, err
			}
			if strings.Contains(s, "://") && !IsStoreURL(s) {
				return nil, p.errf(fv.Line, "%s: unknown store scheme in %q (want one of %s, or a path to a *.json export or a dotenv file)", field, s, schemeList())
			}
			if IsStoreURL(s) {
				if _, _, err := ParseStoreURL(s); err != nil {
					return nil, p.errf(fv.Line, "%s: %v", field, err)
				}
			}
			app.Source = cfg.ResolveSource(s)
		case "routes":
			routes = deref(fv)
		case "restart":
			s, err := p.str(fv, field)
			if err != nil {
				return nil, err
			}
			if _, _, err := ParseECSURL(s); err != nil {
				return nil, p.errf(fv.Line, "%s: %v", field, err)
			}
			app.Restart = s
		case "container":
			s, err := p.str(fv, field)
			if err != nil {
				return nil, err
			}
			app.Container = s
		case "flags_file":
			s, err := p.str(fv, field)
			if err != nil {
				return nil, err
			}
			app.FlagsFile = cfg.resolve(s)
		case "phase":
			fv = deref(fv)
			ph, err := ParsePhase(fv.Value)
			if err != nil || fv.Kind != yaml.ScalarNode {
				return nil, p.errf(fv.Line, "%s: want migrating or cutover, got %q", field, fv.Value)
			}
			app.Phase, app.PhaseLine = ph, fv.Line
		default:
			return nil, p.errf(fk.Line, "app %q: unknown field %q (want source, routes, restart, container, flags_file, phase)", app.Name, fk.Value)
		}
	}
	if err := p.applyDefaults(cfg, app); err != nil {
		return nil, err
	}
	if app.Source == "" {
		return nil, p.errf(k.Line, "app %q: source: is missing (e.g. heroku://my-app or a heroku config --json export)", app.Name)
	}
	if routes == nil && len(app.Routes) > 0 {
		return app, nil // every route from defaults:
	}
	if routes == nil || routes.Kind != yaml.MappingNode {
		line := k.Line
		if routes != nil {
			line = routes.Line
		}
		return nil, p.errf(line, "app %q: routes: want a mapping of class → store URL", app.Name)
	}
	kvs, err = p.fields(routes, false)
	if err != nil {
		return nil, err
	}
	routeLine := map[Class]int{}
	for _, kv := range kvs {
		rk, rv := kv[0], kv[1]
		class, err := ParseClass(rk.Value)
		if err != nil {
			return nil, p.errf(rk.Line, "app %q: routes: %v", app.Name, err)
		}
		if class == Ignore {
			return nil, p.errf(rk.Line, "app %q: routes: ignore is never routed (those vars only mean something on Heroku)", app.Name)
		}
		if _, dup := app.Routes[class]; dup && !app.fromDefaults[class] {
			return nil, p.errf(rk.Line, "app %q: routes: %s is routed twice (first on line %d)", app.Name, class, routeLine[class])
		}
		delete(app.fromDefaults, class)
		routeLine[class] = rk.Line
		s, err := p.str(rv, app.Name+".routes."+rk.Value)
		if err != nil {
			return nil, err
		}
		if _, _, err := ParseStoreURL(s); err != nil {
			return nil, p.errf(rv.Line, "app %q: routes: %s: %v", app.Name, class, err)
		}
		app.Routes[class] = s
	}
	return app, nil
}

// ParseECSURL splits ecs://CLUSTER/SERVICE.
func ParseECSURL(raw string) (cluster, service string, err error) {
	u, perr := url.Parse(raw)
	if perr != nil || u.Scheme != "ecs" || u.Host == "" || strings.Trim(u.Path, "/") == "" || strings.Contains(strings.Trim(u.Path, "/"), "/") {
		return "", "", fmt.Errorf("%w: %q: want ecs://CLUSTER/SERVICE", ErrInvalid, raw)
	}
	return u.Host, strings.Trim(u.Path, "/"), nil
}
