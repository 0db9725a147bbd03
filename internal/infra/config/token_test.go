package config_test

import (
	"os"
	"path/filepath"
	"testing"

	"digitalpost/internal/infra/config"
)

func TestOperatorTokenComesFromAFile(t *testing.T) {
	file := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(file, []byte("s3cret-operator-token\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("DEV_DATA_DIR", t.TempDir())
	t.Setenv("OPERATOR_TOKEN", "")
	t.Setenv("OPERATOR_TOKEN_FILE", file)
	cfg, err := config.Load()
	if err != nil || cfg.OperatorToken != "s3cret-operator-token" {
		t.Fatalf("token %q, %v", cfg.OperatorToken, err)
	}
	t.Setenv("OPERATOR_TOKEN_FILE", filepath.Join(t.TempDir(), "missing"))
	if _, err := config.Load(); err == nil {
		t.Fatal("a missing token file went unnoticed")
	}
}
