package main

import "github.com/urfave/cli/v2"

func importCommand() *cli.Command {
	return &cli.Command{Name: "import", Hidden: true, Action: func(*cli.Context) error { return errNotYet }}
}
