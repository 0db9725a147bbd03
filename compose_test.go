package digitalpost_test

import (
	"os"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"digitalpost/internal/config"
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
	for _, name := range []string{"postgres", "temporal", "temporal-ui", "codec-server", "worker", "api", "prometheus", "grafana"} {
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

// Every variable the program reads is documented in the README with its default.
func TestEveryVariableIsDocumented(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	ct := reflect.TypeOf(config.Config{})
	for i := range ct.NumField() {
		f := ct.Field(i)
		name := f.Tag.Get("envconfig")
		row := regexp.MustCompile("(?m)^\\| `" + name + "` \\|[^|]*\\|.*$").Find(readme)
		if row == nil {
			t.Errorf("README has no configuration row for %s", name)
			continue
		}
		if def := f.Tag.Get("default"); def != "" && !strings.Contains(string(row), def) {
			t.Errorf("README row for %s does not show its default %q", name, def)
		}
	}
}
