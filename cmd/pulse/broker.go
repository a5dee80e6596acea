package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"

	"github.com/pulse-dev/pulse/internal/broker"
	"github.com/pulse-dev/pulse/internal/config"
)

// brokerConfig is the embedded broker that cfg describes: listening on
// --broker-addr, its log under --data-dir, the events and dead-letter
// topics, and SASL or TLS when the Kafka security flags ask for them (so
// that the broker can stand in for a secured cluster).
func brokerConfig(cfg *config.Config, syncWrites bool) (broker.Config, error) {
	bc := broker.Config{
		Addr:           cfg.Broker.Addr,
		AdvertisedAddr: cfg.Broker.AdvertisedAddr,
		DataDir:        cfg.DataDir,
		Topics: []broker.Topic{
			{Name: cfg.Kafka.Topic, Partitions: int32(cfg.Kafka.Partitions)},
			{Name: cfg.Kafka.DLQTopic, Partitions: int32(cfg.Kafka.Partitions)},
		},
		SyncWrites:     syncWrites,
		Retention:      cfg.Broker.Retention,
		RetentionBytes: cfg.Broker.RetentionBytes,
	}
	if k := cfg.Kafka.Security; k.SASLMechanism != "" {
		bc.Users = []broker.User{{Mechanism: k.SASLMechanism, Name: k.SASLUsername, Password: k.SASLPassword}}
	}
	if k := cfg.Kafka.Security; k.TLSCert != "" {
		cert, err := tls.LoadX509KeyPair(k.TLSCert, k.TLSKey)
		if err != nil {
			return bc, fmt.Errorf("load broker TLS certificate %s and key %s: %w", k.TLSCert, k.TLSKey, err)
		}
		bc.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	return bc, nil
}

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
	bc, err := brokerConfig(&cfg, *syncWrites)
	if err != nil {
		return err
	}
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
