package main

import (
	"github.com/rogpeppe/go-internal/testscript"

	"github.com/envsync/envsync/sinks/heroku/herokutest"
)

// heroku-team TEAM APP...: put apps in a Heroku team.
func herokuTeam(ts *testscript.TestScript, neg bool, args []string) {
	for _, a := range args[1:] {
		ts.Value("heroku").(*herokutest.Server).SetTeam(a, args[0])
	}
}

// heroku-couple PIPELINE STAGE APP...: couple apps to a pipeline's stage.
func herokuCouple(ts *testscript.TestScript, neg bool, args []string) {
	for _, a := range args[2:] {
		ts.Value("heroku").(*herokutest.Server).Couple(args[0], a, args[1])
	}
}
