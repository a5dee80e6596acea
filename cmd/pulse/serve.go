package main

import (
	"context"
	"io"

	"github.com/pulse-dev/pulse/internal/broker"
	"github.com/pulse-dev/pulse/internal/config"
	"github.com/pulse-dev/pulse/internal/server"
	"github.com/pulse-dev/pulse/web"
)

const serveSummary = `Run everything in one process: the embedded Kafka-protocol broker (unless
--bootstrap-servers names a cluster), --consumers members of the consumer
group, the store, and the HTTP API, WebSocket and dashboard on --addr.
Ctrl-C drains and stops; a second Ctrl-C exits at once.`

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg := config.Default()
	fs := newFlags("serve", serveSummary, &cfg, stderr)
	fs.Add(config.Addr, config.DataDir, config.BrokerAddr, config.BrokerAdvertisedAddr, config.Topic, config.DLQTopic,
		config.Partitions, config.ReplicationFactor, config.Consumers, config.ConsumerGroup, config.ConsumerID,
		config.DatabaseURL, config.RedisURL, config.AllowedHosts, config.AdminToken, config.Auth, config.MetricsToken, config.AuditRetention, config.Compression,
		config.RetentionMaxAge, config.RetentionMaxRows, config.BrokerRetention, config.BrokerRetentionBytes, config.AlertsFile, config.AlertsInterval, config.AlertsAllowNet,
		config.Simulate, config.IngestRate, config.TrustedProxies, config.CollectClientRate, config.CollectKeyRate, config.TrackerPath,
		config.WSMaxClients, config.WSMaxClientsPerIP, config.MaxConnsPerIP, config.StoreBehind, config.RetryBase, config.RetryMax)
	fs.Add(config.KafkaKeys()...)
	fs.Add(config.OIDCKeys()...)
	fs.Add(config.LogKeys()...)
	syncWrites := fs.Flags().Bool("sync-writes", false, "embedded broker: fsync every produced batch (slower; nothing acknowledged is lost on a crash)")
	if _, err := fs.Parse(args); err != nil {
		return err
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	log := newLogger(&cfg, stderr)
	opts := server.Options{HTTP: true, UI: web.UI()}
	if cfg.Kafka.BootstrapServers == "" {
		bc, err := broker.FromConfig(cfg.DataDir, cfg.Broker, cfg.Kafka)
		if err != nil {
			return err
		}
		bc.SyncWrites = *syncWrites
		opts.Broker = &bc
	}
	if !web.Built() {
		log.Warn("the dashboard is not built; / shows how to build it (make build)", "component", "http")
	}
	log.Info("starting pulse", append([]any{"version", version}, cfg.LogAttrs()...)...)
	s, err := server.New(ctx, cfg, opts, log)
	if err != nil {
		return err
	}
	return s.Run(ctx)
}
