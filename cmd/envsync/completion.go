package main

import (
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"
)

func completionCommand() *cli.Command {
	return &cli.Command{
		Name:      "completion",
		Usage:     "print a shell completion script: bash, zsh or fish",
		ArgsUsage: "bash|zsh|fish",
		Description: `Completes commands, subcommands and flags. Load it with:

   bash: source <(envsync completion bash)        (or save it in /etc/bash_completion.d/envsync)
   zsh:  envsync completion zsh > "${fpath[1]}/_envsync"
   fish: envsync completion fish > ~/.config/fish/completions/envsync.fish

bash and zsh ask envsync itself for the candidates (urfave/cli's
--generate-bash-completion), so they follow the binary on PATH; the fish
script lists the commands and flags of this binary.`,
		Action: runCompletion,
	}
}

func runCompletion(c *cli.Context) error {
	if c.NArg() != 1 {
		return usageError("envsync completion takes one shell: bash, zsh or fish")
	}
	switch shell := c.Args().First(); shell {
	case "bash":
		fmt.Fprint(c.App.Writer, bashCompletion)
	case "zsh":
		fmt.Fprint(c.App.Writer, zshCompletion)
	case "fish":
		s, err := c.App.ToFishCompletion()
		if err != nil {
			return fmt.Errorf("writing the fish script: %w", err)
		}
		// urfave/cli lists the help and version flags twice; once is enough.
		seen := map[string]bool{}
		for _, line := range strings.Split(strings.TrimRight(s, "\n"), "\n") {
			if strings.HasPrefix(line, "complete ") && seen[line] {
				continue
			}
			seen[line] = true
			fmt.Fprintln(c.App.Writer, line)
		}
	default:
		return usageError("envsync completion %q: want bash, zsh or fish", shell)
	}
	return nil
}

// bashCompletion needs nothing but bash (not the bash-completion package).
const bashCompletion = `# bash completion for envsync: source <(envsync completion bash)
_envsync_complete() {
  local cur="${COMP_WORDS[COMP_CWORD]}" opts
  local words=("${COMP_WORDS[@]:0:COMP_CWORD}")
  if [[ "$cur" == -* ]]; then
    opts=$("${words[@]}" "$cur" --generate-bash-completion 2>/dev/null)
  else
    opts=$("${words[@]}" --generate-bash-completion 2>/dev/null)
  fi
  COMPREPLY=($(compgen -W "$opts" -- "$cur"))
}
complete -o bashdefault -o default -F _envsync_complete envsync
`

const zshCompletion = `#compdef envsync
# zsh completion for envsync: envsync completion zsh > "${fpath[1]}/_envsync"
_envsync() {
  local -a opts
  local cur=${words[-1]}
  if [[ "$cur" == -* ]]; then
    opts=("${(@f)$(${words[@]:0:#words[@]-1} ${cur} --generate-bash-completion 2>/dev/null)}")
  else
    opts=("${(@f)$(${words[@]:0:#words[@]-1} --generate-bash-completion 2>/dev/null)}")
  fi
  if [[ "${opts[1]}" != "" ]]; then
    _describe 'values' opts
  else
    _files
  fi
}
if [[ "${funcstack[1]}" == "_envsync" ]]; then
  _envsync "$@"
else
  compdef _envsync envsync
fi
`
