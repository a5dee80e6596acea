package main

import (
	"context"
	"io"

	"github.com/pulse-dev/pulse/internal/config"
	"github.com/pulse-dev/pulse/internal/server"
)

const consumeSummary = `Run one member of the consumer group: fetch from --topic, process, retry,
dead-letter, and store into --database-url (the same database as serve).
Start several with different --consumer-id values to share the partitions.`

func runConsume(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg := config.Default()
	fs := newFlags("consume", consumeSummary, &cfg, stderr)
	fs.Add(config.DataDir, config.Topic, config.DLQTopic, config.Partitions, config.ReplicationFactor,
		config.ConsumerGroup, config.ConsumerID, config.DatabaseURL, config.RedisURL, config.Simulate, config.RetryBase, config.RetryMax, config.StoreBehind)
	fs.Add(config.KafkaKeys()...)
	fs.Add(config.LogKeys()...)
	if err := fs.SetDefault(config.BootstrapServers, "127.0.0.1:9092"); err != nil {
		return err
	}
	if _, err := fs.Parse(args); err != nil {
		return err
	}
	cfg.Pipeline.Consumers = 1
	if err := cfg.Validate(); err != nil {
		return err
	}
	log := newLogger(&cfg, stderr)
	log.Info("starting pulse consumer", append([]any{"version", version}, cfg.LogAttrs()...)...)
	s, err := server.New(ctx, cfg, server.Options{}, log)
	if err != nil {
		return err
	}
	return s.Run(ctx)
}
