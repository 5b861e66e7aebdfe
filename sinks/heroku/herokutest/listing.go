package herokutest

// The endpoints that list apps, as heroku-go calls them: GET /apps (every app
// the account can see), GET /teams/{team}/apps, GET /pipelines/{id-or-name}
// and GET /pipelines/{id}/pipeline-couplings, and GET /apps/{id-or-name}.
// Lists honour the Range header (`name ]last..; max=N`, default and largest
// max 1000 here) and answer 206 Partial Content with Next-Range when more
// remain, like the Platform API.

import (
	"cmp"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

type pipeline struct {
	id, name  string
	couplings []coupling
}

type coupling struct {
	id, app, stage string
}

// SetTeam puts an app (created if new, with no config vars) in a team.
func (s *Server) SetTeam(appName, team string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.app(appName).team = team
}

// Couple adds an app (created if new) to a pipeline's stage (review,
// development, staging or production), creating the pipeline.
func (s *Server) Couple(pipelineName, appName, stage string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.app(appName)
	p := s.pipeline(pipelineName)
	if p == nil {
		p = &pipeline{id: fmt.Sprintf("fedcba98-7654-3210-fedc-%012d", len(s.pipelines)+1), name: pipelineName}
		s.pipelines = append(s.pipelines, p)
	}
	p.couplings = append(p.couplings, coupling{id: fmt.Sprintf("c0ffee00-0000-0000-0000-%012d", len(p.couplings)+1), app: a.id, stage: stage})
}

func (s *Server) pipeline(idOrName string) *pipeline {
	for _, p := range s.pipelines {
		if p.id == idOrName || p.name == idOrName {
			return p
		}
	}
	return nil
}

func (s *Server) appByIDOrName(idOrName string) (string, *app) {
	if a := s.apps[idOrName]; a != nil {
		return idOrName, a
	}
	for name, a := range s.apps {
		if a.id == idOrName {
			return name, a
		}
	}
	return "", nil
}

func (s *Server) appJSON(name string, a *app) map[string]any {
	out := map[string]any{"id": a.id, "name": name, "team": nil,
		"web_url": "https://" + name + ".herokuapp.com/", "region": map[string]string{"name": "us"}}
	if a.team != "" {
		out["team"] = map[string]string{"name": a.team, "id": "7e4a0000-0000-0000-0000-" + fmt.Sprintf("%012d", len(a.team))}
	}
	return out
}

// handleListing serves the listing endpoints; ok is false for other paths.
func (s *Server) handleListing(w http.ResponseWriter, r *http.Request, parts []string) (status int, ok bool) {
	if r.Method != http.MethodGet {
		return 0, false
	}
	switch {
	case len(parts) == 1 && parts[0] == "apps":
		return s.writeAppList(w, r, func(*app) bool { return true }), true
	case len(parts) == 2 && parts[0] == "apps":
		name, a := s.appByIDOrName(parts[1])
		if a == nil {
			return writeErr(w, http.StatusNotFound, "not_found", "Couldn't find that app."), true
		}
		if s.forbidden[name] {
			return writeErr(w, http.StatusForbidden, "forbidden", "You do not have access to the app "+name+"."), true
		}
		return writeJSON(w, s.appJSON(name, a)), true
	case len(parts) == 3 && parts[0] == "teams" && parts[2] == "apps":
		team := parts[1]
		if !slices.ContainsFunc(mapValues(s.apps), func(a *app) bool { return a.team == team }) {
			return writeErr(w, http.StatusNotFound, "not_found", "Couldn't find that team."), true
		}
		return s.writeAppList(w, r, func(a *app) bool { return a.team == team }), true
	case len(parts) == 2 && parts[0] == "pipelines":
		p := s.pipeline(parts[1])
		if p == nil {
			return writeErr(w, http.StatusNotFound, "not_found", "Couldn't find that pipeline."), true
		}
		return writeJSON(w, map[string]any{"id": p.id, "name": p.name, "owner": nil}), true
	case len(parts) == 3 && parts[0] == "pipelines" && parts[2] == "pipeline-couplings":
		p := s.pipeline(parts[1])
		if p == nil {
			return writeErr(w, http.StatusNotFound, "not_found", "Couldn't find that pipeline."), true
		}
		out := []map[string]any{}
		for _, c := range p.couplings {
			out = append(out, map[string]any{"id": c.id, "stage": c.stage,
				"app": map[string]string{"id": c.app}, "pipeline": map[string]string{"id": p.id}})
		}
		return writeJSON(w, out), true
	}
	return 0, false
}

func mapValues(m map[string]*app) []*app {
	out := make([]*app, 0, len(m))
	for _, a := range m {
		out = append(out, a)
	}
	return out
}

// rangeHeader parses `name ]after..; max=N` (also `name ..`, `name after..`).
var rangeHeader = regexp.MustCompile(`^\s*(\w+)?\s*(\]?)([^.;]*)\.\.([^;]*)(?:;\s*(.*))?$`)

const maxPage = 1000

func (s *Server) writeAppList(w http.ResponseWriter, r *http.Request, keep func(*app) bool) int {
	var names []string
	for name, a := range s.apps {
		if keep(a) && !s.forbidden[name] {
			names = append(names, name)
		}
	}
	slices.SortFunc(names, cmp.Compare)
	max := maxPage
	if h := r.Header.Get("Range"); h != "" {
		m := rangeHeader.FindStringSubmatch(h)
		if m == nil || (m[1] != "" && m[1] != "name" && m[1] != "id") {
			return writeErr(w, http.StatusRequestedRangeNotSatisfiable, "requested_range_not_satisfiable", "Invalid Range header: "+h)
		}
		exclusive, first := m[2] == "]", strings.TrimSpace(m[3])
		for _, p := range strings.Split(m[5], ",") {
			if k, v, ok := strings.Cut(strings.TrimSpace(p), "="); ok && k == "max" {
				n, err := strconv.Atoi(v)
				if err != nil || n < 1 || n > maxPage {
					return writeErr(w, http.StatusRequestedRangeNotSatisfiable, "requested_range_not_satisfiable", "Invalid max in Range header: "+h)
				}
				max = n
			}
		}
		if first != "" {
			i, found := slices.BinarySearch(names, first)
			if found && exclusive {
				i++
			}
			names = names[i:]
		}
	}
	partial := len(names) > max
	if partial {
		names = names[:max]
	}
	out := []map[string]any{}
	for _, name := range names {
		out = append(out, s.appJSON(name, s.apps[name]))
	}
	if partial {
		w.Header().Set("Next-Range", fmt.Sprintf("]%s..; max=%d", names[len(names)-1], max))
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusPartialContent)
		writeJSON(w, out)
		return http.StatusPartialContent
	}
	return writeJSON(w, out)
}
