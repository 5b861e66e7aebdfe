package envsync

import (
	"strings"

	"gopkg.in/yaml.v3"
)

// AppPlaceholder in a defaults: value is replaced by each app's name, so one
// line serves every app: s3://acme-env/{app}/feature.env.
const AppPlaceholder = "{app}"

// AppDefaults are the fields every app gets unless it sets its own
// (defaults: in envsync.yaml). Values are kept as written, with {app} and
// ${VAR} unexpanded; routes an app sets replace the default for that class
// only.
type AppDefaults struct {
	Source, Restart, FlagsFile string
	Routes                     map[Class]string

	lines map[string]int // field ("routes.feature") → line, for errors
}

func isNull(v *yaml.Node) bool { return v.Kind == yaml.ScalarNode && v.Tag == "!!null" }

// defaults parses the defaults: mapping. URLs are checked per app, once
// {app} is known.
func (p *configParser) defaults(v *yaml.Node) (*AppDefaults, error) {
	if v.Kind != yaml.MappingNode {
		return nil, p.errf(v.Line, "defaults: want a mapping with source:, routes:, restart: or flags_file:")
	}
	d := &AppDefaults{Routes: map[Class]string{}, lines: map[string]int{}}
	seen := map[string]bool{}
	for i := 0; i+1 < len(v.Content); i += 2 {
		fk, fv := v.Content[i], v.Content[i+1]
		if seen[fk.Value] {
			return nil, p.errf(fk.Line, "defaults: %q is set twice", fk.Value)
		}
		seen[fk.Value] = true
		field := "defaults." + fk.Value
		switch fk.Value {
		case "source", "restart", "flags_file":
			if fv.Kind != yaml.ScalarNode || isNull(fv) || fv.Value == "" {
				return nil, p.errf(fv.Line, "%s: want a string", field)
			}
			*map[string]*string{"source": &d.Source, "restart": &d.Restart, "flags_file": &d.FlagsFile}[fk.Value] = fv.Value
			d.lines[fk.Value] = fv.Line
		case "routes":
			if fv.Kind != yaml.MappingNode {
				return nil, p.errf(fv.Line, "defaults: routes: want a mapping of class → store URL")
			}
			for j := 0; j+1 < len(fv.Content); j += 2 {
				rk, rv := fv.Content[j], fv.Content[j+1]
				class, err := ParseClass(rk.Value)
				if err != nil {
					return nil, p.errf(rk.Line, "defaults: routes: %v", err)
				}
				if class == Ignore {
					return nil, p.errf(rk.Line, "defaults: routes: ignore is never routed (those vars only mean something on Heroku)")
				}
				if _, dup := d.Routes[class]; dup {
					return nil, p.errf(rk.Line, "defaults: routes: %s is routed twice", class)
				}
				if rv.Kind != yaml.ScalarNode || isNull(rv) || rv.Value == "" {
					return nil, p.errf(rv.Line, "defaults.routes.%s: want a string", rk.Value)
				}
				d.Routes[class] = rv.Value
				d.lines["routes."+string(class)] = rv.Line
			}
		default:
			return nil, p.errf(fk.Line, "defaults: unknown field %q (want source, routes, restart, flags_file)", fk.Value)
		}
	}
	return d, nil
}

// applyDefaults fills the fields app left unset from defaults:, with {app}
// replaced by the app's name, checked like the app's own fields.
func (p *configParser) applyDefaults(cfg *Config, app *App) error {
	d := cfg.Defaults
	if d == nil {
		return nil
	}
	expand := func(field, raw string) (string, error) {
		line := d.lines[field]
		return p.str(&yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Line: line, Value: strings.ReplaceAll(raw, AppPlaceholder, app.Name)},
			app.Name+"."+field+" (from defaults:)")
	}
	if app.Source == "" && d.Source != "" {
		s, err := expand("source", d.Source)
		if err != nil {
			return err
		}
		if strings.Contains(s, "://") && !IsStoreURL(s) {
			return p.errf(d.lines["source"], "defaults.source: unknown store scheme in %q (want one of %s, or a path to a *.json export or a dotenv file)", s, schemeList())
		}
		if IsStoreURL(s) {
			if _, _, err := ParseStoreURL(s); err != nil {
				return p.errf(d.lines["source"], "defaults.source for app %q: %v", app.Name, err)
			}
		}
		app.Source = cfg.ResolveSource(s)
	}
	if app.Restart == "" && d.Restart != "" {
		s, err := expand("restart", d.Restart)
		if err != nil {
			return err
		}
		if _, _, err := ParseECSURL(s); err != nil {
			return p.errf(d.lines["restart"], "defaults.restart for app %q: %v", app.Name, err)
		}
		app.Restart = s
	}
	if app.FlagsFile == "" && d.FlagsFile != "" {
		s, err := expand("flags_file", d.FlagsFile)
		if err != nil {
			return err
		}
		app.FlagsFile = cfg.resolve(s)
	}
	for _, class := range RoutedClasses {
		raw, ok := d.Routes[class]
		if !ok {
			continue
		}
		s, err := expand("routes."+string(class), raw)
		if err != nil {
			return err
		}
		if _, _, err := ParseStoreURL(s); err != nil {
			return p.errf(d.lines["routes."+string(class)], "defaults.routes.%s for app %q: %v", class, app.Name, err)
		}
		app.Routes[class] = s
		if app.fromDefaults == nil {
			app.fromDefaults = map[Class]bool{}
		}
		app.fromDefaults[class] = true
	}
	return nil
}
