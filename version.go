package envsync

import (
	"runtime/debug"
	"strings"
)

// devVersion is Version when the build stamped nothing.
const devVersion = "0.1.0-dev"

func init() {
	if Version != devVersion {
		return // stamped with -ldflags (make build, releases, the image)
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		if v := versionFromBuildInfo(bi); v != "" {
			Version = v
		}
	}
}

// versionFromBuildInfo is the module version `go install …@vX.Y.Z` records,
// without its "v", or "" for a build from a checkout ("(devel)").
func versionFromBuildInfo(bi *debug.BuildInfo) string {
	v := bi.Main.Version
	if v == "" || v == "(devel)" {
		return ""
	}
	return strings.TrimPrefix(v, "v")
}
