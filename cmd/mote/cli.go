package main

import (
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/schollz/progressbar/v3"
)

// The command line of the subcommands that load the configuration.

// parseCLI loads the configuration with fs (which holds the command's own
// flags) and returns the positional arguments. The command's own flags may
// also follow the arguments ("report C --json"); configuration flags must
// come first. A nil Config means: exit with code.
func parseCLI(fs *flag.FlagSet, args []string, getenv func(string) string, stderr io.Writer) (*Config, []string, int) {
	cfg, err := loadConfig(fs, args, getenv)
	if errors.Is(err, flag.ErrHelp) {
		return nil, nil, 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "mote:", err)
		return nil, nil, 2
	}
	var pos []string
	for rest := fs.Args(); len(rest) > 0; rest = fs.Args() {
		pos = append(pos, rest[0])
		if err := fs.Parse(rest[1:]); err != nil {
			return nil, nil, 2
		}
	}
	return cfg, pos, 0
}

// commandGroup is a command made of subcommands ("mote campaign",
// "mote share"): its name, its usage text and how many positional
// arguments each subcommand takes.
type commandGroup struct {
	name  string
	usage string
	arity map[string]int
}

// subcommand is the subcommand a command line names: the caller adds its
// own flags to fs, then calls parse.
type subcommand struct {
	group  commandGroup
	name   string
	fs     *flag.FlagSet
	args   []string // after the subcommand's name
	stderr io.Writer
}

// start picks the subcommand args[0] names. Without one, or with one the
// group does not have, it prints the usage and returns nil: exit 2.
func (g commandGroup) start(args []string, stderr io.Writer) *subcommand {
	if len(args) == 0 || args[0] == "-h" || args[0] == "help" || args[0] == "--help" {
		fmt.Fprint(stderr, g.usage)
		return nil
	}
	if _, known := g.arity[args[0]]; !known {
		fmt.Fprintf(stderr, "%s: unknown command %q\n\n%s", g.name, args[0], g.usage)
		return nil
	}
	fs := flag.NewFlagSet(g.name+" "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	return &subcommand{group: g, name: args[0], fs: fs, args: args[1:], stderr: stderr}
}

// parse loads the configuration and the positional arguments (parseCLI)
// and checks that there are as many as the subcommand takes. A nil Config
// means: exit with code.
func (c *subcommand) parse(getenv func(string) string) (*Config, []string, int) {
	cfg, pos, code := parseCLI(c.fs, c.args, getenv, c.stderr)
	if cfg == nil {
		return nil, nil, code
	}
	if n := c.group.arity[c.name]; len(pos) != n {
		fmt.Fprintf(c.stderr, "%s %s: want %d argument(s), got %d\n\n%s", c.group.name, c.name, n, len(pos), c.group.usage)
		return nil, nil, 2
	}
	return cfg, pos, 0
}

// progressFlag adds --quiet to fs, for a command that shows progress bars.
// What it returns, called once fs is parsed, is where the bars go: w, or
// nowhere under --quiet.
func progressFlag(fs *flag.FlagSet) func(w io.Writer) io.Writer {
	quiet := fs.Bool("quiet", false, "no progress bar")
	return func(w io.Writer) io.Writer {
		if *quiet {
			return io.Discard
		}
		return w
	}
}

// newProgressBar is a bar of total steps named desc on w, the look every
// command shares: a count, and a line end once complete so that what
// follows starts on its own line.
func newProgressBar(w io.Writer, total int, desc string, more ...progressbar.Option) *progressbar.ProgressBar {
	opts := []progressbar.Option{progressbar.OptionSetWriter(w), progressbar.OptionSetDescription(desc),
		progressbar.OptionShowCount(), progressbar.OptionOnCompletion(func() { fmt.Fprintln(w) })}
	return progressbar.NewOptions(total, append(opts, more...)...)
}
