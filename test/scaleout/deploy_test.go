package scaleout

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

// composeFile is the part of a Compose file the test checks.
type composeFile struct {
	Services map[string]composeService `yaml:"services"`
}

type composeService struct {
	Image       string            `yaml:"image"`
	Build       any               `yaml:"build"`
	Command     []string          `yaml:"command"`
	Environment map[string]string `yaml:"environment"`
	EnvFile     []string          `yaml:"env_file"`
	Expose      []string          `yaml:"expose"`
	Ports       []string          `yaml:"ports"`
	Volumes     []string          `yaml:"volumes"`
	DependsOn   any               `yaml:"depends_on"`
	Restart     string            `yaml:"restart"`
	Profiles    []string          `yaml:"profiles"`
	Deploy      struct {
		Resources struct {
			Limits map[string]string `yaml:"limits"`
		} `yaml:"resources"`
	} `yaml:"deploy"`
}

// pulse reports whether the service runs the pulse image.
func (s composeService) pulse() bool {
	return s.Build != nil || strings.Contains(s.Image, "pulse")
}

// dependsOn lists the services s waits for, in either Compose syntax.
func (s composeService) dependsOn() []string {
	var out []string
	switch d := s.DependsOn.(type) {
	case []any:
		for _, v := range d {
			out = append(out, fmt.Sprint(v))
		}
	case map[string]any:
		for k := range d {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

// commandSpec is what `pulse <command> --help` says the command accepts.
type commandSpec struct {
	// flags maps a flag name to whether it takes a value, and of which
	// kind ("" for a boolean).
	flags map[string]string
	// env holds the environment variables the help names.
	env map[string]bool
	// actions are the positional actions (topics create|list|...).
	actions []string
}

var (
	flagLine    = regexp.MustCompile(`^\s+--([a-z0-9-]+)(?: (\S+))?$`)
	envName     = regexp.MustCompile(`\b[A-Z][A-Z0-9]*_[A-Z0-9_]+\b`)
	actionsLine = regexp.MustCompile(`pulse \w+ ([a-z]+(?:\|[a-z]+)+)`)
)

// helpSpecs asks the built binary for each subcommand's flags and
// environment variables.
func helpSpecs(t *testing.T) map[string]commandSpec {
	t.Helper()
	specs := make(map[string]commandSpec)
	for _, cmd := range []string{"serve", "produce", "consume", "topics", "broker", "version"} {
		out, _ := exec.Command(pulseBin, cmd, "--help").CombinedOutput()
		if !strings.Contains(string(out), "Usage: pulse "+cmd) {
			t.Fatalf("pulse %s --help printed no usage:\n%s", cmd, out)
		}
		spec := commandSpec{flags: make(map[string]string), env: make(map[string]bool)}
		sc := bufio.NewScanner(strings.NewReader(string(out)))
		for sc.Scan() {
			if m := flagLine.FindStringSubmatch(sc.Text()); m != nil {
				spec.flags[m[1]] = m[2]
			}
			if m := actionsLine.FindStringSubmatch(sc.Text()); m != nil {
				spec.actions = strings.Split(m[1], "|")
			}
			for _, e := range envName.FindAllString(sc.Text(), -1) {
				spec.env[e] = true
			}
		}
		specs[cmd] = spec
	}
	if len(specs["serve"].flags) < 10 || !specs["serve"].env["DATABASE_URL"] {
		t.Fatalf("could not read serve's flags from its help: %+v", specs["serve"])
	}
	return specs
}

// parsedCommand is a compose command checked against its spec.
type parsedCommand struct {
	name   string
	action string
	flags  map[string]string
}

// parseCommand checks args (the Compose command) against specs: a real
// subcommand, known flags with values of the right kind.
func parseCommand(specs map[string]commandSpec, args []string) (parsedCommand, error) {
	if len(args) == 0 {
		return parsedCommand{}, fmt.Errorf("no command (the image's default is serve; say it)")
	}
	spec, ok := specs[args[0]]
	if !ok {
		return parsedCommand{}, fmt.Errorf("%q is not a pulse subcommand", args[0])
	}
	pc := parsedCommand{name: args[0], flags: make(map[string]string)}
	rest := args[1:]
	if len(rest) > 0 && !strings.HasPrefix(rest[0], "-") {
		if !slices.Contains(spec.actions, rest[0]) {
			return pc, fmt.Errorf("pulse %s does not take %q (actions: %v)", pc.name, rest[0], spec.actions)
		}
		pc.action, rest = rest[0], rest[1:]
	}
	for i := 0; i < len(rest); i++ {
		arg := rest[i]
		if !strings.HasPrefix(arg, "--") {
			return pc, fmt.Errorf("pulse %s: unexpected argument %q", pc.name, arg)
		}
		name, value, hasValue := strings.Cut(strings.TrimPrefix(arg, "--"), "=")
		kind, known := spec.flags[name]
		if !known {
			return pc, fmt.Errorf("pulse %s does not accept --%s", pc.name, name)
		}
		if kind != "" && !hasValue {
			if i+1 >= len(rest) {
				return pc, fmt.Errorf("pulse %s: --%s needs a value", pc.name, name)
			}
			i++
			value = rest[i]
		}
		if err := checkValue(kind, value); err != nil {
			return pc, fmt.Errorf("pulse %s --%s %q: %w", pc.name, name, value, err)
		}
		pc.flags[name] = value
	}
	return pc, nil
}

// checkValue checks a flag value against the kind the help names.
func checkValue(kind, value string) error {
	var err error
	switch kind {
	case "int":
		_, err = strconv.Atoi(value)
	case "uint":
		_, err = strconv.ParseUint(value, 10, 64)
	case "float":
		_, err = strconv.ParseFloat(value, 64)
	case "duration":
		_, err = time.ParseDuration(value)
	case "":
		if value != "" {
			_, err = strconv.ParseBool(value)
		}
	}
	return err
}

// readEnvFile returns the variables an env file sets. A file that is not
// committed (it holds secrets) is read from its .example.
func readEnvFile(path string) (map[string]string, error) {
	data, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		data, err = os.ReadFile(path + ".example")
	}
	if err != nil {
		return nil, fmt.Errorf("env file %s (or %s.example): %w", path, path, err)
	}
	out := make(map[string]string)
	for n, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			return nil, fmt.Errorf("%s:%d: not KEY=VALUE: %q", path, n+1, line)
		}
		out[k] = v
	}
	return out, nil
}

// dockerfileEnv returns the ENV defaults of the Dockerfile's final stage.
func dockerfileEnv(t *testing.T) (env map[string]string, exposed []string) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	text := strings.ReplaceAll(string(data), "\\\n", " ")
	stages := regexp.MustCompile(`(?m)^FROM `).Split(text, -1)
	final := stages[len(stages)-1]
	env = make(map[string]string)
	for _, line := range strings.Split(final, "\n") {
		fields := strings.Fields(line)
		switch {
		case len(fields) > 1 && fields[0] == "ENV":
			for _, kv := range fields[1:] {
				if k, v, ok := strings.Cut(kv, "="); ok {
					env[k] = v
				}
			}
		case len(fields) > 1 && fields[0] == "EXPOSE":
			exposed = append(exposed, fields[1:]...)
		}
	}
	return env, exposed
}

// nginxConf returns the servers of each upstream block, the directives
// of each location block and the listen ports of a simple nginx.conf,
// and its text.
func nginxConf(t *testing.T) (upstreams map[string][]string, locations map[string][]string, listen []string, text string) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot, "deploy", "nginx.conf"))
	if err != nil {
		t.Fatal(err)
	}
	text = string(data)
	upstreams = make(map[string][]string)
	locations = make(map[string][]string)
	var block, name string
	depth := 0
	for _, raw := range strings.Split(text, "\n") {
		line := strings.TrimSpace(raw)
		if i := strings.Index(line, "#"); i >= 0 {
			line = strings.TrimSpace(line[:i])
		}
		if line == "" {
			continue
		}
		fields := strings.Fields(strings.TrimSuffix(line, ";"))
		switch {
		case strings.HasSuffix(line, "{"):
			depth++
			if len(fields) >= 3 && (fields[0] == "upstream" || fields[0] == "location") {
				block, name = fields[0], fields[1]
			}
		case line == "}":
			depth--
			block = ""
		case block == "upstream" && fields[0] == "server":
			upstreams[name] = append(upstreams[name], fields[1])
		case block == "location":
			locations[name] = append(locations[name], strings.Join(fields, " "))
		case block == "" && fields[0] == "listen":
			listen = append(listen, fields[1])
		}
	}
	if depth != 0 {
		t.Fatalf("deploy/nginx.conf: unbalanced braces")
	}
	return upstreams, locations, listen, text
}

// TestComposeFiles checks docker-compose.yml and docker-compose.prod.yml
// against what the built pulse binary accepts: every pulse service runs a
// real subcommand with flags it accepts, every environment variable (set
// inline or in an env file) is one that subcommand reads, the servers
// listen on all interfaces on the port the Compose file exposes, and
// nginx proxies the API and the WebSocket (with the upgrade headers) to
// exactly those servers.
func TestComposeFiles(t *testing.T) {
	t.Parallel()
	specs := helpSpecs(t)
	imageEnv, imageExpose := dockerfileEnv(t)
	if !slices.Contains(imageExpose, "8000") {
		t.Errorf("Dockerfile: final stage exposes %v, want 8000", imageExpose)
	}
	if _, port, err := net.SplitHostPort(imageEnv["PULSE_ADDR"]); err != nil || !slices.Contains(imageExpose, port) {
		t.Errorf("Dockerfile: PULSE_ADDR %q does not listen on an exposed port %v", imageEnv["PULSE_ADDR"], imageExpose)
	}
	for k := range imageEnv {
		if !specs["serve"].env[k] {
			t.Errorf("Dockerfile: ENV %s is not read by pulse serve", k)
		}
	}
	checkDockerfile(t)
	upstreams, locations, listen, conf := nginxConf(t)

	for _, file := range []string{"docker-compose.yml", "docker-compose.prod.yml"} {
		t.Run(file, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(repoRoot, file))
			if err != nil {
				t.Fatal(err)
			}
			var cf composeFile
			if err := yaml.Unmarshal(data, &cf); err != nil {
				t.Fatalf("parse %s: %v", file, err)
			}
			checkCompose(t, file, cf, specs, imageEnv, upstreams, locations, listen, conf)
		})
	}
}

func checkCompose(t *testing.T, file string, cf composeFile, specs map[string]commandSpec, imageEnv map[string]string,
	upstreams, locations map[string][]string, listen []string, conf string) {
	var serves, consumes []string
	groups := make(map[string]bool)
	consumerIDs := make(map[string]string)
	partitions := 0
	for name, svc := range cf.Services {
		for _, dep := range svc.dependsOn() {
			if _, ok := cf.Services[dep]; !ok {
				t.Errorf("service %s depends on %s, which %s does not define", name, dep, file)
			}
		}
		if !svc.pulse() {
			continue
		}
		pc, err := parseCommand(specs, svc.Command)
		if err != nil {
			t.Errorf("service %s: %v", name, err)
			continue
		}
		env := make(map[string]string)
		for _, f := range svc.EnvFile {
			vars, err := readEnvFile(filepath.Join(repoRoot, f))
			if err != nil {
				t.Errorf("service %s: %v", name, err)
				continue
			}
			for k, v := range vars {
				if !specs[pc.name].env[k] {
					t.Errorf("service %s: %s sets %s, which pulse %s does not read", name, f, k, pc.name)
				}
				env[k] = v
			}
		}
		for k, v := range svc.Environment {
			if !specs[pc.name].env[k] {
				t.Errorf("service %s: environment %s is not read by pulse %s", name, k, pc.name)
			}
			env[k] = v
		}
		if strings.HasSuffix(file, ".prod.yml") && svc.Restart == "" {
			t.Errorf("service %s: no restart policy in %s", name, file)
		}
		if strings.HasSuffix(file, ".prod.yml") && pc.name != "topics" && svc.Deploy.Resources.Limits["memory"] == "" {
			t.Errorf("service %s: no memory limit in %s", name, file)
		}
		setting := func(flag, envVar string) string {
			if v, ok := pc.flags[flag]; ok {
				return v
			}
			if v, ok := env[envVar]; ok {
				return v
			}
			return imageEnv[envVar]
		}
		if pc.name != "version" && pc.name != "broker" && setting("bootstrap-servers", "KAFKA_BOOTSTRAP_SERVERS") == "" && len(svc.Profiles) == 0 {
			t.Errorf("service %s: no Kafka bootstrap servers: pulse %s would use an embedded broker or 127.0.0.1", name, pc.name)
		}

		switch pc.name {
		case "serve":
			serves = append(serves, name)
			if c := setting("consumers", "PULSE_CONSUMERS"); c != "0" {
				t.Errorf("service %s: pulse serve runs %q consumers; the scaled-out topology wants --consumers 0", name, c)
			}
			addr := setting("addr", "PULSE_ADDR")
			host, port, err := net.SplitHostPort(addr)
			if err != nil {
				t.Errorf("service %s: listen address %q: %v", name, addr, err)
				continue
			}
			if host != "0.0.0.0" && host != "" && host != "::" {
				t.Errorf("service %s: listens on %s, unreachable from other containers", name, addr)
			}
			if !slices.Contains(svc.Expose, port) {
				t.Errorf("service %s: listens on port %s but exposes %v", name, port, svc.Expose)
			}
			if !slices.Contains(upstreams["pulse_serve"], name+":"+port) {
				t.Errorf("service %s:%s is not a server of nginx upstream pulse_serve %v", name, port, upstreams["pulse_serve"])
			}
			if setting("redis-url", "REDIS_URL") == "" {
				t.Errorf("service %s: several servers need REDIS_URL to share live updates", name)
			}
		case "consume":
			consumes = append(consumes, name)
			id := setting("consumer-id", "PULSE_CONSUMER_ID")
			if other, dup := consumerIDs[id]; dup && id != "" {
				t.Errorf("services %s and %s use the same consumer id %q", other, name, id)
			}
			consumerIDs[id] = name
			groups[setting("consumer-group", "KAFKA_CONSUMER_GROUP")] = true
			if p, err := strconv.Atoi(setting("partitions", "KAFKA_PARTITIONS")); err == nil {
				partitions = p
			}
		}
	}

	slices.Sort(serves)
	if len(serves) != 2 {
		t.Errorf("%s runs %d pulse serve services %v, want 2", file, len(serves), serves)
	}
	if len(consumes) != 3 {
		t.Errorf("%s runs %d pulse consume services %v, want 3", file, len(consumes), consumes)
	}
	if len(groups) != 1 {
		t.Errorf("the consumers are in %d groups %v, want one", len(groups), groups)
	}
	if partitions < len(consumes) {
		t.Errorf("%d partitions for %d consumers: some would sit idle", partitions, len(consumes))
	}
	var upstreamHosts []string
	for _, s := range upstreams["pulse_serve"] {
		host, _, _ := strings.Cut(s, ":")
		upstreamHosts = append(upstreamHosts, host)
	}
	slices.Sort(upstreamHosts)
	if !slices.Equal(upstreamHosts, serves) {
		t.Errorf("nginx upstream pulse_serve is %v, want the serve services %v", upstreams["pulse_serve"], serves)
	}

	kafka, ok := cf.Services["kafka"]
	if !ok || !strings.Contains(kafka.Environment["KAFKA_PROCESS_ROLES"], "controller") {
		t.Errorf("%s: no KRaft-mode kafka service (KAFKA_PROCESS_ROLES with controller)", file)
	}
	for _, s := range []string{"postgres", "redis", "nginx"} {
		if _, ok := cf.Services[s]; !ok {
			t.Errorf("%s: no %s service", file, s)
		}
	}

	nginx := cf.Services["nginx"]
	if !slices.Contains(nginx.Volumes, "./deploy/nginx.conf:/etc/nginx/nginx.conf:ro") {
		t.Errorf("nginx does not mount deploy/nginx.conf: %v", nginx.Volumes)
	}
	for _, p := range nginx.Ports {
		parts := strings.Split(p, ":")
		if !slices.Contains(listen, parts[len(parts)-1]) {
			t.Errorf("nginx publishes %s but listens on %v", p, listen)
		}
	}

	ws := locations["/ws/"]
	for _, want := range []string{"proxy_pass http://pulse_serve", "proxy_http_version 1.1", "proxy_set_header Upgrade $http_upgrade"} {
		if !slices.Contains(ws, want) {
			t.Errorf("nginx location /ws/ lacks %q: %v", want, ws)
		}
	}
	if !slices.Contains(ws, "proxy_set_header Connection $connection_upgrade") && !slices.Contains(ws, `proxy_set_header Connection "upgrade"`) {
		t.Errorf("nginx location /ws/ does not send Connection: upgrade: %v", ws)
	}
	if strings.Contains(strings.Join(ws, "\n"), "$connection_upgrade") && !regexp.MustCompile(`map \$http_upgrade \$connection_upgrade \{\s*default\s+upgrade;`).MatchString(conf) {
		t.Errorf("nginx.conf uses $connection_upgrade without mapping it from $http_upgrade")
	}
	if !slices.Contains(locations["/"], "proxy_pass http://pulse_serve") {
		t.Errorf("nginx location / does not proxy to pulse_serve: %v", locations["/"])
	}
}

// TestParseCommand makes sure the compose check catches what it is for.
func TestParseCommand(t *testing.T) {
	t.Parallel()
	specs := helpSpecs(t)
	for _, tc := range []struct {
		args []string
		ok   bool
	}{
		{[]string{"serve", "--consumers", "0", "--addr", "0.0.0.0:8000"}, true},
		{[]string{"serve", "--consumers=0", "--kafka-tls"}, true},
		{[]string{"topics", "create", "--if-not-exists"}, true},
		{[]string{"consume", "--consumer-id", "c1"}, true},
		{[]string{"produce", "--mode", "continuous", "--events-per-second", "50", "--duration", "60s"}, true},
		{[]string{"server"}, false},
		{nil, false},
		{[]string{"consume", "--addr", "0.0.0.0:8000"}, false},
		{[]string{"serve", "--consumers", "none"}, false},
		{[]string{"serve", "--consumers"}, false},
		{[]string{"topics", "purge"}, false},
		{[]string{"serve", "extra"}, false},
		{[]string{"serve", "--kafka-tls=maybe"}, false},
	} {
		_, err := parseCommand(specs, tc.args)
		if (err == nil) != tc.ok {
			t.Errorf("parseCommand(%q): error %v, want ok %v", tc.args, err, tc.ok)
		}
	}
}

// checkDockerfile checks what the Dockerfile takes from the tree and what
// its final image promises: the UI build output the Go embed expects, the
// command package, a static binary on a distroless base, a non-root user.
func checkDockerfile(t *testing.T) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	vite, err := os.ReadFile(filepath.Join(repoRoot, "web", "vite.config.ts"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(vite), "outDir: 'ui/dist'") || !strings.Contains(text, "COPY --from=ui /src/web/ui/dist ./web/ui/dist") {
		t.Errorf("Dockerfile: the UI stage's output is not where web/vite.config.ts builds it (web/ui/dist)")
	}
	if _, err := os.Stat(filepath.Join(repoRoot, "cmd", "pulse", "main.go")); err != nil || !strings.Contains(text, "./cmd/pulse") {
		t.Errorf("Dockerfile does not build ./cmd/pulse")
	}
	if !strings.Contains(text, "-extldflags -static") {
		t.Errorf("Dockerfile: the binary is not linked statically, but the final stage has no C library")
	}
	stages := regexp.MustCompile(`(?m)^FROM `).Split(text, -1)
	final := stages[len(stages)-1]
	if !strings.HasPrefix(final, "gcr.io/distroless/static") {
		t.Errorf("Dockerfile: final stage is %q, want distroless/static", strings.SplitN(final, "\n", 2)[0])
	}
	user := regexp.MustCompile(`(?m)^USER (\S+)`).FindStringSubmatch(final)
	if user == nil || user[1] == "root" || strings.HasPrefix(user[1], "0") {
		t.Errorf("Dockerfile: final stage runs as %v, want a non-root user", user)
	}
}
