package config

import (
	"cmp"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/joho/godotenv"
)

// KafkaKeys are the settings every Kafka client needs: where the brokers
// are and how to authenticate. Producers add Compression.
func KafkaKeys() []Key {
	return []Key{
		BootstrapServers,
		KafkaSASLMechanism, KafkaSASLUsername, KafkaSASLPassword,
		KafkaTLS, KafkaTLSCA, KafkaTLSCert, KafkaTLSKey, KafkaTLSInsecureSkipVerify,
	}
}

// OIDCKeys are the OpenID Connect sign-in settings.
func OIDCKeys() []Key {
	return []Key{OIDCIssuer, OIDCClientID, OIDCClientSecret, OIDCRedirectURL, OIDCName, OIDCScopes, OIDCRolesClaim, OIDCRoleMap}
}

// LogKeys are the logging settings.
func LogKeys() []Key { return []Key{LogFormat, LogLevel} }

// Options tune where a FlagSet reads the environment from.
type Options struct {
	// EnvFile is the .env file to read; empty means ".env". A missing
	// file is fine.
	EnvFile string
	// LookupEnv reads the real environment; nil means os.LookupEnv.
	LookupEnv func(string) (string, bool)
}

// FlagSet is a flag.FlagSet whose registered settings also read the
// environment and a .env file.
type FlagSet struct {
	fs      *flag.FlagSet
	cfg     *Config
	opts    Options
	used    []Key
	defs    map[Key]string
	fromEnv map[Key]string // the variable that set a key
	summary string
}

// NewFlagSet returns a FlagSet for the subcommand name that fills cfg.
// summary is the first line of its --help. Usage goes to output.
func NewFlagSet(name, summary string, cfg *Config, output io.Writer, opts Options) *FlagSet {
	f := &FlagSet{
		fs:      flag.NewFlagSet(name, flag.ContinueOnError),
		cfg:     cfg,
		opts:    opts,
		defs:    make(map[Key]string),
		fromEnv: make(map[Key]string),
		summary: summary,
	}
	f.fs.SetOutput(output)
	f.fs.Usage = f.usage
	return f
}

// Flags returns the underlying flag.FlagSet, for subcommand-only flags
// that have no environment variable.
func (f *FlagSet) Flags() *flag.FlagSet { return f.fs }

// Add registers settings. Their current values in cfg are the defaults.
func (f *FlagSet) Add(keys ...Key) {
	for _, k := range keys {
		if k.setting == nil || f.fs.Lookup(k.flag) != nil {
			continue
		}
		v := k.field(f.cfg)
		f.fs.Var(v, k.flag, k.usage)
		f.defs[k] = v.String()
		f.used = append(f.used, k)
	}
}

// SetDefault changes the default of a registered setting, for a
// subcommand whose default differs (produce connects to 127.0.0.1:9092
// where serve starts its own broker).
func (f *FlagSet) SetDefault(k Key, value string) error {
	fl := f.fs.Lookup(k.flag)
	if fl == nil || !f.registered(k) {
		return fmt.Errorf("setting --%s is not registered", k.flag)
	}
	if err := fl.Value.Set(value); err != nil {
		return fmt.Errorf("default of --%s: %w", fl.Name, err)
	}
	fl.DefValue = value
	f.defs[k] = value
	return nil
}

// ErrHelp is returned by Parse when the user asked for --help; the usage
// has been printed.
var ErrHelp = flag.ErrHelp

// UsageError is a command line that does not parse. The flag package has
// already printed it, with the usage, to the FlagSet's output.
type UsageError struct{ Err error }

func (e *UsageError) Error() string { return e.Err.Error() }
func (e *UsageError) Unwrap() error { return e.Err }

// IsUsage reports whether err is a UsageError.
func IsUsage(err error) bool {
	var u *UsageError
	return errors.As(err, &u)
}

// Parse resolves the registered settings: the .env file fills variables
// the environment lacks, the environment overrides defaults, and args
// override both. It then derives DatabaseURL and the DEBUG log level and
// returns the positional arguments left.
func (f *FlagSet) Parse(args []string) ([]string, error) {
	lookup, err := f.lookup()
	if err != nil {
		return nil, err
	}
	for _, k := range f.used {
		for _, name := range k.env {
			val, ok := lookup(name)
			if !ok {
				continue
			}
			if err := f.fs.Lookup(k.flag).Value.Set(strings.TrimSpace(val)); err != nil {
				return nil, fmt.Errorf("environment variable %s=%q: %w", name, val, err)
			}
			f.fromEnv[k] = name
			break
		}
	}
	if err := f.fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, err
		}
		return nil, &UsageError{Err: err}
	}
	set := make(map[string]bool)
	f.fs.Visit(func(fl *flag.Flag) { set[fl.Name] = true })

	if f.registered(LogLevel) && !set["log-level"] && f.fromEnv[LogLevel] == "" {
		if d, ok := lookup("DEBUG"); ok && truthy(d) {
			f.cfg.Log.Level = "debug"
		}
	}
	if f.registered(DatabaseURL) && f.cfg.Store.DatabaseURL == "" {
		if u, ok := seedDatabaseURL(lookup); ok {
			f.cfg.Store.DatabaseURL = u
		} else {
			f.cfg.Store.DatabaseURL = DefaultDatabaseURL(f.cfg.DataDir)
		}
	}
	return f.fs.Args(), nil
}

// Source says where a registered setting's value came from: "flag",
// "env:NAME" or "default".
func (f *FlagSet) Source(k Key) string {
	name := k.flag
	flagged := false
	f.fs.Visit(func(fl *flag.Flag) { flagged = flagged || fl.Name == name })
	switch {
	case flagged:
		return "flag"
	case f.fromEnv[k] != "":
		return "env:" + f.fromEnv[k]
	}
	return "default"
}

func (f *FlagSet) registered(k Key) bool {
	for _, u := range f.used {
		if u == k {
			return true
		}
	}
	return false
}

// lookup reads the real environment first and the .env file second, so
// the file never overrides what the process was given.
func (f *FlagSet) lookup() (func(string) (string, bool), error) {
	env := f.opts.LookupEnv
	if env == nil {
		env = os.LookupEnv
	}
	path := cmp.Or(f.opts.EnvFile, ".env")
	file, err := godotenv.Read(path)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("read %s: %w", path, err)
		}
		file = nil
	}
	return func(name string) (string, bool) {
		if v, ok := env(name); ok {
			return v, true
		}
		v, ok := file[name]
		return v, ok
	}, nil
}

func truthy(s string) bool {
	b, err := strconv.ParseBool(strings.TrimSpace(s))
	return err == nil && b || strings.EqualFold(strings.TrimSpace(s), "yes") || strings.EqualFold(strings.TrimSpace(s), "on")
}

func (f *FlagSet) usage() {
	w := f.fs.Output()
	fmt.Fprintf(w, "Usage: pulse %s [flags]\n\n%s\n\nFlags:\n", f.fs.Name(), f.summary)
	isSetting := make(map[string]Key)
	for _, k := range f.used {
		isSetting[k.flag] = k
	}
	f.fs.VisitAll(func(fl *flag.Flag) {
		typ := typeName(fl)
		fmt.Fprintf(w, "  --%s%s\n        %s", fl.Name, typ, fl.Usage)
		var notes []string
		if k, ok := isSetting[fl.Name]; ok {
			if d := f.defs[k]; !isZero(d) {
				notes = append(notes, "default "+strconv.Quote(d))
			}
			notes = append(notes, "env "+strings.Join(k.env, " or "))
		} else if !isZero(fl.DefValue) {
			notes = append(notes, "default "+strconv.Quote(fl.DefValue))
		}
		if len(notes) > 0 {
			fmt.Fprintf(w, " (%s)", strings.Join(notes, "; "))
		}
		fmt.Fprintln(w)
	})
}

// isZero reports a default not worth printing, as the flag package does.
func isZero(s string) bool {
	switch s {
	case "", "0", "false", "0s":
		return true
	}
	return false
}

// typeName is the value placeholder usage prints after a flag name.
func typeName(fl *flag.Flag) string {
	switch fl.Value.(type) {
	case boolValue:
		return ""
	case intValue, int64Value:
		return " int"
	case durValue:
		return " duration"
	case strValue:
		return " string"
	}
	typ, _ := flag.UnquoteUsage(fl)
	if typ != "" {
		typ = " " + typ
	}
	return typ
}

// Value types for the Config fields. Each reports its type name so that
// usage can print "--partitions int", and is a flag.Getter so that a
// setting's check can read it.

type strValue struct{ p *string }

func strField(get func(*Config) *string) func(*Config) flag.Value {
	return func(c *Config) flag.Value { return strValue{get(c)} }
}
func (v strValue) String() string {
	if v.p == nil {
		return ""
	}
	return *v.p
}
func (v strValue) Set(s string) error { *v.p = s; return nil }
func (v strValue) Get() any           { return *v.p }

type intValue struct{ p *int }

func intField(get func(*Config) *int) func(*Config) flag.Value {
	return func(c *Config) flag.Value { return intValue{get(c)} }
}
func (v intValue) String() string {
	if v.p == nil {
		return "0"
	}
	return strconv.Itoa(*v.p)
}
func (v intValue) Get() any { return *v.p }
func (v intValue) Set(s string) error {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		return fmt.Errorf("%q is not an integer", s)
	}
	*v.p = n
	return nil
}

type int64Value struct{ p *int64 }

func int64Field(get func(*Config) *int64) func(*Config) flag.Value {
	return func(c *Config) flag.Value { return int64Value{get(c)} }
}
func (v int64Value) String() string {
	if v.p == nil {
		return "0"
	}
	return strconv.FormatInt(*v.p, 10)
}
func (v int64Value) Get() any { return *v.p }
func (v int64Value) Set(s string) error {
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil {
		return fmt.Errorf("%q is not an integer", s)
	}
	*v.p = n
	return nil
}

// sizeValue is a byte count, given bare or with a binary unit (KiB,
// MiB, GiB, TiB).
type sizeValue struct{ p *int64 }

var sizeUnits = []struct {
	suffix string
	n      int64
}{{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"B", 1}}

func sizeField(get func(*Config) *int64) func(*Config) flag.Value {
	return func(c *Config) flag.Value { return sizeValue{get(c)} }
}
func (v sizeValue) String() string {
	if v.p == nil || *v.p == 0 {
		return "0"
	}
	for _, u := range sizeUnits {
		if *v.p%u.n == 0 {
			return strconv.FormatInt(*v.p/u.n, 10) + u.suffix
		}
	}
	return strconv.FormatInt(*v.p, 10)
}
func (v sizeValue) Get() any { return *v.p }
func (v sizeValue) Set(s string) error {
	s = strings.TrimSpace(s)
	num, mult := s, int64(1)
	for _, u := range sizeUnits {
		if d, ok := strings.CutSuffix(s, u.suffix); ok {
			num, mult = strings.TrimSpace(d), u.n
			break
		}
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n > math.MaxInt64/mult || n < math.MinInt64/mult {
		return fmt.Errorf("%q is not a size such as 1073741824, 512MiB or 1GiB", s)
	}
	*v.p = n * mult
	return nil
}

type boolValue struct{ p *bool }

func boolField(get func(*Config) *bool) func(*Config) flag.Value {
	return func(c *Config) flag.Value { return boolValue{get(c)} }
}
func (v boolValue) String() string {
	if v.p == nil {
		return "false"
	}
	return strconv.FormatBool(*v.p)
}
func (v boolValue) Get() any { return *v.p }
func (v boolValue) Set(s string) error {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "yes", "on":
		*v.p = true
		return nil
	case "no", "off", "":
		*v.p = false
		return nil
	}
	b, err := strconv.ParseBool(strings.TrimSpace(s))
	if err != nil {
		return fmt.Errorf("%q is not a boolean", s)
	}
	*v.p = b
	return nil
}

// IsBoolFlag lets "--kafka-tls" stand alone without "=true".
func (v boolValue) IsBoolFlag() bool { return true }

type durValue struct{ p *time.Duration }

func durField(get func(*Config) *time.Duration) func(*Config) flag.Value {
	return func(c *Config) flag.Value { return durValue{get(c)} }
}
func (v durValue) String() string {
	if v.p == nil {
		return "0s"
	}
	return v.p.String()
}
func (v durValue) Get() any { return *v.p }
func (v durValue) Set(s string) error {
	s = strings.TrimSpace(s)
	// Retention ages are often given in days.
	if d, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.ParseFloat(d, 64)
		if err != nil {
			return fmt.Errorf("%q is not a duration such as 72h or 7d", s)
		}
		*v.p = time.Duration(n * float64(24*time.Hour))
		return nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("%q is not a duration such as 72h or 7d", s)
	}
	*v.p = d
	return nil
}
