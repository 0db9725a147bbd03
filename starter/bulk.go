package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"digitalpost/internal/bulkfile"
	"digitalpost/internal/engine"
	"digitalpost/internal/fielderr"
	"digitalpost/internal/postoffice"
)

func bulkCmd() *cobra.Command {
	var sender, file string
	var deadline time.Duration
	var digitalOnly bool
	var o postoffice.BulkOptions
	cmd := &cobra.Command{
		Use:     "bulk --sender ID --file run.csv",
		Short:   "Send a bulk run from a CSV file (message_id,to,subject,text); all letters or none",
		GroupID: "sender",
		Args:    cobra.NoArgs,
	}
	cmd.Flags().StringVar(&sender, "sender", "", "sender id")
	cmd.Flags().StringVar(&file, "file", "", "CSV with a header row: message_id,to,subject,text")
	cmd.Flags().DurationVar(&deadline, "deadline", 0, "open deadline for every letter (default LETTER_OPEN_DEADLINE)")
	cmd.Flags().BoolVar(&digitalOnly, "digital-only", false, "never escalate these letters to paper")
	cmd.Flags().IntVar(&o.Concurrency, "concurrency", 50, "workflow starts in flight at once")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		// A broken file is refused before anything connects: no system needs to run for that.
		subs, err := readRun(file, postoffice.Submission{SenderID: sender, Deadline: deadline, DigitalOnly: digitalOnly})
		if err != nil {
			return err
		}
		return withEngine(func(ctx context.Context, e *engine.Engine) error { return submitRun(ctx, e, subs, o) })(cmd, args)
	}
	return cmd
}

// submitRun submits a read run with a progress bar and prints message_id,letter_id per letter.
func submitRun(ctx context.Context, e *engine.Engine, subs []postoffice.Submission, o postoffice.BulkOptions) error {
	bar := progressbar.NewOptions(len(subs), progressbar.OptionSetDescription("starting letters"),
		progressbar.OptionSetWriter(os.Stderr), progressbar.OptionShowCount(), progressbar.OptionShowIts(),
		progressbar.OptionThrottle(100*time.Millisecond), progressbar.OptionClearOnFinish())
	started := 0
	o.Progress = func(n int) { started = n; _ = bar.Set(n) }
	receipts, err := e.PostOffice.SubmitBulk(ctx, subs, o)
	_ = bar.Finish()
	if err != nil && receipts != nil {
		// Stored, and some started: the rest start when the file is run again (or when the
		// recovery sweep comes by); nothing is delivered twice either way.
		return fmt.Errorf("%s; %d started before: %w; run the same file again to start the rest",
			summary(receipts), started, err)
	}
	if err != nil {
		return err
	}
	fmt.Fprintln(os.Stderr, summary(receipts))
	for i, r := range receipts {
		fmt.Printf("%s,%s\n", subs[i].MessageID, r.LetterID)
	}
	return nil
}

// summary tells how much of a run is new: running a file again (after an interruption,
// say) finds letters already submitted and delivers them no second time.
func summary(receipts []postoffice.Receipt) string {
	fresh := 0
	for _, r := range receipts {
		if !r.Duplicate {
			fresh++
		}
	}
	return fmt.Sprintf("%d letters: %d new, %d already submitted", len(receipts), fresh, len(receipts)-fresh)
}

// readRun reads a run file (see internal/bulkfile); every letter starts as template.
func readRun(path string, template postoffice.Submission) ([]postoffice.Submission, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, &fielderr.Error{Field: "file", Rule: "cannot be read: " + err.Error()}
	}
	defer f.Close()
	return bulkfile.Read(f, template)
}
