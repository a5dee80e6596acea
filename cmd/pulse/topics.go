package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/pulse-dev/pulse/internal/config"
	"github.com/pulse-dev/pulse/internal/kafka"
)

const topicsSummary = `Manage topics: pulse topics create|list|describe|delete|rewind [flags]

  create    create --topic with --partitions and --replication-factor
  list      list topics with their partitions and replication factor
  describe  show --topic's partitions with start/end offsets, and the
            committed offset and lag of --consumer-group per partition
  delete    delete --topic
  rewind    move --consumer-group's offsets to a time, an offset, earliest
            or latest (pulse topics rewind --help)

The action may also be given as --action, as the seed's manage_kafka.py did.`

func runTopics(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if isRewind(args) {
		return runRewind(ctx, args, stdout, stderr)
	}
	var action string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		action, args = args[0], args[1:]
	}
	cfg := config.Default()
	fs := newFlags("topics", topicsSummary, &cfg, stderr)
	fs.Add(config.KafkaKeys()...)
	fs.Add(config.Topic, config.Partitions, config.ReplicationFactor, config.ConsumerGroup)
	fs.Add(config.LogKeys()...)
	if err := fs.SetDefault(config.BootstrapServers, "127.0.0.1:9092"); err != nil {
		return err
	}
	flagAction := fs.Flags().String("action", "", "create, list, describe or delete (instead of the first argument)")
	timeout := fs.Flags().Duration("timeout", 15*time.Second, "give up on the cluster after this long")
	ifNotExists := fs.Flags().Bool("if-not-exists", false, "create: succeed when the topic exists already")
	ifExists := fs.Flags().Bool("if-exists", false, "delete: succeed when there is no such topic")
	rest, err := fs.Parse(args)
	if err != nil {
		return err
	}
	if action == "" {
		action = *flagAction
	}
	if action == "" && len(rest) > 0 {
		action, rest = rest[0], rest[1:]
	}
	if len(rest) > 0 {
		return &exitError{2, fmt.Errorf("unexpected arguments %q", rest)}
	}
	// An empty --consumer-group means "no group" here, where it is
	// otherwise required.
	check := cfg
	if check.Kafka.Group == "" {
		check.Kafka.Group = "none"
	}
	if err := check.Validate(); err != nil {
		return err
	}
	log := newLogger(&cfg, stderr)
	adm, err := kafka.NewAdmin(cfg.Kafka, log, nil)
	if err != nil {
		return err
	}
	defer adm.Close()
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	// Fail fast, with the reason, when the cluster cannot be reached.
	switch action {
	case "create", "list", "describe", "delete":
		if err := adm.Ping(ctx); err != nil {
			return fmt.Errorf("cannot reach Kafka at %s: %w", cfg.Kafka.BootstrapServers, err)
		}
	}

	switch action {
	case "create":
		err := adm.CreateTopic(ctx, cfg.Kafka.Topic, int32(cfg.Kafka.Partitions), int16(cfg.Kafka.ReplicationFactor))
		if errors.Is(err, kafka.ErrTopicExists) && *ifNotExists {
			fmt.Fprintf(stdout, "topic %s already exists\n", cfg.Kafka.Topic)
			return nil
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "created topic %s (%d partitions, replication factor %d)\n", cfg.Kafka.Topic, cfg.Kafka.Partitions, cfg.Kafka.ReplicationFactor)
	case "list":
		topics, err := adm.ListTopics(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "TOPIC\tPARTITIONS\tREPLICATION")
		for _, t := range topics {
			fmt.Fprintf(tw, "%s\t%d\t%d\n", t.Name, t.Partitions, t.ReplicationFactor)
		}
		return tw.Flush()
	case "describe":
		d, err := adm.DescribeTopic(ctx, cfg.Kafka.Topic, cfg.Kafka.Group)
		if err != nil {
			return err
		}
		return printDescription(stdout, d)
	case "delete":
		err := adm.DeleteTopic(ctx, cfg.Kafka.Topic)
		if errors.Is(err, kafka.ErrTopicNotFound) && *ifExists {
			fmt.Fprintf(stdout, "topic %s does not exist\n", cfg.Kafka.Topic)
			return nil
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "deleted topic %s\n", cfg.Kafka.Topic)
	case "":
		fmt.Fprintln(stderr, "pulse topics: which action? create, list, describe, delete or rewind")
		fs.Flags().Usage()
		return &config.UsageError{Err: errors.New("no action")}
	default:
		return &exitError{2, fmt.Errorf("unknown action %q: want create, list, describe, delete or rewind", action)}
	}
	return nil
}

func printDescription(w io.Writer, d kafka.TopicDescription) error {
	fmt.Fprintf(w, "topic %s: %d partitions, %d records", d.Name, len(d.Partitions), d.Records)
	if d.Group != "" {
		fmt.Fprintf(w, "; group %s lags by %d", d.Group, d.TotalLag)
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "PARTITION\tLEADER\tREPLICAS\tISR\tSTART\tEND\tCOMMITTED\tLAG\t")
	for _, p := range d.Partitions {
		committed, lag := "-", "-"
		if p.CommittedOffset >= 0 {
			committed = strconv.FormatInt(p.CommittedOffset, 10)
		}
		if d.Group != "" {
			lag = strconv.FormatInt(p.Lag, 10)
		}
		fmt.Fprintf(tw, "%d\t%d\t%s\t%s\t%d\t%d\t%s\t%s\t\n",
			p.Partition, p.Leader, ints(p.Replicas), ints(p.ISR), p.StartOffset, p.EndOffset, committed, lag)
	}
	return tw.Flush()
}

func ints(is []int32) string {
	s := make([]string, len(is))
	for i, v := range is {
		s[i] = strconv.Itoa(int(v))
	}
	return strings.Join(s, ",")
}
