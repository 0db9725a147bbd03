package main

import (
	"strings"
	"testing"

	"digitalpost/internal/infra/config"
)

// -dev signs anyone in as any citizen or caseworker: it must refuse to listen beyond this
// machine or to run on a database elsewhere (issue 23, M6).
func TestDevRefusesToBeReachableOrToUseAnotherMachinesDatabase(t *testing.T) {
	local := config.Config{HTTPAddr: "127.0.0.1:8080", CodecServerAddr: "127.0.0.1:8234",
		DatabaseURL: "postgres://postgres@127.0.0.1:5432/digitalpost_dev?sslmode=disable"}
	if err := devStaysOnThisMachine(local); err != nil {
		t.Fatalf("the dev defaults: %v", err)
	}
	for name, tc := range map[string]struct {
		change func(*config.Config)
		names  string
	}{
		"all interfaces":       {func(c *config.Config) { c.HTTPAddr = ":8080" }, "HTTP_ADDR"},
		"a public address":     {func(c *config.Config) { c.HTTPAddr = "0.0.0.0:8080" }, "HTTP_ADDR"},
		"codec server outward": {func(c *config.Config) { c.CodecServerAddr = "10.0.0.5:8234" }, "CODEC_SERVER_ADDR"},
		"metrics outward":      {func(c *config.Config) { c.MetricsAddr = "[::]:9090" }, "METRICS_ADDR"},
		"a remote database":    {func(c *config.Config) { c.DatabaseURL = "postgres://app@db.prod.example:5432/digitalpost" }, "db.prod.example"},
	} {
		c := local
		tc.change(&c)
		if err := devStaysOnThisMachine(c); err == nil || !strings.Contains(err.Error(), tc.names) {
			t.Errorf("%s: %v", name, err)
		}
	}
	for _, ok := range []string{"postgres://postgres@localhost/dev", "postgres:///dev?host=/var/run/postgresql", "postgres://postgres@[::1]:5432/dev"} {
		c := local
		c.DatabaseURL = ok
		if err := devStaysOnThisMachine(c); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
}
