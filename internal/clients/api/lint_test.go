package api_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The OpenAPI document passes an independent linter's recommended rules (Redocly CLI, as
// scripts/install-tools installs it): client generators need every operationId, a structural
// slip in a description would name a property that does not exist, and no warning is waved
// through.
func TestOpenAPIDocumentPassesRedoclysRecommendedRules(t *testing.T) {
	redocly := redoclyCLI(t)
	cmd := exec.Command(redocly, "lint", "--format=json", "openapi.yaml")
	cmd.Env = append(os.Environ(), "REDOCLY_TELEMETRY=off", "REDOCLY_SUPPRESS_UPDATE_NOTICE=true")
	out, _ := cmd.Output() // exit status 1 on errors; the JSON says which
	var report struct {
		Totals   struct{ Errors, Warnings int }
		Problems []struct {
			RuleID   string `json:"ruleId"`
			Severity string
			Message  string
			Location []struct{ Pointer string }
		}
	}
	if err := json.Unmarshal(out, &report); err != nil {
		t.Fatalf("redocly lint answered no report (%v): %s", err, out)
	}
	for _, p := range report.Problems {
		at := ""
		if len(p.Location) > 0 {
			at = p.Location[0].Pointer
		}
		t.Errorf("%s %s at %s: %s", p.Severity, p.RuleID, at, p.Message)
	}
	if report.Totals.Errors+report.Totals.Warnings != len(report.Problems) {
		t.Errorf("totals %+v disagree with %d problems listed", report.Totals, len(report.Problems))
	}
}

func redoclyCLI(t *testing.T) string {
	t.Helper()
	if path, err := exec.LookPath("redocly"); err == nil {
		return path
	}
	gopath, err := exec.Command("go", "env", "GOPATH").Output()
	if err == nil {
		path := filepath.Join(strings.TrimSpace(string(gopath)), "digitalpost-tools", "redocly", "node_modules", ".bin", "redocly")
		if _, err := os.Stat(path); err == nil {
			return path
		}
	}
	t.Fatal("the OpenAPI lint needs Redocly CLI: run scripts/install-tools (npm install @redocly/cli@2.77.0)")
	return ""
}
