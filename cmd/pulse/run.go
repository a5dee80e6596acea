package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/pulse-dev/pulse/internal/config"
)

// command is one subcommand of pulse.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

func commands() []command {
	return []command{
		{"serve", "run everything: embedded broker (unless --bootstrap-servers), consumers, API, WebSocket and UI", runServe},
		{"produce", "send generated user events to Kafka (like the seed's producer.py and producer_batch.py)", runProduce},
		{"consume", "run one consumer group member that stores events", runConsume},
		{"topics", "create, list, describe or delete topics", runTopics},
		{"sources", "create, list, update or delete the sources (sites, apps) that send with pulse.js", runSources},
		{"users", "add, list, set-role, set-password or remove the accounts that sign in", runUsers},
		{"erase", "erase a user's events and keep their records from being stored again", runErase},
		{"plan", "export or apply the tracking plan (a JSON Schema per event type)", runPlan},
		{"broker", "run only the embedded Kafka-protocol broker", runBroker},
		{"bench", "measure throughput, latency, growth, HTTP ingest, fan-out and memory on this machine", runBench},
		{"version", "print version, commit and Go version", runVersion},
	}
}

// exitError carries a specific exit status.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// run dispatches to a subcommand and turns its error into an exit status:
// 0 on success, --help or a shutdown signal, 2 for a command line that
// does not parse, 1 (or the command's own status) otherwise.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	name := args[0]
	switch name {
	case "-h", "-help", "--help", "help":
		usage(stdout)
		return 0
	case "-v", "--version":
		name = "version"
	}
	for _, c := range commands() {
		if c.name != name {
			continue
		}
		err := c.run(ctx, args[1:], stdout, stderr)
		var ee *exitError
		switch {
		case err == nil, errors.Is(err, flag.ErrHelp):
			return 0
		case config.IsUsage(err):
			return 2 // the flag package printed the problem and the usage
		case ctx.Err() != nil && errors.Is(err, ctx.Err()):
			// A shutdown signal that arrives during start-up (reaching
			// Kafka, checking the store) ends the command as asked, as
			// one that arrives later would: a clean stop, not a failure.
			fmt.Fprintf(stderr, "pulse %s: stopped during start-up (%v)\n", name, err)
			return 0
		case errors.As(err, &ee):
			fmt.Fprintf(stderr, "pulse %s: %v\n", name, ee.err)
			return ee.code
		default:
			fmt.Fprintf(stderr, "pulse %s: %v\n", name, err)
			return 1
		}
	}
	fmt.Fprintf(stderr, "pulse: unknown command %q\n\n", name)
	usage(stderr)
	return 2
}

func usage(w io.Writer) {
	var b strings.Builder
	b.WriteString("Pulse: real-time user-action tracking on Kafka with a live dashboard.\n\n")
	b.WriteString("Usage: pulse <command> [flags]\n\nCommands:\n")
	for _, c := range commands() {
		fmt.Fprintf(&b, "  %-8s %s\n", c.name, c.summary)
	}
	b.WriteString("\nRun `pulse <command> --help` for its flags, their defaults and environment variables.\n")
	b.WriteString("Settings come from flags, then the environment, then a .env file, then defaults.\n")
	io.WriteString(w, b.String())
}

// newFlags returns the FlagSet of a subcommand, reading the process
// environment and ./.env.
func newFlags(name, summary string, cfg *config.Config, stderr io.Writer) *config.FlagSet {
	return config.NewFlagSet(name, summary, cfg, stderr, config.Options{})
}

// flagsFirst moves the flags of args before the other arguments, so that
// `pulse sources update shop --plan strict` reads as users write it (the
// flag package stops at the first argument that is not a flag).
func flagsFirst(fs *flag.FlagSet, args []string) []string {
	var flags, others []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			others = append(others, args[i+1:]...)
			break
		}
		if len(a) < 2 || a[0] != '-' {
			others = append(others, a)
			continue
		}
		flags = append(flags, a)
		name := strings.TrimLeft(a, "-")
		if strings.Contains(name, "=") {
			continue
		}
		f := fs.Lookup(name)
		if f == nil {
			continue // the parser names it
		}
		if b, ok := f.Value.(interface{ IsBoolFlag() bool }); ok && b.IsBoolFlag() {
			continue
		}
		if i+1 < len(args) {
			flags = append(flags, args[i+1])
			i++
		}
	}
	return append(flags, others...)
}
