package main

import "github.com/urfave/cli/v2"

func classifyCommand() *cli.Command {
	return &cli.Command{Name: "classify", Hidden: true, Action: func(*cli.Context) error { return errNotYet }}
}
