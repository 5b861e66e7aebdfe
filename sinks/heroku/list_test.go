package heroku

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/envsync/envsync"
)

func names(apps []envsync.InitApp) []string {
	var out []string
	for _, a := range apps {
		out = append(out, a.Name+"/"+a.Team+"/"+a.Stage)
	}
	return out
}

func TestListAppsTeam(t *testing.T) {
	srv := server(t)
	srv.SetConfig("zz-solo", nil)
	srv.SetTeam("acme-web", "acme")
	srv.SetTeam("acme-api", "acme")
	srv.SetTeam("other-web", "other")

	apps, err := ListApps(t.Context(), "acme", "", envsync.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := names(apps), []string{"acme-api/acme/", "acme-web/acme/"}; !slices.Equal(got, want) {
		t.Errorf("team apps = %v, want %v", got, want)
	}
	all, err := ListApps(t.Context(), "", "", envsync.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := names(all), []string{"acme-api/acme/", "acme-web/acme/", "other-web/other/", "zz-solo//"}; !slices.Equal(got, want) {
		t.Errorf("account apps = %v, want %v", got, want)
	}
	_, err = ListApps(t.Context(), "nope", "", envsync.OpenOptions{})
	if !errors.Is(err, envsync.ErrNotFound) || !strings.Contains(envsync.Hint(err), "team") {
		t.Errorf("unknown team: %v (hint %q)", err, envsync.Hint(err))
	}
}

// TestListAppsPages: past 1000 apps, the next page is asked for with the
// Range Heroku's Next-Range gives (name ]LAST..), one GET per page.
func TestListAppsPages(t *testing.T) {
	srv := server(t)
	for i := range 2345 {
		srv.SetTeam(fmt.Sprintf("app-%04d", i), "big")
	}
	apps, err := ListApps(t.Context(), "big", "", envsync.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(apps) != 2345 || apps[0].Name != "app-0000" || apps[2344].Name != "app-2344" {
		t.Fatalf("%d apps, first %v", len(apps), apps[:1])
	}
	seen := map[string]bool{}
	for _, a := range apps {
		if seen[a.Name] {
			t.Fatalf("%s listed twice", a.Name)
		}
		seen[a.Name] = true
	}
	var gets, partial int
	for _, r := range srv.Requests() {
		if r.Path == "/teams/big/apps" {
			gets++
			if r.Status == http.StatusPartialContent {
				partial++
			}
		}
	}
	if gets != 3 || partial != 2 {
		t.Errorf("%d GETs (%d partial), want 3 (2 partial)", gets, partial)
	}
}

func TestListAppsPipeline(t *testing.T) {
	srv := server(t)
	srv.Couple("checkout", "checkout-prod", "production")
	srv.Couple("checkout", "checkout-staging", "staging")
	srv.Couple("checkout", "checkout-pr-12", "review")
	srv.Couple("other", "other-prod", "production")

	apps, err := ListApps(t.Context(), "", "checkout", envsync.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := names(apps), []string{"checkout-pr-12//review", "checkout-staging//staging", "checkout-prod//production"}; !slices.Equal(got, want) {
		t.Errorf("pipeline apps = %v, want %v", got, want)
	}
	if n := len(srv.Requests()); n != 3 {
		t.Errorf("%d calls, want 3 (pipeline, couplings, app list)", n)
	}
	_, err = ListApps(t.Context(), "", "nope", envsync.OpenOptions{})
	if !errors.Is(err, envsync.ErrNotFound) || !strings.Contains(err.Error(), `pipeline "nope"`) {
		t.Errorf("unknown pipeline: %v", err)
	}
}

func TestListAppsErrors(t *testing.T) {
	server(t)
	t.Setenv("HEROKU_API_KEY", "wrong")
	_, err := ListApps(t.Context(), "acme", "", envsync.OpenOptions{})
	if !errors.Is(err, envsync.ErrAccessDenied) || envsync.Hint(err) != "run `heroku login` or set HEROKU_API_KEY" {
		t.Errorf("bad token: %v (hint %q)", err, envsync.Hint(err))
	}
	if _, err := ListApps(t.Context(), "acme", "checkout", envsync.OpenOptions{}); !errors.Is(err, envsync.ErrInvalid) {
		t.Errorf("team and pipeline: %v", err)
	}
}
