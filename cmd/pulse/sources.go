package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/pulse-dev/pulse/internal/config"
	"github.com/pulse-dev/pulse/internal/plan"
	"github.com/pulse-dev/pulse/internal/server"
	"github.com/pulse-dev/pulse/internal/sources"
	"github.com/pulse-dev/pulse/internal/store"
)

const sourcesSummary = `Manage sources, the sites and apps that send events with pulse.js or
POST /api/collect: pulse sources create|list|update|delete [flags]

  create   create a source: --name and one --origin per allowed browser
           origin; the write key is printed alone on the last line
  list     list the sources with their keys and origins (--json for JSON)
  update   change a source, named by id or name: --origin (replaces the
           origins), --respect-dnt, --plan off|warn|strict, --store-ip,
           --retention 30d (0 for the server-wide retention only)
  delete   revoke a source, named by id or name: its key is refused from
           then on (within a second on a running server), its ledger kept

The command opens the database (--data-dir or --database-url) itself, so
it works whether or not pulse serve is running.`

// originFlags collects repeated --origin values; a value may also list
// several, comma separated.
type originFlags []string

func (o *originFlags) String() string { return strings.Join(*o, ",") }
func (o *originFlags) Set(v string) error {
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			*o = append(*o, p)
		}
	}
	return nil
}

func runSources(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var action string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		action, args = args[0], args[1:]
	}
	cfg := config.Default()
	fs := newFlags("sources", sourcesSummary, &cfg, stderr)
	fs.Add(config.DataDir, config.DatabaseURL)
	fs.Add(config.LogKeys()...)
	name := fs.Flags().String("name", "", "create: the source's name (shown in the console; delete takes it too)")
	var origins originFlags
	fs.Flags().Var(&origins, "origin", "create: a browser origin allowed to send, https://shop.example or *.shop.example (repeat, or comma separate)")
	respectDNT := fs.Flags().Bool("respect-dnt", false, "create, update: drop the events of browsers sending Do-Not-Track or Global Privacy Control")
	planMode := fs.Flags().String("plan", "", "create, update: hold the source's events to the tracking plan: off, warn (store and count) or strict (refuse)")
	storeIP := fs.Flags().Bool("store-ip", false, "create, update: store the client's IP address with each event (property "+store.ClientIPProperty+"); off, none is stored")
	retention := fs.Flags().String("retention", "", "create, update: delete the source's events older than this, 720h or 30d (at least 1h; it only shortens the server-wide --retention-max-age; 0 for none)")
	asJSON := fs.Flags().Bool("json", false, "list: print JSON")
	rest, err := fs.Parse(flagsFirst(fs.Flags(), args))
	if err != nil {
		return err
	}
	if action == "" && len(rest) > 0 {
		action, rest = rest[0], rest[1:]
	}
	switch action {
	case "create", "list", "update", "delete":
	case "":
		return &exitError{2, errors.New("an action is required: create, list, update or delete")}
	default:
		return &exitError{2, fmt.Errorf("unknown action %q: create, list, update or delete", action)}
	}
	named := action == "delete" || action == "update"
	if !named && len(rest) > 0 {
		return &exitError{2, fmt.Errorf("unexpected arguments %q", rest)}
	}
	if named && len(rest) != 1 {
		return &exitError{2, fmt.Errorf("%s takes one source, by id or name: pulse sources %s shop", action, action)}
	}
	set := map[string]bool{}
	fs.Flags().Visit(func(f *flag.Flag) { set[f.Name] = true })
	var keep time.Duration
	if set["retention"] {
		if keep, err = store.ParseAge(*retention); err != nil {
			return &exitError{2, fmt.Errorf("--retention: %v", err)}
		}
		if err := store.CheckRetention(keep); err != nil {
			return &exitError{2, fmt.Errorf("--retention: %v", err)}
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
	switch action {
	case "create":
		return createSource(ctx, db, *name, origins, store.SourceSettings{RespectDNT: *respectDNT, Plan: *planMode,
			StoreIP: *storeIP, Retention: store.Age(keep)}, stdout)
	case "list":
		return listSources(ctx, db, *asJSON, stdout)
	case "update":
		ch := sourceChange{}
		if set["origin"] {
			ch.origins = &origins
		}
		if set["respect-dnt"] {
			ch.respectDNT = respectDNT
		}
		if set["plan"] {
			ch.plan = planMode
		}
		if set["store-ip"] {
			ch.storeIP = storeIP
		}
		if set["retention"] {
			ch.retention = &keep
		}
		return updateSource(ctx, db, rest[0], ch, stdout)
	default:
		return deleteSource(ctx, db, rest[0], stdout)
	}
}

func createSource(ctx context.Context, db store.Store, name string, origins []string, settings store.SourceSettings, stdout io.Writer) error {
	src, err := sources.New(name, origins, settings, time.Now())
	if err != nil {
		return &exitError{2, err}
	}
	if err := db.CreateSource(ctx, src); err != nil {
		if errors.Is(err, store.ErrSourceExists) {
			return fmt.Errorf("a source named %q exists (revoked ones keep their names)", src.Name)
		}
		return err
	}
	fmt.Fprintf(stdout, "created source %s (%s)\n", src.Name, src.ID)
	if len(src.Origins) == 0 {
		fmt.Fprintln(stdout, "origins: none: browsers are refused, servers and scripts (no Origin header) accepted")
	} else {
		fmt.Fprintf(stdout, "origins: %s\n", strings.Join(src.Origins, " "))
	}
	fmt.Fprintf(stdout, "tag: <script defer src=\"https://YOUR-PULSE-HOST/pulse.js\" data-key=\"%s\"></script>\n", src.WriteKey)
	// Scripts read the key from the last line.
	fmt.Fprintln(stdout, src.WriteKey)
	return nil
}

func listSources(ctx context.Context, db store.Store, asJSON bool, stdout io.Writer) error {
	all, err := db.Sources(ctx)
	if err != nil {
		return err
	}
	if asJSON {
		if all == nil {
			all = []store.Source{}
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(all)
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tWRITE KEY\tORIGINS\tPLAN\tIP\tRETENTION\tCREATED\tSTATUS")
	for _, s := range all {
		status := "active"
		if s.RevokedAt != nil {
			status = "revoked " + s.RevokedAt.Local().Format(time.DateTime)
		}
		o := strings.Join(s.Origins, ",")
		if o == "" {
			o = "-"
		}
		mode, _ := plan.CheckMode(s.Settings.Plan)
		ip, keep := "-", "-"
		if s.Settings.StoreIP {
			ip = "stored"
		}
		if s.Settings.Retention != 0 {
			keep = s.Settings.Retention.String()
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", s.ID, s.Name, s.WriteKey, o, mode, ip, keep,
			s.CreatedAt.Local().Format(time.DateTime), status)
	}
	return tw.Flush()
}

// sourceChange is what an update changes; nil fields stay.
type sourceChange struct {
	origins    *originFlags
	respectDNT *bool
	plan       *string
	storeIP    *bool
	retention  *time.Duration
}

func updateSource(ctx context.Context, db store.Store, idOrName string, ch sourceChange, stdout io.Writer) error {
	if ch.origins == nil && ch.respectDNT == nil && ch.plan == nil && ch.storeIP == nil && ch.retention == nil {
		return &exitError{2, errors.New("update changes nothing: give --origin, --respect-dnt, --plan, --store-ip or --retention")}
	}
	all, err := db.Sources(ctx)
	if err != nil {
		return err
	}
	src, ok := sources.Find(all, idOrName)
	switch {
	case !ok:
		return fmt.Errorf("no source with id or name %q", idOrName)
	case src.RevokedAt != nil:
		return fmt.Errorf("source %s (%s) is revoked", src.Name, src.ID)
	}
	origins, settings := src.Origins, src.Settings
	if ch.origins != nil {
		if origins, err = sources.Origins(*ch.origins); err != nil {
			return &exitError{2, err}
		}
	}
	if ch.respectDNT != nil {
		settings.RespectDNT = *ch.respectDNT
	}
	if ch.plan != nil {
		if settings.Plan, err = plan.CheckMode(*ch.plan); err != nil {
			return &exitError{2, fmt.Errorf("--plan %v", err)}
		}
	}
	if ch.storeIP != nil {
		settings.StoreIP = *ch.storeIP
	}
	if ch.retention != nil {
		settings.Retention = store.Age(*ch.retention)
	}
	if src, err = db.UpdateSource(ctx, src.ID, origins, settings); err != nil {
		return err
	}
	o := strings.Join(src.Origins, " ")
	if o == "" {
		o = "none"
	}
	keep := "server-wide"
	if src.Settings.Retention != 0 {
		keep = src.Settings.Retention.String()
	}
	fmt.Fprintf(stdout, "updated source %s (%s): origins %s; respect DNT %t; plan %s; store IP %t; retention %s (a running server uses it within 5 s)\n",
		src.Name, src.ID, o, src.Settings.RespectDNT, src.Settings.Plan, src.Settings.StoreIP, keep)
	return nil
}

func deleteSource(ctx context.Context, db store.Store, idOrName string, stdout io.Writer) error {
	all, err := db.Sources(ctx)
	if err != nil {
		return err
	}
	src, ok := sources.Find(all, idOrName)
	if !ok {
		return fmt.Errorf("no source with id or name %q", idOrName)
	}
	if src, err = db.RevokeSource(ctx, src.ID, time.Now()); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "revoked source %s (%s) at %s: its key is refused from now on\n", src.Name, src.ID, src.RevokedAt.Local().Format(time.DateTime))
	return nil
}
