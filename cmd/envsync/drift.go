package main

import "github.com/urfave/cli/v2"

func driftCommand() *cli.Command {
	return &cli.Command{Name: "drift", Hidden: true, Action: func(*cli.Context) error { return errNotYet }}
}
