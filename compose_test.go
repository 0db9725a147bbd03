package digitalpost_test

import (
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"digitalpost/internal/infra/config"
)

// There is no Docker engine here, so the compose file is checked by loading it: every
// service is there, and every variable the worker is given is one it reads.
func TestComposeFileLoadsAndWiresTheSystem(t *testing.T) {
	b, err := os.ReadFile("docker-compose.yml")
	if err != nil {
		t.Fatal(err)
	}
	var compose struct {
		Services map[string]struct {
			Image       string            `yaml:"image"`
			Build       any               `yaml:"build"`
			Environment map[string]string `yaml:"environment"`
		} `yaml:"services"`
	}
	if err := yaml.Unmarshal(b, &compose); err != nil {
		t.Fatalf("docker-compose.yml does not load: %v", err)
	}
	for _, name := range []string{"postgres", "temporal-schema", "temporal", "temporal-namespace", "temporal-ui", "codec-server", "worker", "api", "prometheus", "grafana"} {
		if _, ok := compose.Services[name]; !ok {
			t.Errorf("service %s missing", name)
		}
	}
	known := map[string]bool{}
	ct := reflect.TypeOf(config.Config{})
	for i := range ct.NumField() {
		known[ct.Field(i).Tag.Get("envconfig")] = true
	}
	for _, svc := range []string{"worker", "codec-server", "api"} {
		for k := range compose.Services[svc].Environment {
			if !known[k] {
				t.Errorf("%s: %s is not a variable the program reads", svc, k)
			}
		}
	}
	if compose.Services["api"].Environment["SERVE"] != "api" || compose.Services["worker"].Environment["SERVE"] != "worker" {
		t.Error("the api service must run SERVE=api and the worker SERVE=worker")
	}
	if ep := compose.Services["temporal-ui"].Environment["TEMPORAL_CODEC_ENDPOINT"]; !strings.HasSuffix(ep, "/codec") || strings.Contains(ep, "OPERATOR_TOKEN") {
		t.Errorf("the UI's codec endpoint %q must be the operator gate's /codec, with no token in it", ep)
	}
}

// Every variable the program reads is documented in docs/configuration.md with its default,
// in one row across the README and docs/.
func TestEveryVariableIsDocumented(t *testing.T) {
	conf, err := os.ReadFile("docs/configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	pages := docPages(t)
	ct := reflect.TypeOf(config.Config{})
	for i := range ct.NumField() {
		f := ct.Field(i)
		name := f.Tag.Get("envconfig")
		row := variableRow(name).Find(conf)
		if row == nil {
			t.Errorf("docs/configuration.md has no configuration row for %s", name)
			continue
		}
		if def := f.Tag.Get("default"); def != "" && !strings.Contains(string(row), def) {
			t.Errorf("docs/configuration.md's row for %s does not show its default %q", name, def)
		}
		var in []string
		for path, text := range pages {
			for range variableRow(name).FindAllStringIndex(text, -1) {
				in = append(in, path)
			}
		}
		if len(in) != 1 {
			slices.Sort(in)
			t.Errorf("%s has %d configuration rows across README.md and docs/*.md (%v), want exactly one", name, len(in), in)
		}
	}
}

// Temporal in compose is the official server image with its schema applied by a one-shot
// job from the admin tools (not auto-setup, which is for development only), on the shard
// count and dynamic config of production, and its frontend is not reachable from other
// machines.
func TestComposeRunsTemporalFromTheOfficialImages(t *testing.T) {
	b, err := os.ReadFile("docker-compose.yml")
	if err != nil {
		t.Fatal(err)
	}
	type service struct {
		Image       string            `yaml:"image"`
		Environment map[string]string `yaml:"environment"`
		DependsOn   any               `yaml:"depends_on"`
		Command     []string          `yaml:"command"`
		Ports       []string          `yaml:"ports"`
		Volumes     []string          `yaml:"volumes"`
		Restart     string            `yaml:"restart"`
	}
	var compose struct {
		Services map[string]service `yaml:"services"`
	}
	if err := yaml.Unmarshal(b, &compose); err != nil {
		t.Fatalf("docker-compose.yml does not load: %v", err)
	}
	// waitsFor is the condition svc waits for on dep ("" when it does not depend on it).
	waitsFor := func(svc, dep string) string {
		switch d := compose.Services[svc].DependsOn.(type) {
		case []any:
			for _, x := range d {
				if x == dep {
					return "service_started"
				}
			}
		case map[string]any:
			if c, ok := d[dep].(map[string]any); ok {
				cond, _ := c["condition"].(string)
				return cond
			}
		}
		return ""
	}
	for name, s := range compose.Services {
		if strings.Contains(s.Image, "auto-setup") {
			t.Errorf("%s runs %s: auto-setup is for development; use temporalio/server with a schema job", name, s.Image)
		}
	}

	server := compose.Services["temporal"]
	if !regexp.MustCompile(`^temporalio/server:1\.32\.\d+$`).MatchString(server.Image) {
		t.Errorf("temporal runs %q, want temporalio/server:1.32.x", server.Image)
	}
	version := strings.TrimPrefix(server.Image, "temporalio/server:")

	// The schema job: admin tools of the server's version, both databases created and
	// brought to the current schema, and the server starts only once it has succeeded.
	job := compose.Services["temporal-schema"]
	if job.Image != "temporalio/admin-tools:"+version {
		t.Errorf("temporal-schema runs %q, want temporalio/admin-tools:%s (the schema of the server's version)", job.Image, version)
	}
	script := strings.Join(job.Command, " ")
	for _, want := range []string{"temporal-sql-tool", "create-database", "setup-schema -v 0.0", "update-schema",
		"/etc/temporal/schema/postgresql/v12", "temporal_visibility", "visibility", "versioned"} {
		if !strings.Contains(script, want) {
			t.Errorf("temporal-schema's command has no %q", want)
		}
	}
	if job.Environment["SQL_PLUGIN"] != "postgres12" {
		t.Errorf("temporal-schema: SQL_PLUGIN = %q, want postgres12", job.Environment["SQL_PLUGIN"])
	}
	if job.Restart != "no" {
		t.Errorf("temporal-schema: restart %q; a one-shot job must not restart", job.Restart)
	}
	if c := waitsFor("temporal", "temporal-schema"); c != "service_completed_successfully" {
		t.Errorf("temporal waits for temporal-schema with %q, want service_completed_successfully", c)
	}

	// The namespace job, and the workers and the API wait for it.
	ns := compose.Services["temporal-namespace"]
	if ns.Image != "temporalio/admin-tools:"+version || !strings.Contains(strings.Join(ns.Command, " "), "temporal operator namespace create") {
		t.Errorf("temporal-namespace must create the namespace with temporalio/admin-tools:%s", version)
	}
	for _, svc := range []string{"worker", "api"} {
		if c := waitsFor(svc, "temporal-namespace"); c != "service_completed_successfully" {
			t.Errorf("%s waits for temporal-namespace with %q, want service_completed_successfully", svc, c)
		}
		if ns := compose.Services[svc].Environment["TEMPORAL_NAMESPACE"]; !strings.Contains(strings.Join(compose.Services["temporal-namespace"].Command, " "), "-n "+ns) {
			t.Errorf("%s uses namespace %q, which temporal-namespace does not create", svc, ns)
		}
	}

	// Production's shard count and the mounted dynamic config.
	if got := server.Environment["NUM_HISTORY_SHARDS"]; got != "512" {
		t.Errorf("NUM_HISTORY_SHARDS = %q, want 512 as in production", got)
	}
	dc := server.Environment["DYNAMIC_CONFIG_FILE_PATH"]
	if !slices.Contains(server.Volumes, "./deploy/temporal/dynamicconfig.yaml:"+dc+":ro") {
		t.Errorf("deploy/temporal/dynamicconfig.yaml is not mounted read-only at DYNAMIC_CONFIG_FILE_PATH %q (volumes %v)", dc, server.Volumes)
	}
	if server.Environment["DB"] != "postgres12" {
		t.Errorf("temporal: DB = %q, want postgres12", server.Environment["DB"])
	}

	// The frontend is never published beyond this machine's loopback.
	for _, s := range compose.Services {
		for _, p := range s.Ports {
			if strings.HasSuffix(p, ":7233") && !strings.HasPrefix(p, "127.0.0.1:") {
				t.Errorf("port %q publishes Temporal's frontend beyond the loopback", p)
			}
		}
	}
}
