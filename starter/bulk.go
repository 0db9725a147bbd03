package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"digitalpost/internal/desks/postoffice"
	"digitalpost/internal/domain/bulkfile"
	"digitalpost/internal/domain/fielderr"
	"digitalpost/internal/domain/letters"
	"digitalpost/internal/infra/engine"
)

func bulkCmd() *cobra.Command {
	var sender, file string
	var deadline, urgency string
	var digitalOnly, dryRun bool
	var o postoffice.BulkOptions
	cmd := &cobra.Command{
		Use:     "bulk --sender ID --file run.csv",
		Short:   "Send a bulk run from a CSV file (message_id,to,subject,text); all letters or none",
		GroupID: "sender",
		Args:    cobra.NoArgs,
	}
	cmd.Flags().StringVar(&sender, "sender", "", "sender id")
	cmd.Flags().StringVar(&file, "file", "", "CSV with a header row: message_id,to,subject,text")
	cmd.Flags().StringVar(&deadline, "deadline", "", "open deadline for every letter: a duration (72h) or working days (3wd); default LETTER_OPEN_DEADLINE")
	cmd.Flags().BoolVar(&digitalOnly, "digital-only", false, "never escalate these letters to paper")
	cmd.Flags().StringVar(&urgency, "urgency", "bulk", "bulk, or urgent: the run's place in the queues among this sender's own letters (single letters are urgent)")
	cmd.Flags().IntVar(&o.Concurrency, "concurrency", 50, "workflow starts in flight at once")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "validate the file and show what the run would do (channels, paper, postage); write nothing")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		// A broken file is refused before anything connects: no system needs to run for that.
		template := postoffice.Submission{SenderID: sender, DigitalOnly: digitalOnly, Urgency: letters.Urgency(urgency)}
		if err := template.SetDeadline(deadline); err != nil {
			return err
		}
		subs, err := readRun(file, template)
		if err != nil {
			return err
		}
		if dryRun {
			return withEngine(func(ctx context.Context, e *engine.Engine) error { return previewRun(ctx, e, subs) })(cmd, args)
		}
		return withEngine(func(ctx context.Context, e *engine.Engine) error { return submitRun(ctx, e, subs, o) })(cmd, args)
	}
	return cmd
}

// previewRun prints what a run would do, as POST /v1/batches?dry_run=true answers it.
func previewRun(ctx context.Context, e *engine.Engine, subs []postoffice.Submission) error {
	prices, err := postoffice.ParsePostagePrices(e.Config.PostagePrices)
	if err != nil {
		return err
	}
	pv, err := e.PostOffice.PreviewBulk(ctx, subs, prices, e.Config.DefaultOpenedShare)
	if err != nil {
		return err
	}
	fmt.Printf("dry run: nothing was written\n%d letters\n  digital            %d (%d of them to citizens with no notice channel)\n  paper at once      %d\n",
		pv.Letters, pv.Digital, pv.NoNoticeChannel, pv.PaperNow)
	for _, code := range []string{letters.RoutePhysicalOnly, letters.RouteUnder15, letters.RouteExempt, letters.RouteEmigrated} {
		if n := pv.PaperReasons[code]; n > 0 {
			fmt.Printf("    %-16s %d\n", code, n)
		}
	}
	fmt.Printf("  expected on paper after the deadline  %d (opened share %.0f %%: %s)\n", pv.ExpectedEscalations, 100*pv.OpenedShare, pv.OpenedShareBasis)
	for _, p := range pv.Postage {
		fmt.Printf("  postage, %-9s %d letters × %s = %s\n", p.Category, p.PaperLetters, kr(p.PerLetterOre), p.TotalReadable)
	}
	return nil
}

func kr(ore int64) string { return fmt.Sprintf("%d,%02d kr.", ore/100, ore%100) }

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

// readRun reads a run file (see internal/domain/bulkfile); every letter starts as template.
func readRun(path string, template postoffice.Submission) ([]postoffice.Submission, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, &fielderr.Error{Field: "file", Rule: "cannot be read: " + err.Error()}
	}
	defer f.Close()
	return bulkfile.Read(f, template, 0)
}
