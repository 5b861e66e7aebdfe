package main

import "github.com/urfave/cli/v2"

func flagsCommand() *cli.Command {
	return &cli.Command{Name: "flags", Hidden: true, Action: func(*cli.Context) error { return errNotYet }}
}
