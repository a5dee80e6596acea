package broker

import (
	"crypto/tls"
	"fmt"

	"github.com/pulse-dev/pulse/internal/config"
)

// FromConfig is the embedded broker Pulse's settings describe: listening
// on b.Addr (advertising b.AdvertisedAddr), its log under dataDir and
// bounded by b's retention, the events and dead-letter topics of k, and
// SASL or TLS when k's security settings ask for them, so that the
// broker can stand in for a secured cluster: the SASL user becomes the
// broker's user, the TLS certificate and key its own. SyncWrites is the
// caller's to set.
func FromConfig(dataDir string, b config.Broker, k config.Kafka) (Config, error) {
	bc := Config{
		Addr:           b.Addr,
		AdvertisedAddr: b.AdvertisedAddr,
		DataDir:        dataDir,
		Topics: []Topic{
			{Name: k.Topic, Partitions: int32(k.Partitions)},
			{Name: k.DLQTopic, Partitions: int32(k.Partitions)},
		},
		Retention:      b.Retention,
		RetentionBytes: b.RetentionBytes,
	}
	sec := k.Security
	if sec.SASLMechanism != "" {
		bc.Users = []User{{Mechanism: sec.SASLMechanism, Name: sec.SASLUsername, Password: sec.SASLPassword}}
	}
	if sec.TLSCert != "" {
		cert, err := tls.LoadX509KeyPair(sec.TLSCert, sec.TLSKey)
		if err != nil {
			return bc, fmt.Errorf("load broker TLS certificate %s and key %s: %w", sec.TLSCert, sec.TLSKey, err)
		}
		bc.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	return bc, nil
}
