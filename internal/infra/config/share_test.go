package config_test

import (
	"strings"
	"testing"

	"digitalpost/internal/infra/config"
)

func TestProviderUrgentShareIsAShareUpToHalf(t *testing.T) {
	t.Setenv("DEV_DATA_DIR", t.TempDir())
	for value, ok := range map[string]bool{"0": true, "0.1": true, "0.5": true, "0.6": false, "-0.1": false, "NaN": false} {
		t.Setenv("PROVIDER_URGENT_SHARE", value)
		_, err := config.LoadService()
		switch {
		case ok && err != nil:
			t.Errorf("PROVIDER_URGENT_SHARE=%s refused: %v", value, err)
		case !ok && (err == nil || !strings.Contains(err.Error(), "PROVIDER_URGENT_SHARE")):
			t.Errorf("PROVIDER_URGENT_SHARE=%s: %v, want it refused naming the variable", value, err)
		}
	}
}
