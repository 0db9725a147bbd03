package config_test

import (
	"os"
	"testing"

	"digitalpost/internal/infra/config"
)

// unset removes k from the environment for the test.
func unset(t *testing.T, k string) {
	t.Setenv(k, "") // restores the old value when the test ends
	os.Unsetenv(k)
}

// A stray .devdata/dev.env was read by every process, the workers and the API outside -dev
// included: a production worker started in a checkout took the dev payload key beside its
// own database (issue 23, L). Services never read it now; a command run by hand reads it
// only when the environment names no system of its own.
func TestDevEnvIsReadOnlyBesideTheDevRuntime(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("DEV_DATA_DIR", dir)
	devKey := "dev:" + "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
	if err := config.WriteDevEnv(dir, map[string]string{"DATABASE_URL": "postgres://dev", "PAYLOAD_KEYS": devKey, "TEMPORAL_ADDRESS": "127.0.0.1:7999"}); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"DATABASE_URL", "PAYLOAD_KEYS", "TEMPORAL_ADDRESS"} {
		unset(t, k)
	}

	cfg, err := config.Load()
	if err != nil || cfg.PayloadKeys != devKey || cfg.DatabaseURL != "postgres://dev" {
		t.Fatalf("a command beside the dev runtime did not find it: %+v, %v", cfg.DatabaseURL, err)
	}

	for _, k := range []string{"DATABASE_URL", "PAYLOAD_KEYS", "TEMPORAL_ADDRESS"} {
		unset(t, k) // Load put dev.env's values into the environment
	}
	t.Setenv("DATABASE_URL", "postgres://production")
	cfg, err = config.Load()
	if err != nil || cfg.PayloadKeys == devKey || cfg.TemporalAddress == "127.0.0.1:7999" {
		t.Fatalf("a command aimed at another database took the dev runtime's key or Temporal: keys %q, Temporal %q", cfg.PayloadKeys, cfg.TemporalAddress)
	}

	unset(t, "DATABASE_URL")
	cfg, err = config.LoadService()
	if err != nil || cfg.PayloadKeys == devKey || cfg.DatabaseURL == "postgres://dev" {
		t.Fatalf("a service read dev.env: keys %q, database %q", cfg.PayloadKeys, cfg.DatabaseURL)
	}
}
