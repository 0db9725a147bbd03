package main

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

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
	cmd.RunE = withEngine(func(ctx context.Context, e *engine.Engine) error {
		subs, err := readRun(file, sender, deadline, digitalOnly)
		if err != nil {
			return err
		}
		bar := progressbar.NewOptions(len(subs), progressbar.OptionSetDescription("starting letters"),
			progressbar.OptionSetWriter(os.Stderr), progressbar.OptionShowCount(), progressbar.OptionShowIts(),
			progressbar.OptionThrottle(100*time.Millisecond), progressbar.OptionClearOnFinish())
		o.Progress = func(n int) { _ = bar.Set(n) }
		receipts, err := e.PostOffice.SubmitBulk(ctx, subs, o)
		_ = bar.Finish()
		if err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "%d letters submitted\n", len(receipts))
		for i, r := range receipts {
			fmt.Printf("%s,%s\n", subs[i].MessageID, r.LetterID)
		}
		return nil
	})
	return cmd
}

// readRun reads message_id,to,subject,text rows after a header row.
func readRun(path, sender string, deadline time.Duration, digitalOnly bool) ([]postoffice.Submission, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, &fielderr.Error{Field: "file", Rule: "cannot be read: " + err.Error()}
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.FieldsPerRecord = 4
	header, err := r.Read()
	if err != nil || strings.Join(header, ",") != "message_id,to,subject,text" {
		return nil, &fielderr.Error{Field: "file", Rule: "must start with the header row message_id,to,subject,text"}
	}
	var subs []postoffice.Submission
	for line := 2; ; line++ {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, &fielderr.Error{Field: fmt.Sprintf("file line %d", line), Rule: err.Error()}
		}
		subs = append(subs, postoffice.Submission{SenderID: sender, MessageID: rec[0], RecipientCPR: rec[1],
			Subject: rec[2], Body: rec[3], Deadline: deadline, DigitalOnly: digitalOnly})
	}
	if len(subs) == 0 {
		return nil, &fielderr.Error{Field: "file", Rule: "has no letters"}
	}
	return subs, nil
}
