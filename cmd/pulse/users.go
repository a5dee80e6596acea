package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/user"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/pulse-dev/pulse/internal/auth"
	"github.com/pulse-dev/pulse/internal/config"
	"github.com/pulse-dev/pulse/internal/server"
	"github.com/pulse-dev/pulse/internal/store"
)

const usersSummary = `Manage the accounts that sign in to Pulse:
pulse users add|list|set-role|set-password|remove [flags] [account]

  add           add an account: --email, --role viewer|operator|admin and
                the password on standard input with --password-stdin
  list          list the accounts (--json for JSON)
  set-role      change an account's role (by id or email): --role
  set-password  replace an account's password (--password-stdin); its
                sessions end
  remove        remove an account: its sessions end, its tokens are revoked

The last admin can be neither demoted nor removed. Once an account
exists, a loopback server asks everyone to sign in, as one beyond loopback
always does. The command opens the database (--data-dir or
--database-url) itself, so it works whether or not pulse serve is running.`

func runUsers(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return usersCommand(ctx, args, os.Stdin, stdout, stderr)
}

// usersCommand is runUsers reading the password from stdin.
func usersCommand(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	var action string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		action, args = args[0], args[1:]
	}
	cfg := config.Default()
	fs := newFlags("users", usersSummary, &cfg, stderr)
	fs.Add(config.DataDir, config.DatabaseURL)
	fs.Add(config.LogKeys()...)
	email := fs.Flags().String("email", "", "add: the account's email")
	role := fs.Flags().String("role", "", "add, set-role: viewer, operator or admin")
	fromStdin := fs.Flags().Bool("password-stdin", false, "add, set-password: read the password from the first line of standard input")
	asJSON := fs.Flags().Bool("json", false, "list: print JSON")
	rest, err := fs.Parse(flagsFirst(fs.Flags(), args))
	if err != nil {
		return err
	}
	if action == "" && len(rest) > 0 {
		action, rest = rest[0], rest[1:]
	}
	const actions = "add, list, set-role, set-password or remove"
	named := false
	switch action {
	case "add", "list":
	case "set-role", "set-password", "remove":
		named = true
	case "":
		return &exitError{2, errors.New("an action is required: " + actions)}
	default:
		return &exitError{2, fmt.Errorf("unknown action %q: %s", action, actions)}
	}
	if !named && len(rest) > 0 {
		return &exitError{2, fmt.Errorf("unexpected arguments %q", rest)}
	}
	if named && len(rest) != 1 {
		return &exitError{2, fmt.Errorf("%s takes one account, by id or email: pulse users %s ada@example.com", action, action)}
	}
	var password string
	if action == "add" || action == "set-password" {
		if !*fromStdin {
			return &exitError{2, fmt.Errorf("%s reads the password from standard input, as in printf '%%s' \"$PASSWORD\" | pulse users %s --password-stdin", action, action)}
		}
		if password, err = readPassword(stdin); err != nil {
			return &exitError{2, err}
		}
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	db, err := server.OpenStore(ctx, &cfg, newLogger(&cfg, stderr))
	if err != nil {
		return err
	}
	defer db.Close()
	svc, err := auth.New(db, auth.Options{}, nil)
	if err != nil {
		return err
	}
	target := *email
	if named {
		target = rest[0]
	}
	err = changeAccounts(ctx, svc, action, target, *role, password, *asJSON, stdout)
	if action != "list" {
		recordCLI(ctx, db, "pulse users "+action, strings.ToLower(strings.TrimSpace(target)), "", err, stderr)
	}
	return err
}

// cliActor names who runs a command: the machine's user.
func cliActor() string {
	if u, err := user.Current(); err == nil {
		return "cli " + u.Username
	}
	return "cli"
}

// recordCLI writes the command's audit entry: the command line acts as
// the machine's user who ran it.
func recordCLI(ctx context.Context, log store.Audit, action, target, detail string, err error, stderr io.Writer) {
	e := store.AuditEntry{At: time.Now().UTC().Truncate(time.Microsecond), Actor: cliActor(), Action: action,
		Target: target, Outcome: store.AuditOK, Detail: detail}
	if err != nil {
		e.Outcome, e.Detail = store.AuditRefused, err.Error()
	}
	if aerr := log.AppendAudit(context.WithoutCancel(ctx), e); aerr != nil {
		fmt.Fprintf(stderr, "%s: the audit entry was not written: %v\n", action, aerr)
	}
}

func changeAccounts(ctx context.Context, svc *auth.Service, action, target, role, password string, asJSON bool, stdout io.Writer) error {
	switch action {
	case "add":
		a, err := svc.AddAccount(ctx, auth.NewAccount{Email: target, Role: role, Password: password})
		if err != nil {
			return accountFailure(err)
		}
		fmt.Fprintf(stdout, "added %s (%s), %s\n", a.Email, a.ID, a.Role)
		return nil
	case "list":
		return listAccounts(ctx, svc, asJSON, stdout)
	}
	a, err := svc.Account(ctx, target)
	if err != nil {
		return accountFailure(err)
	}
	switch action {
	case "set-role":
		if a, err = svc.SetRole(ctx, a.ID, role); err != nil {
			return accountFailure(err)
		}
		fmt.Fprintf(stdout, "%s (%s) is now %s\n", a.Email, a.ID, a.Role)
	case "set-password":
		if err := svc.SetPassword(ctx, a.ID, password); err != nil {
			return accountFailure(err)
		}
		fmt.Fprintf(stdout, "new password for %s (%s); its sessions have ended\n", a.Email, a.ID)
	default:
		if err := svc.RemoveAccount(ctx, a.ID); err != nil {
			return accountFailure(err)
		}
		fmt.Fprintf(stdout, "removed %s (%s)\n", a.Email, a.ID)
	}
	return nil
}

// readPassword reads the first line of r, without its line ending.
func readPassword(r io.Reader) (string, error) {
	line, err := bufio.NewReader(io.LimitReader(r, auth.MaxPasswordLen+2)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read the password: %w", err)
	}
	p := strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
	if p == "" {
		return "", errors.New("no password on standard input")
	}
	return p, nil
}

// accountFailure says what went wrong in the user's terms: a refusal
// exits 2 (input) or 1 (state).
func accountFailure(err error) error {
	var in *auth.InputError
	switch {
	case errors.As(err, &in):
		return &exitError{2, in}
	case errors.Is(err, store.ErrNotFound):
		return errors.New("no account with that id or email")
	}
	return err
}

func listAccounts(ctx context.Context, svc *auth.Service, asJSON bool, stdout io.Writer) error {
	all, err := svc.Accounts(ctx)
	if err != nil {
		return err
	}
	if asJSON {
		if all == nil {
			all = []store.Account{}
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(all)
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tEMAIL\tROLE\tCREATED\tLAST SIGN-IN")
	for _, a := range all {
		last := "never"
		if a.LastSignInAt != nil {
			last = a.LastSignInAt.Local().Format(time.DateTime)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", a.ID, a.Email, a.Role, a.CreatedAt.Local().Format(time.DateTime), last)
	}
	return tw.Flush()
}
