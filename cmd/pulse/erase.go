package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/pulse-dev/pulse/internal/config"
	"github.com/pulse-dev/pulse/internal/event"
	"github.com/pulse-dev/pulse/internal/privacy"
	"github.com/pulse-dev/pulse/internal/server"
	"github.com/pulse-dev/pulse/internal/store"
)

const eraseSummary = `Erase a user: pulse erase --user-id U [--json]

Deletes, in one transaction, every stored event and processing-log row of
the user and what the totals, rollups, activity and unique counts held of
them, and puts the user on the suppression list, so that a redelivered or
replayed record of theirs is dead-lettered with the reason, never stored
again. The anonymous ids (the tracker's browser ids) on the user's events
are erased the same way first: the events stored under them before the
user signed in are theirs too. The list keeps the SHA-256 of the id, not the id; the audit log
names the user the same way. Irreversible.

The command opens the database (--data-dir or --database-url) itself, so
it works whether or not pulse serve is running; a running server's live
statistics catch up at its next rebuild (erase in the console to have
them follow at once).`

func runErase(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg := config.Default()
	fs := newFlags("erase", eraseSummary, &cfg, stderr)
	fs.Add(config.DataDir, config.DatabaseURL)
	fs.Add(config.LogKeys()...)
	userID := fs.Flags().String("user-id", "", "the user_id to erase")
	asJSON := fs.Flags().Bool("json", false, "print the result as JSON")
	rest, err := fs.Parse(args)
	if err != nil {
		return err
	}
	switch {
	case len(rest) > 0:
		return &exitError{2, fmt.Errorf("unexpected arguments %q: give the user with --user-id", rest)}
	case *userID == "":
		return &exitError{2, errors.New("--user-id is required")}
	case len(*userID) > event.MaxIDLen:
		return &exitError{2, fmt.Errorf("--user-id: longer than %d bytes", event.MaxIDLen)}
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	db, err := server.OpenStore(ctx, &cfg, newLogger(&cfg, stderr))
	if err != nil {
		return err
	}
	defer db.Close()
	target := "user " + store.UserHash(*userID)
	st, ok := db.(privacy.EraseStore)
	if !ok {
		return errors.New("this store cannot read a user's events, which erasure needs")
	}
	res, err := privacy.EraseUser(ctx, st, *userID, cliActor())
	detail := ""
	if err == nil {
		detail = res.Summary()
	}
	recordCLI(ctx, db, "pulse erase", target, detail, err, stderr)
	if err != nil {
		return err
	}
	if *asJSON {
		return json.NewEncoder(stdout).Encode(res)
	}
	fmt.Fprintf(stdout, "erased user %s: %s\n", res.UserHash, detail)
	return nil
}
