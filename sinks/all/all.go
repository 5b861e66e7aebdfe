// Package all registers every store with envsync. Import it for its side effect.
package all

import (
	_ "github.com/envsync/envsync/sinks/file"
	_ "github.com/envsync/envsync/sinks/heroku"
	_ "github.com/envsync/envsync/sinks/s3"
	_ "github.com/envsync/envsync/sinks/secretsmanager"
	_ "github.com/envsync/envsync/sinks/tfvars"
)
