package main

import (
	"context"
	"fmt"
	"io"

	"github.com/pulse-dev/pulse/internal/broker"
	"github.com/pulse-dev/pulse/internal/config"
)

func runBroker(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg := config.Default()
	fs := newFlags("broker", "Run only the embedded Kafka-protocol broker (franz-go's kfake, persisted under\n--data-dir/kafka) with the events and dead-letter topics, until interrupted.\nPoint other processes at it with --bootstrap-servers.", &cfg, stderr)
	fs.Add(config.BrokerAddr, config.BrokerAdvertisedAddr, config.DataDir, config.Topic, config.DLQTopic, config.Partitions,
		config.BrokerRetention, config.BrokerRetentionBytes,
		config.KafkaSASLMechanism, config.KafkaSASLUsername, config.KafkaSASLPassword,
		config.KafkaTLSCert, config.KafkaTLSKey)
	fs.Add(config.LogKeys()...)
	fs.Flags().Var(fs.Flags().Lookup("broker-addr").Value, "addr", "same as --broker-addr")
	syncWrites := fs.Flags().Bool("sync-writes", false, "fsync every produced batch (slower; nothing acknowledged is lost on a crash)")
	if _, err := fs.Parse(args); err != nil {
		return err
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	log := newLogger(&cfg, stderr)
	bc, err := broker.FromConfig(cfg.DataDir, cfg.Broker, cfg.Kafka)
	if err != nil {
		return err
	}
	bc.SyncWrites = *syncWrites
	b, err := broker.Start(ctx, bc, log)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "embedded broker listening on %s (data in %s); connect with --bootstrap-servers %s\n", b.Addr(), cfg.DataDir, b.Addr())
	<-ctx.Done()
	b.Close()
	fmt.Fprintln(stdout, "embedded broker stopped; topics, records and committed offsets are saved")
	return nil
}
