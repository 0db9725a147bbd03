package workflows

import (
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"
)

// TestRecordedHistoriesReplay replays histories recorded from real runs (decrypted, in
// testdata/histories) against the current workflow code. A change that would break
// running workflows fails here: guard such changes with workflow.GetVersion.
// Record a new one with: go run ./starter history LETTER_ID --json > workflows/testdata/histories/NAME.json
func TestRecordedHistoriesReplay(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "histories", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	// Every workflow type must have recorded histories, or this guard silently guards nothing.
	for _, prefix := range []string{"letter-", "exemption-", "reading-access-", "nemsms-"} {
		if !anyHasPrefix(files, prefix) {
			t.Fatalf("no recorded %s… histories in testdata/histories", prefix)
		}
	}
	logger := log.NewStructuredLogger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			r := worker.NewWorkflowReplayer()
			r.RegisterWorkflow(LetterWorkflow)
			r.RegisterWorkflow(ExemptionCaseWorkflow)
			r.RegisterWorkflow(ReadingAccessWorkflow)
			r.RegisterWorkflow(NemSMSWorkflow)
			if err := r.ReplayWorkflowHistoryFromJSONFile(logger, f); err != nil {
				t.Fatalf("replay %s: %v", f, err)
			}
		})
	}
}

func anyHasPrefix(files []string, prefix string) bool {
	for _, f := range files {
		if strings.HasPrefix(filepath.Base(f), prefix) {
			return true
		}
	}
	return false
}
