// Package kafka is Pulse's Kafka client layer on franz-go: the options
// every client shares (brokers, SASL, TLS, metrics), the event producer,
// and topic and consumer-group administration.
package kafka

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"
	"github.com/twmb/franz-go/plugin/kprom"

	"github.com/pulse-dev/pulse/internal/config"
)

// ClientOpts returns the options every Pulse client needs to reach the
// cluster cfg names: seed brokers, SASL and TLS.
func ClientOpts(cfg config.Kafka) ([]kgo.Opt, error) {
	brokers := cfg.Brokers()
	if len(brokers) == 0 {
		return nil, errors.New("no Kafka bootstrap servers configured (--bootstrap-servers or KAFKA_BOOTSTRAP_SERVERS)")
	}
	opts := []kgo.Opt{kgo.SeedBrokers(brokers...)}
	if m, err := saslMechanism(cfg.Security); err != nil {
		return nil, err
	} else if m != nil {
		opts = append(opts, kgo.SASL(m))
	}
	if tc, err := tlsConfig(cfg.Security); err != nil {
		return nil, err
	} else if tc != nil {
		opts = append(opts, kgo.DialTLSConfig(tc))
	}
	return opts, nil
}

func saslMechanism(k config.KafkaSecurity) (sasl.Mechanism, error) {
	switch strings.ToUpper(k.SASLMechanism) {
	case "":
		return nil, nil
	case "PLAIN":
		return plain.Auth{User: k.SASLUsername, Pass: k.SASLPassword}.AsMechanism(), nil
	case "SCRAM-SHA-256":
		return scram.Auth{User: k.SASLUsername, Pass: k.SASLPassword}.AsSha256Mechanism(), nil
	case "SCRAM-SHA-512":
		return scram.Auth{User: k.SASLUsername, Pass: k.SASLPassword}.AsSha512Mechanism(), nil
	}
	return nil, fmt.Errorf("kafka SASL mechanism %q: want PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512", k.SASLMechanism)
}

func tlsConfig(k config.KafkaSecurity) (*tls.Config, error) {
	if !k.TLSEnabled() {
		return nil, nil
	}
	tc := &tls.Config{
		MinVersion: tls.VersionTLS12,
		// Only for test clusters with self-signed certificates; the flag
		// says so in its help.
		InsecureSkipVerify: k.TLSInsecureSkipVerify, //nolint:gosec // opt-in
	}
	if k.TLSCA != "" {
		pem, err := os.ReadFile(k.TLSCA)
		if err != nil {
			return nil, fmt.Errorf("read Kafka TLS CA %s: %w", k.TLSCA, err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("kafka TLS CA %s holds no PEM certificate", k.TLSCA)
		}
		tc.RootCAs = pool
	}
	if k.TLSCert != "" || k.TLSKey != "" {
		cert, err := tls.LoadX509KeyPair(k.TLSCert, k.TLSKey)
		if err != nil {
			return nil, fmt.Errorf("load Kafka TLS client certificate %s and key %s: %w", k.TLSCert, k.TLSKey, err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc, nil
}

// MetricsOpt hooks the client's own metrics (connections, bytes, batches,
// buffered records) into reg under the namespace pulse_kafka, labelled
// client=name. Each live client needs its own name; the metrics are
// unregistered when the client closes. A nil reg adds nothing.
func MetricsOpt(reg prometheus.Registerer, name string) []kgo.Opt {
	if reg == nil {
		return nil
	}
	m := kprom.NewMetrics("pulse_kafka",
		kprom.Registerer(tolerant{reg}),
		kprom.WithStaticLabel(prometheus.Labels{"client": name}),
	)
	return []kgo.Opt{kgo.WithHooks(m)}
}

// tolerant keeps kprom, which registers with MustRegister, from panicking
// when a client name is reused while the first client lives: the second
// client then goes without metrics instead of taking the process down.
type tolerant struct{ prometheus.Registerer }

func (t tolerant) MustRegister(cs ...prometheus.Collector) {
	for _, c := range cs {
		_ = t.Register(c) // only AlreadyRegistered can happen; see above
	}
}

// LoggerOpt routes the client's warnings and errors to log; its chatty
// info and debug lines are left out.
func LoggerOpt(log *slog.Logger) kgo.Opt {
	return kgo.WithLogger(kgoLogger{log})
}

type kgoLogger struct{ log *slog.Logger }

func (l kgoLogger) Level() kgo.LogLevel {
	if l.log.Enabled(context.Background(), slog.LevelWarn) {
		return kgo.LogLevelWarn
	}
	return kgo.LogLevelError
}

func (l kgoLogger) Log(level kgo.LogLevel, msg string, keyvals ...any) {
	lv := slog.LevelWarn
	switch level {
	case kgo.LogLevelError:
		lv = slog.LevelError
	case kgo.LogLevelWarn:
	default:
		return
	}
	l.log.Log(context.Background(), lv, msg, keyvals...)
}

// compression maps a configured codec name to franz-go's.
func compression(name string) (kgo.CompressionCodec, error) {
	switch strings.ToLower(name) {
	case "", "snappy":
		return kgo.SnappyCompression(), nil
	case "lz4":
		return kgo.Lz4Compression(), nil
	case "zstd":
		return kgo.ZstdCompression(), nil
	case "gzip":
		return kgo.GzipCompression(), nil
	case "none":
		return kgo.NoCompression(), nil
	}
	return kgo.NoCompression(), fmt.Errorf("compression %q: want snappy, lz4, zstd, gzip or none", name)
}

// explainConnErr adds the likely cause to a connection that the broker
// closed while SASL was configured: some brokers (kfake among them) answer
// bad credentials by closing the connection, which kgo reports as EOF.
func explainConnErr(err error, saslMechanism string) error {
	if err == nil || saslMechanism == "" || !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
		return err
	}
	return fmt.Errorf("%w: the broker closed the connection during SASL %s authentication; check --kafka-sasl-mechanism, --kafka-sasl-username and --kafka-sasl-password", err, saslMechanism)
}
