package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"digitalpost/internal/clients/sendersapi"
	"digitalpost/internal/desks/postoffice"
	"digitalpost/internal/domain/bulkfile"
	"digitalpost/internal/domain/fielderr"
	"digitalpost/internal/domain/letters"
)

func bulkCmd() *cobra.Command {
	var sender, file string
	var deadline, urgency string
	var digitalOnly, dryRun bool
	cmd := &cobra.Command{
		Use:     "bulk --file run.csv [--sender ID]",
		Short:   "Send a bulk run from a CSV file (message_id,to,subject,text) as one batch of the senders' API; all letters or none",
		GroupID: "sender",
		Args:    cobra.NoArgs,
	}
	senderFlag(cmd.Flags(), &sender)
	cmd.Flags().StringVar(&file, "file", "", "CSV with a header row: message_id,to,subject,text")
	cmd.Flags().StringVar(&deadline, "deadline", "", "open deadline for every letter: a duration (72h) or working days (3wd); default LETTER_OPEN_DEADLINE")
	cmd.Flags().BoolVar(&digitalOnly, "digital-only", false, "never escalate these letters to paper")
	cmd.Flags().StringVar(&urgency, "urgency", "bulk", "bulk, or urgent: the run's place in the queues among this sender's own letters (single letters are urgent)")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "validate the file and show what the run would do (channels, paper, postage); write nothing")
	var replies, replyBy, contactPoint string
	cmd.Flags().StringVar(&replies, "replies", "", "true: citizens may answer these letters from the mailbox; false: not; default the sender's")
	cmd.Flags().StringVar(&replyBy, "reply-by", "", "no reply after this time: 2026-12-24T09:00 (Danish time) or RFC 3339")
	cmd.Flags().StringVar(&contactPoint, "contact-point", "", "the contact point replies go to")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		// A broken file is refused before anything connects: no system needs to run for that.
		template := postoffice.Submission{DigitalOnly: digitalOnly, Urgency: letters.Urgency(urgency)}
		if err := errors.Join(template.SetDeadline(deadline), template.SetReplyBy(replyBy)); err != nil {
			return err
		}
		var allowed *bool
		if replies != "" {
			on, err := strconv.ParseBool(replies)
			if err != nil {
				return &fielderr.Error{Field: "replies", Rule: "must be true or false"}
			}
			allowed = &on
		}
		subs, err := readRun(file, template)
		if err != nil {
			return err
		}
		run := make([]sendersapi.LetterRequest, len(subs))
		for i, s := range subs {
			run[i] = sendersapi.LetterRequest{MessageID: s.MessageID, RecipientCPR: s.RecipientCPR, Subject: s.Subject, Text: s.Body,
				DigitalOnly: s.DigitalOnly, RepliesAllowed: allowed, ReplyBy: replyBy, ReplyContactPoint: contactPoint}
		}
		o := sendersapi.BatchOptions{Deadline: deadline, Urgency: urgency}
		return withSenderAPI(&sender, func(ctx context.Context, api *sendersapi.Client) error {
			if dryRun {
				p, err := api.PreviewBatch(ctx, run, o)
				if err != nil {
					return err
				}
				printPreview(p)
				return nil
			}
			b, err := api.SubmitBatch(ctx, run, o)
			if err != nil {
				return err
			}
			fmt.Fprintln(os.Stderr, summary(b))
			fmt.Println(b.BatchID)
			return followBatch(ctx, api, b)
		})(cmd, args)
	}
	return cmd
}

// printPreview prints what a run would do, as POST /v1/batches?dry_run=true answers it.
func printPreview(pv sendersapi.Preview) {
	fmt.Printf("dry run: nothing was written\n%d letters\n  digital            %d (%d of them to citizens with no notice channel)\n  paper at once      %d\n",
		pv.Letters, pv.Digital, pv.NoNoticeChannel, pv.PaperNow)
	for _, code := range []string{letters.RoutePhysicalOnly, letters.RouteUnder15, letters.RouteExempt, letters.RouteEmigrated} {
		if n := pv.PaperReasons[code]; n > 0 {
			fmt.Printf("    %-16s %d\n", code, n)
		}
	}
	fmt.Printf("  expected on paper after the deadline  %d (opened share %.0f %%: %s)\n", pv.ExpectedEscalations, 100*pv.OpenedShare, pv.OpenedShareBasis)
	for _, p := range pv.Postage {
		fmt.Printf("  postage, %-9s %d letters × %s = %s\n", p.Category, p.PaperLetters, kr(p.PerLetterOre), p.Total)
	}
}

func kr(ore int64) string { return fmt.Sprintf("%d,%02d kr.", ore/100, ore%100) }

// followBatch shows the run's letters leaving "received" (stored, not yet on their way) until
// every one has, or the command is interrupted: the run goes on either way.
func followBatch(ctx context.Context, api *sendersapi.Client, b sendersapi.Batch) error {
	bar := progressbar.NewOptions(b.Letters, progressbar.OptionSetDescription("letters on their way"),
		progressbar.OptionSetWriter(os.Stderr), progressbar.OptionShowCount(), progressbar.OptionShowIts(),
		progressbar.OptionThrottle(100*time.Millisecond), progressbar.OptionClearOnFinish())
	defer bar.Finish()
	for {
		p, err := api.BatchProgress(ctx, b.BatchID)
		if err != nil {
			return err
		}
		onTheirWay := p.Letters - p.ByStatus[string(letters.Received)]
		_ = bar.Set(onTheirWay)
		if onTheirWay >= p.Letters {
			return nil
		}
		select {
		case <-ctx.Done():
			fmt.Fprintf(os.Stderr, "\nstopped following; the batch goes on (GET /v1/batches/%s)\n", b.BatchID)
			return nil
		case <-time.After(time.Second):
		}
	}
}

// summary tells how much of a run is new: running a file again (after an interruption,
// say) finds letters already submitted and delivers them no second time.
func summary(b sendersapi.Batch) string {
	return fmt.Sprintf("%d letters: %d new, %d already submitted (batch %s)", b.Letters, b.New, b.AlreadySubmitted, b.BatchID)
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
