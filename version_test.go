package envsync

import (
	"runtime/debug"
	"testing"
)

func TestVersionFromBuildInfo(t *testing.T) {
	for in, want := range map[string]string{
		"v1.2.3":                             "1.2.3",
		"v0.3.0-rc.1":                        "0.3.0-rc.1",
		"v0.0.0-20261124021423-a71ae01b2c3d": "0.0.0-20261124021423-a71ae01b2c3d",
		"(devel)":                            "",
		"":                                   "",
	} {
		if got := versionFromBuildInfo(&debug.BuildInfo{Main: debug.Module{Path: "github.com/envsync/envsync", Version: in}}); got != want {
			t.Errorf("%q: got %q, want %q", in, got, want)
		}
	}
}
