package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/pulse-dev/pulse/internal/config"
	"github.com/pulse-dev/pulse/internal/kafka"
)

const rewindSummary = `Rewind a consumer group: pulse topics rewind --consumer-group G --to TARGET [--partitions 0,2] [--dry-run]

Moves the group's committed offsets on --topic so that it processes records
again (or skips them): TARGET is ` + kafka.TargetSyntax + `.
--dry-run shows per partition the current and target offsets, the records
and the distinct keys to process again, and moves nothing. A running group
is rewound by its Pulse members (each moves the partitions it owns); a group
without members has its offsets committed. Refused, with the reason, for an
unknown group, a target outside the retained log or in the future.`

// isRewind says whether the topics command line asks for a rewind, which
// reads --partitions as a list instead of a partition count.
func isRewind(args []string) bool {
	if len(args) > 0 && args[0] == "rewind" {
		return true
	}
	for i, a := range args {
		if a == "--action=rewind" || a == "-action=rewind" || (a == "--action" || a == "-action") && i+1 < len(args) && args[i+1] == "rewind" {
			return true
		}
	}
	return false
}

func runRewind(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "rewind" {
		args = args[1:]
	}
	cfg := config.Default()
	fs := newFlags("topics rewind", rewindSummary, &cfg, stderr)
	fs.Add(config.KafkaKeys()...)
	fs.Add(config.Topic, config.ConsumerGroup)
	fs.Add(config.LogKeys()...)
	if err := fs.SetDefault(config.BootstrapServers, "127.0.0.1:9092"); err != nil {
		return err
	}
	fs.Flags().String("action", "rewind", "rewind (the action may come first instead)")
	to := fs.Flags().String("to", "", "where to move the group: "+kafka.TargetSyntax)
	parts := fs.Flags().String("partitions", "", "the partitions to move, comma separated (default all)")
	dryRun := fs.Flags().Bool("dry-run", false, "show what the rewind would do and move nothing")
	wait := fs.Flags().Duration("wait", kafka.DefaultRewindWait, "how long a running group's members have to move their partitions")
	timeout := fs.Flags().Duration("timeout", 15*time.Second, "give up on the cluster after this long (plus --wait for a real run)")
	rest, err := fs.Parse(args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return &exitError{2, fmt.Errorf("unexpected arguments %q", rest)}
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	target, err := kafka.ParseTarget(*to)
	if err != nil {
		return &exitError{2, err}
	}
	ps, err := kafka.ParsePartitions(*parts)
	if err != nil {
		return &exitError{2, err}
	}
	log := newLogger(&cfg, stderr)
	adm, err := kafka.NewAdmin(cfg.Kafka, log, nil)
	if err != nil {
		return err
	}
	defer adm.Close()
	ctx, cancel := context.WithTimeout(ctx, *timeout+*wait)
	defer cancel()
	if err := adm.Ping(ctx); err != nil {
		return fmt.Errorf("cannot reach Kafka at %s: %w", cfg.Kafka.BootstrapServers, err)
	}
	req := kafka.RewindRequest{Group: cfg.Kafka.Group, Topic: cfg.Kafka.Topic, To: target, Partitions: ps}
	var plan kafka.RewindPlan
	if *dryRun {
		plan, err = adm.PlanRewind(ctx, req)
	} else {
		plan, err = adm.Rewind(ctx, req, *wait)
	}
	var re *kafka.RewindError
	if errors.As(err, &re) {
		return &exitError{1, re}
	}
	if err != nil {
		return err
	}
	return printRewind(stdout, plan)
}

func printRewind(w io.Writer, p kafka.RewindPlan) error {
	verb := "rewound"
	if p.DryRun {
		verb = "dry run: would rewind"
	}
	keys := strconv.FormatInt(p.Keys, 10)
	if p.KeysLowerBound {
		keys = "at least " + keys
	}
	fmt.Fprintf(w, "%s group %s on %s to %s: %d records to process again (%s keys), %d skipped; group %s, %d members\n",
		verb, p.Group, p.Topic, p.To, p.Records, keys, p.Skipped, p.State, p.Members)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "PARTITION\tCURRENT\tTARGET\tRECORDS\tKEYS\tSKIPPED\tMEMBER\t")
	for _, rp := range p.Partitions {
		k := strconv.FormatInt(rp.Keys, 10)
		if rp.KeysLowerBound {
			k = ">=" + k
		}
		member := rp.Member
		if member == "" {
			member = "-"
		}
		fmt.Fprintf(tw, "%d\t%d\t%d\t%d\t%s\t%d\t%s\t\n", rp.Partition, rp.Current, rp.Target, rp.Records, k, rp.Skipped, member)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if p.Applied {
		how := "committed (the group has no members)"
		if p.Method == "members" {
			how = "moved by the group's members"
		}
		fmt.Fprintf(w, "offsets %s at %s\n", how, p.AppliedAt.Format(time.RFC3339))
	}
	return nil
}
