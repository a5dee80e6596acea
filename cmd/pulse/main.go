// Command pulse tracks user actions on Kafka with a live dashboard. See
// `pulse --help` for its subcommands.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, cancel := context.WithCancel(context.Background())
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	// The first signal drains gracefully; a second one means the user
	// does not want to wait. This goroutine ends with the process.
	go func() {
		s := <-sigs
		fmt.Fprintf(os.Stderr, "\n%s: shutting down gracefully (press Ctrl-C again to exit now)\n", s)
		cancel()
		s = <-sigs
		fmt.Fprintf(os.Stderr, "%s again: exiting immediately\n", s)
		os.Exit(130)
	}()
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	cancel()
	os.Exit(code)
}
