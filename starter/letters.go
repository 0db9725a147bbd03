package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"text/tabwriter"
	"time"

	"github.com/google/uuid"
	"github.com/spf13/cobra"

	"digitalpost/internal/adapters/notify"
	"digitalpost/internal/adapters/print"
	"digitalpost/internal/adapters/printhouse"
	"digitalpost/internal/desks/postoffice"
	"digitalpost/internal/domain/fielderr"
	"digitalpost/internal/domain/letters"
	"digitalpost/internal/infra/engine"
	"digitalpost/workflows"
)

func sendCmd() *cobra.Command {
	var s postoffice.Submission
	var files []string
	cmd := &cobra.Command{
		Use:     "send --sender ID --to CPR --subject TEXT (--text TEXT | --file letter.pdf …)",
		Short:   "Send a letter; prints its letter id",
		GroupID: "sender",
		Args:    cobra.NoArgs,
	}
	f := cmd.Flags()
	f.StringVar(&s.SenderID, "sender", "", "sender id (see `starter seed` for demo senders)")
	f.StringVar(&s.RecipientCPR, "to", "", "recipient's CPR number, DDMMYY-SSSS")
	f.StringVar(&s.Subject, "subject", "", "subject line")
	f.StringVar(&s.Body, "text", "", "letter text")
	f.StringArrayVar(&files, "file", nil, "a document to enclose (PDF unless --digital-only); repeatable")
	f.StringVar(&s.MessageID, "message-id", "", "your own id for this letter; sending it again returns the same letter")
	f.BoolVar(&s.PhysicalOnly, "physical-only", false, "always send on paper (e.g. an enclosed sample tube)")
	f.BoolVar(&s.DigitalOnly, "digital-only", false, "never escalate to paper")
	var deadline, deliverAt, appointmentAt string
	f.StringVar(&deadline, "deadline", "", "how long the letter may stay unopened before it goes to paper: a duration (72h) or Danish working days (3wd); default LETTER_OPEN_DEADLINE, 72h")
	f.StringVar(&deliverAt, "deliver-at", "", "deliver later, at this time: 2026-12-24T09:00 (Danish time) or RFC 3339; the deadline runs from then")
	f.StringVar(&appointmentAt, "appointment-at", "", "the letter calls to an appointment at this time; a NemSMS reminder goes out before it to a citizen who signed up")
	f.StringVar((*string)(&s.Urgency), "urgency", "", "urgent (the default of a single letter) or bulk: its place in the queues among this sender's own letters")
	f.StringVar(&s.PostalCategory, "postal-category", "", "how it goes on paper: economy (default), priority, registered or registered_proof")
	send := withEngine(func(ctx context.Context, e *engine.Engine) error {
		for i, path := range files {
			b, err := os.ReadFile(path)
			if err != nil {
				return &fielderr.Error{Field: fmt.Sprintf("file %d", i+1), Rule: "cannot be read: " + err.Error()}
			}
			s.Documents = append(s.Documents, letters.Document{Filename: filepath.Base(path), Content: b})
		}
		r, err := e.PostOffice.Submit(ctx, s)
		if err != nil {
			return err
		}
		if r.Duplicate {
			fmt.Fprintln(os.Stderr, "already submitted with this message id; nothing new was sent")
		}
		fmt.Println(r.LetterID)
		return nil
	})
	// A deadline that does not parse is refused before anything connects.
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if err := s.SetDeadline(deadline); err != nil {
			return err
		}
		if err := s.SetDeliverAt(deliverAt); err != nil {
			return err
		}
		if err := s.SetAppointmentAt(appointmentAt); err != nil {
			return err
		}
		return send(cmd, args)
	}
	return cmd
}

// statusJSON is `status --json`: everything the text form shows, in snake_case.
type statusJSON struct {
	LetterID      string         `json:"letter_id"`
	Status        string         `json:"status"`
	Channel       string         `json:"channel"`
	FailureReason string         `json:"failure_reason,omitempty"`
	Notices       []noticeJSON   `json:"notices"`
	PrintJobs     []printJobJSON `json:"print_jobs"`
	Receipts      []receiptJSON  `json:"receipts"`
	Timeline      []timelineJSON `json:"timeline"`
}

type noticeJSON struct {
	Channel    string `json:"channel"`
	Purpose    string `json:"purpose"`
	State      string `json:"state"`
	Attempts   int    `json:"attempts"`
	ProviderID string `json:"provider_id,omitempty"`
	Error      string `json:"error,omitempty"`
}

type printJobJSON struct {
	JobID   string `json:"job_id"`
	Purpose string `json:"purpose"`
	Reason  string `json:"reason"`
	Outcome string `json:"outcome"`
	Pages   int    `json:"pages"`
	PDFPath string `json:"pdf_path"`
	Postal  string `json:"postal_category"`
}

type receiptJSON struct {
	JobID   string    `json:"job_id"`
	Outcome string    `json:"outcome"`
	Reason  string    `json:"reason,omitempty"`
	At      time.Time `json:"at"`
	Effect  string    `json:"effect"`
	Source  string    `json:"source"`
}

type timelineJSON struct {
	At     time.Time `json:"at"`
	Status string    `json:"status"`
	Note   string    `json:"note,omitempty"`
}

func statusView(st workflows.LetterState, notices []notify.Record, jobs []print.Record, receipts []printhouse.Record) statusJSON {
	v := statusJSON{LetterID: st.LetterID.String(), Status: string(st.Status), Channel: string(st.Channel),
		FailureReason: st.FailureReason, Notices: []noticeJSON{}, PrintJobs: []printJobJSON{}, Timeline: []timelineJSON{}}
	for _, n := range notices {
		v.Notices = append(v.Notices, noticeJSON{Channel: string(n.Channel), Purpose: string(n.Purpose), State: n.State,
			Attempts: n.Attempts, ProviderID: n.ProviderID, Error: n.Error})
	}
	for _, j := range jobs {
		v.PrintJobs = append(v.PrintJobs, printJobJSON{JobID: j.JobID, Purpose: string(j.Purpose), Reason: j.Reason,
			Outcome: j.Outcome, Pages: j.Pages, PDFPath: j.PDFPath, Postal: j.PostalCategory})
	}
	for _, t := range st.Timeline {
		v.Timeline = append(v.Timeline, timelineJSON{At: t.At, Status: string(t.Status), Note: t.Note})
	}
	v.Receipts = []receiptJSON{}
	for _, r := range receipts {
		v.Receipts = append(v.Receipts, receiptJSON{JobID: r.JobID, Outcome: r.Outcome, Reason: r.Reason, At: r.At,
			Effect: string(r.Effect), Source: r.Source})
	}
	return v
}

func parseLetterID(s string) (uuid.UUID, error) {
	id, err := uuid.Parse(s)
	if err != nil {
		return id, &fielderr.Error{Field: "LETTER_ID", Rule: "must be a letter id as printed by `starter send`"}
	}
	return id, nil
}

func statusCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:     "status LETTER_ID [--json]",
		Short:   "Show where a letter is, with its timeline",
		GroupID: "sender",
		Args:    cobra.ExactArgs(1),
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		id, err := parseLetterID(args[0])
		if err != nil {
			return err
		}
		return withEngine(func(ctx context.Context, e *engine.Engine) error {
			st, err := e.PostOffice.Status(ctx, id)
			if err != nil {
				return err
			}
			notices, err := e.Notices.ForLetter(ctx, id)
			if err != nil {
				return err
			}
			jobs, err := e.PrintJobs.ForLetter(ctx, id)
			if err != nil {
				return err
			}
			receipts, err := e.Receipts.ForLetter(ctx, id)
			if err != nil {
				return err
			}
			if asJSON {
				enc := json.NewEncoder(os.Stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(statusView(st, notices, jobs, receipts))
			}
			fmt.Printf("letter   %s\nstatus   %s\nchannel  %s\n", st.LetterID, st.Status, orDash(string(st.Channel)))
			if st.FailureReason != "" {
				fmt.Printf("reason   %s\n", st.FailureReason)
			}
			for _, n := range notices {
				fmt.Printf("notice   %s %s: %s %s\n", n.Channel, n.Purpose, n.State, n.ProviderID)
			}
			for _, j := range jobs {
				fmt.Printf("print    %s (%s): %s, %s, %d pages, %s\n", j.JobID, j.Reason, j.Outcome, j.PostalCategory, j.Pages, j.PDFPath)
			}
			for _, r := range receipts {
				fmt.Printf("receipt  %s %s: %s (%s)\n", r.At.Local().Format(time.DateTime), r.JobID, r.Describe(), r.Source)
			}
			return printTimeline(st.Timeline, func(t workflows.TimelineEntry) (time.Time, string, string) {
				return t.At, string(t.Status), t.Note
			})
		})(cmd, args)
	}
	return cmd
}

func withdrawCmd() *cobra.Command {
	var reason string
	cmd := &cobra.Command{
		Use:     "withdraw LETTER_ID [--reason TEXT]",
		Short:   "Withdraw a letter that is not yet opened or printed",
		GroupID: "sender",
		Args:    cobra.ExactArgs(1),
	}
	cmd.Flags().StringVar(&reason, "reason", "withdrawn by the sender", "why (kept in the letter's timeline)")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		id, err := parseLetterID(args[0])
		if err != nil {
			return err
		}
		return withEngine(func(ctx context.Context, e *engine.Engine) error {
			st, err := e.PostOffice.Withdraw(ctx, id, reason)
			if err != nil {
				return err
			}
			fmt.Printf("letter %s is %s\n", st.LetterID, st.Status)
			return nil
		})(cmd, args)
	}
	return cmd
}

func openCmd() *cobra.Command {
	var as string
	cmd := &cobra.Command{
		Use:     "open LETTER_ID --as CPR",
		Short:   "Open a letter in the mailbox, as the citizen (or a delegate) reading it",
		GroupID: "citizen",
		Args:    cobra.ExactArgs(1),
	}
	cmd.Flags().StringVar(&as, "as", "", "CPR number of the reader")
	_ = cmd.MarkFlagRequired("as")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		id, err := parseLetterID(args[0])
		if err != nil {
			return err
		}
		return withEngine(func(ctx context.Context, e *engine.Engine) error {
			entry, err := e.PostOffice.Open(ctx, id, as)
			if err != nil {
				return err
			}
			l, err := e.Letters.Get(ctx, id)
			if err != nil {
				return err
			}
			sender, err := e.Registry.Sender(ctx, l.SenderID)
			if err != nil {
				return err
			}
			fmt.Printf("From:    %s\nSubject: %s\nOpened:  %s\n\n%s\n", sender.Organisation, l.Subject,
				entry.OpenedAt.Local().Format(time.DateTime), l.Body)
			docs, err := e.Letters.Documents(ctx, id)
			if err != nil {
				return err
			}
			for _, d := range docs {
				fmt.Printf("[document: %s, %d bytes]\n", d.Filename, len(d.Content))
			}
			return nil
		})(cmd, args)
	}
	return cmd
}

func lettersCmd() *cobra.Command {
	var f letters.Filter
	var status string
	cmd := &cobra.Command{
		Use:     "letters [--status S] [--sender ID]",
		Short:   "List letters from PostgreSQL, newest first",
		GroupID: "operator",
		Args:    cobra.NoArgs,
	}
	cmd.Flags().StringVar(&status, "status", "", "received, delivered, notified, opened, escalated, printed, withdrawn or failed")
	cmd.Flags().StringVar(&f.SenderID, "sender", "", "sender id")
	cmd.Flags().IntVar(&f.Limit, "limit", 50, "at most this many")
	cmd.RunE = withEngine(func(ctx context.Context, e *engine.Engine) error {
		f.Status = letters.Status(status)
		list, err := e.Letters.List(ctx, f)
		if err != nil {
			return err
		}
		w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "LETTER\tSENDER\tSTATUS\tCHANNEL\tUPDATED\tSUBJECT")
		for _, l := range list {
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", l.ID, l.SenderID, l.Status, orDash(string(l.Channel)),
				l.UpdatedAt.Local().Format(time.DateTime), l.Subject)
		}
		return w.Flush()
	})
	return cmd
}

// printTimeline prints a letter's or a case's timeline as a table.
func printTimeline[E any](entries []E, row func(E) (at time.Time, status, note string)) error {
	w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "\nWHEN\tSTATUS\tWHAT")
	for _, e := range entries {
		at, status, note := row(e)
		fmt.Fprintf(w, "%s\t%s\t%s\n", at.Local().Format(time.DateTime), status, note)
	}
	return w.Flush()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
