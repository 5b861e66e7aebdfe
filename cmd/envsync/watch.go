package main

import "github.com/urfave/cli/v2"

func watchCommand() *cli.Command {
	return &cli.Command{Name: "watch", Hidden: true, Action: func(*cli.Context) error { return errNotYet }}
}
