package scaleout

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pulse-dev/pulse/test/pulsetest"
)

// testPKI is a CA and a broker and a client certificate it signed, as
// PEM files.
type testPKI struct {
	CA, Cert, Key         string
	ClientCert, ClientKey string
	// OtherCA is a CA that signed nothing the broker uses.
	OtherCA string
}

// newPKI writes a fresh CA, a server certificate for 127.0.0.1 and
// localhost and a client certificate signed by it, and an unrelated CA
// into dir.
func newPKI(t *testing.T, dir string) testPKI {
	t.Helper()
	newKey := func() *ecdsa.PrivateKey {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatalf("generate key: %v", err)
		}
		return k
	}
	writePEM := func(name, typ string, der []byte) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
			t.Fatalf("write %s: %v", path, err)
		}
		return path
	}
	newCA := func(name string) (*x509.Certificate, *ecdsa.PrivateKey, []byte) {
		key := newKey()
		tmpl := &x509.Certificate{
			SerialNumber:          big.NewInt(time.Now().UnixNano()),
			Subject:               pkix.Name{CommonName: name},
			NotBefore:             time.Now().Add(-time.Hour),
			NotAfter:              time.Now().Add(24 * time.Hour),
			IsCA:                  true,
			BasicConstraintsValid: true,
			KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
		if err != nil {
			t.Fatalf("create CA %s: %v", name, err)
		}
		cert, err := x509.ParseCertificate(der)
		if err != nil {
			t.Fatalf("parse CA %s: %v", name, err)
		}
		return cert, key, der
	}

	ca, caKey, caDER := newCA("pulse test CA")
	_, _, otherDER := newCA("unrelated CA")
	key := newKey()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano() + 1),
		Subject:      pkix.Name{CommonName: "pulse broker"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatalf("create broker certificate: %v", err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatalf("marshal broker key: %v", err)
	}
	clientKey := newKey()
	clientTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano() + 2),
		Subject:      pkix.Name{CommonName: "pulse client"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	clientDER, err := x509.CreateCertificate(rand.Reader, clientTmpl, ca, &clientKey.PublicKey, caKey)
	if err != nil {
		t.Fatalf("create client certificate: %v", err)
	}
	clientKeyDER, err := x509.MarshalECPrivateKey(clientKey)
	if err != nil {
		t.Fatalf("marshal client key: %v", err)
	}
	return testPKI{
		CA:         writePEM("ca.pem", "CERTIFICATE", caDER),
		Cert:       writePEM("broker.pem", "CERTIFICATE", der),
		Key:        writePEM("broker-key.pem", "EC PRIVATE KEY", keyDER),
		ClientCert: writePEM("client.pem", "CERTIFICATE", clientDER),
		ClientKey:  writePEM("client-key.pem", "EC PRIVATE KEY", clientKeyDER),
		OtherCA:    writePEM("other-ca.pem", "CERTIFICATE", otherDER),
	}
}

// securityCase is one way of securing the broker.
type securityCase struct {
	name      string
	mechanism string // empty: no SASL
	tls       bool
}

// flags are the client flags for the case with password.
func (c securityCase) flags(pki testPKI, password string) []string {
	var out []string
	if c.mechanism != "" {
		out = append(out, "--kafka-sasl-mechanism", c.mechanism, "--kafka-sasl-username", "pulse", "--kafka-sasl-password", password)
	}
	if c.tls {
		out = append(out, "--kafka-tls-ca", pki.CA)
	}
	return out
}

// env is the same client configuration as environment variables.
func (c securityCase) env(pki testPKI, password string) []string {
	var out []string
	if c.mechanism != "" {
		out = append(out, "KAFKA_SASL_MECHANISM="+c.mechanism, "KAFKA_SASL_USERNAME=pulse", "KAFKA_SASL_PASSWORD="+password)
	}
	if c.tls {
		out = append(out, "KAFKA_TLS=true", "KAFKA_TLS_CA="+pki.CA)
	}
	return out
}

// TestSecureBroker starts `pulse broker` with SASL users and a TLS
// certificate and runs topics, produce, consume and serve against it with
// the same credentials, from flags and from the environment; a wrong
// password or an untrusted certificate fails with a clear message.
func TestSecureBroker(t *testing.T) {
	t.Parallel()
	pki := newPKI(t, t.TempDir())
	cases := []securityCase{
		{name: "PLAIN_TLS", mechanism: "PLAIN", tls: true},
		{name: "SCRAM-SHA-256", mechanism: "SCRAM-SHA-256"},
		{name: "SCRAM-SHA-512_TLS", mechanism: "SCRAM-SHA-512", tls: true},
		{name: "TLS", tls: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			secureBroker(t, c, pki)
		})
	}
}

func secureBroker(t *testing.T, c securityCase, pki testPKI) {
	const password = "s3cret-pässword"
	sfx := suffix(t)
	topic := "scaleout_secure_" + sfx
	schema, dbURL := pgSchema(t)
	db := pgConn(t, pgBase)

	var brokerFlags []string
	if c.mechanism != "" {
		brokerFlags = append(brokerFlags, "--kafka-sasl-mechanism", c.mechanism, "--kafka-sasl-username", "pulse", "--kafka-sasl-password", password)
	}
	if c.tls {
		brokerFlags = append(brokerFlags, "--kafka-tls-cert", pki.Cert, "--kafka-tls-key", pki.Key)
	}
	_, brokerAddr := startBroker(t, topic, 3, brokerFlags...)
	target := []string{"--bootstrap-servers", brokerAddr, "--topic", topic}

	// topics and produce take the credentials as flags.
	out, err := runPulse(t, 30*time.Second, nil, append(append([]string{"topics", "list"}, target...), c.flags(pki, password)...)...)
	if err != nil || !strings.Contains(out, topic) {
		t.Fatalf("pulse topics list: %v\n%s", err, out)
	}
	acked := produce(t, nil, append(append([]string{"--mode", "batch", "--batch-size", "30"}, target...), c.flags(pki, password)...)...)
	if c.tls {
		// The other TLS settings a client may use: a client certificate
		// (offered when the broker asks for one), and skipping
		// verification for development.
		for _, extra := range [][]string{
			{"--kafka-tls-cert", pki.ClientCert, "--kafka-tls-key", pki.ClientKey},
			{"--kafka-tls-insecure-skip-verify"},
		} {
			flags := c.flags(pki, password)
			if extra[0] == "--kafka-tls-insecure-skip-verify" {
				flags = slices.DeleteFunc(flags, func(f string) bool { return f == "--kafka-tls-ca" || f == pki.CA })
			}
			args := append(append(append([]string{"topics", "list"}, target...), flags...), extra...)
			if out, err := runPulse(t, 30*time.Second, nil, args...); err != nil || !strings.Contains(out, topic) {
				t.Fatalf("pulse %s: %v\n%s", strings.Join(args, " "), err, out)
			}
		}
	}

	// consume and serve take them from the environment.
	env := append(c.env(pki, password), "KAFKA_BOOTSTRAP_SERVERS="+brokerAddr, "KAFKA_TOPIC_USER_EVENTS="+topic,
		"KAFKA_TOPIC_DLQ="+topic+"_dlq", "DATABASE_URL="+dbURL, "KAFKA_CONSUMER_GROUP=group_"+sfx)
	startPulse(t, "consume", env, "consume", "--consumer-id", "secure-consumer")
	_, web := startServe(t, "serve", env, "--consumers", "0")
	ids := postBatch(t, web, 10)
	total := acked + len(ids)

	pulsetest.WaitFor(t, 60*time.Second, fmt.Sprintf("%d events stored", total), func() error {
		n, err := countEvents(db, schema)
		if err != nil {
			return err
		}
		if n != total {
			return fmt.Errorf("%d stored", n)
		}
		return nil
	})
	waitAssigned(t, web, 3, "secure-consumer")

	t.Run("wrong_credentials", func(t *testing.T) {
		// What a user must be told: that authentication (or the
		// certificate check) failed, not a timeout or a bare EOF.
		bad, want := c.flags(pki, "wrong-password"), []string{"sasl", "authentication", "credentials", "password"}
		if c.mechanism == "" {
			bad, want = []string{"--kafka-tls-ca", pki.OtherCA}, []string{"certificate"}
		}
		commands := map[string][]string{
			"topics":  {"topics", "list", "--timeout", "5s"},
			"produce": {"produce", "--mode", "batch", "--batch-size", "1"},
		}
		for name, args := range commands {
			out, err := runPulse(t, 30*time.Second, nil, append(append(args, target...), bad...)...)
			if err == nil {
				t.Errorf("pulse %s with wrong credentials succeeded:\n%s", name, out)
				continue
			}
			if strings.Contains(out, "panic:") || !containsAny(strings.ToLower(out), want) {
				t.Errorf("pulse %s with wrong credentials: the error mentions none of %v:\n%s", name, want, out)
			}
		}
	})
}

// containsAny reports whether s contains one of subs.
func containsAny(s string, subs []string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}
