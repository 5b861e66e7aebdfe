package heroku

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"

	heroku "github.com/heroku/heroku-go/v5"

	"github.com/envsync/envsync"
)

// pageSize is the largest page the Platform API serves; a full page means
// there may be more, asked for with the Range `name ]LAST..`.
const pageSize = 1000

// Stages in the order a pipeline promotes through them.
var stageOrder = []string{"review", "development", "staging", "production"}

// ListApps lists the apps envsync init writes a config for: every app the
// token's account can see, a team's apps (team != ""), or the apps coupled to
// a pipeline's stages (pipeline != "", by name or id; each app carries its
// stage). Apps come sorted by name, or by stage then name for a pipeline.
// Calls: one GET per 1000 apps, plus two for a pipeline.
func ListApps(ctx context.Context, team, pipeline string, opts envsync.OpenOptions) ([]envsync.InitApp, error) {
	if team != "" && pipeline != "" {
		return nil, fmt.Errorf("%w: give a team or a pipeline, not both", envsync.ErrInvalid)
	}
	svc, err := (&Store{opts: opts}).service()
	if err != nil {
		return nil, err
	}
	if pipeline != "" {
		return pipelineApps(ctx, svc, pipeline)
	}
	what := "listing the account's apps"
	if team != "" {
		what = fmt.Sprintf("listing the apps of team %q", team)
	}
	var out []envsync.InitApp
	err = pages(func(lr *heroku.ListRange) (int, string, error) {
		var names []string
		if team != "" {
			apps, err := svc.TeamAppListByTeam(ctx, team, lr)
			for _, a := range apps {
				out = append(out, envsync.InitApp{Name: a.Name, Team: team})
				names = append(names, a.Name)
			}
			return len(apps), last(names), err
		}
		apps, err := svc.AppList(ctx, lr)
		for _, a := range apps {
			ia := envsync.InitApp{Name: a.Name}
			if a.Team != nil {
				ia.Team = a.Team.Name
			}
			out = append(out, ia)
			names = append(names, a.Name)
		}
		return len(apps), last(names), err
	})
	if err != nil {
		return nil, wrapList(what, err, team, "team")
	}
	slices.SortFunc(out, func(a, b envsync.InitApp) int { return cmp.Compare(a.Name, b.Name) })
	return out, nil
}

func last(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[len(s)-1]
}

// pages calls list with the Range of each page until a page is not full.
func pages(list func(*heroku.ListRange) (n int, last string, err error)) error {
	lr := &heroku.ListRange{Field: "name", Max: pageSize}
	for {
		n, lastName, err := list(lr)
		if err != nil || n < pageSize || lastName == "" {
			return err
		}
		lr = &heroku.ListRange{Field: "name", Max: pageSize, FirstID: "]" + lastName}
	}
}

// pipelineApps: the pipeline, its couplings (app ids and stages), and the
// account's app list to name them — three calls, not one per app.
func pipelineApps(ctx context.Context, svc *heroku.Service, pipeline string) ([]envsync.InitApp, error) {
	p, err := svc.PipelineInfo(ctx, pipeline)
	if err != nil {
		return nil, wrapList(fmt.Sprintf("reading pipeline %q", pipeline), err, pipeline, "pipeline")
	}
	couplings, err := svc.PipelineCouplingListByPipeline(ctx, p.ID, &heroku.ListRange{Field: "id", Max: pageSize})
	if err != nil {
		return nil, wrapList(fmt.Sprintf("listing the stages of pipeline %q", pipeline), err, pipeline, "pipeline")
	}
	names := map[string]string{}
	err = pages(func(lr *heroku.ListRange) (int, string, error) {
		apps, err := svc.AppList(ctx, lr)
		var lastName string
		for _, a := range apps {
			names[a.ID], lastName = a.Name, a.Name
		}
		return len(apps), lastName, err
	})
	if err != nil {
		return nil, wrapList("listing the account's apps", err, "", "")
	}
	var out []envsync.InitApp
	for _, c := range couplings {
		name, ok := names[c.App.ID]
		if !ok {
			return nil, envsync.WithHint(fmt.Errorf("pipeline %q: app %s in stage %s: %w", pipeline, c.App.ID, c.Stage, envsync.ErrAccessDenied),
				"the token's account cannot see that app; ask for access or use --team")
		}
		out = append(out, envsync.InitApp{Name: name, Stage: c.Stage, Pipeline: p.Name})
	}
	slices.SortFunc(out, func(a, b envsync.InitApp) int {
		return cmp.Or(cmp.Compare(stageRank(a.Stage), stageRank(b.Stage)), cmp.Compare(a.Name, b.Name))
	})
	return out, nil
}

func stageRank(s string) int {
	if i := slices.Index(stageOrder, s); i >= 0 {
		return i
	}
	return len(stageOrder)
}

func wrapList(what string, err error, name, kind string) error {
	var he heroku.Error
	if errors.As(err, &he) {
		switch he.StatusCode {
		case http.StatusUnauthorized:
			return envsync.WithHint(fmt.Errorf("%s: %w: %s", what, envsync.ErrAccessDenied, he.Error()), "run `heroku login` or set HEROKU_API_KEY")
		case http.StatusForbidden:
			return envsync.WithHint(fmt.Errorf("%s: %w: %s", what, envsync.ErrAccessDenied, he.Error()), "the token's account has no access to "+kind+" "+name)
		case http.StatusNotFound:
			hint := "check the name"
			switch kind {
			case "team":
				hint = "check the team name (heroku teams lists yours)"
			case "pipeline":
				hint = "check the pipeline name (heroku pipelines lists yours)"
			}
			return envsync.WithHint(fmt.Errorf("%s: %s %q: %w", what, kind, name, envsync.ErrNotFound), hint)
		case http.StatusTooManyRequests:
			return envsync.WithHint(fmt.Errorf("%s: %w: rate limited", what, envsync.ErrUnreachable), "Heroku allows 4500 calls an hour per account; try again later")
		}
		if he.StatusCode >= 500 {
			return fmt.Errorf("%s: %w: Heroku answered %d", what, envsync.ErrUnreachable, he.StatusCode)
		}
		return fmt.Errorf("%s: %s", what, he.Error())
	}
	if errors.Is(err, context.Canceled) {
		return err
	}
	return envsync.WithHint(fmt.Errorf("%s: %w: %v", what, envsync.ErrUnreachable, err), "check the network and HEROKU_API_URL")
}
