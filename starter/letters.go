package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/google/uuid"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"digitalpost/internal/clients/sendersapi"
	"digitalpost/internal/desks/postoffice"
	"digitalpost/internal/domain/fielderr"
	"digitalpost/internal/infra/engine"
)

func sendCmd() *cobra.Command {
	var sender string
	var r sendersapi.LetterRequest
	var files []string
	cmd := &cobra.Command{
		Use:     "send --to CPR --subject TEXT (--text TEXT | --file letter.pdf …) [--sender ID]",
		Short:   "Send a letter through the senders' API; prints its letter id",
		GroupID: "sender",
		Args:    cobra.NoArgs,
	}
	f := cmd.Flags()
	senderFlag(f, &sender)
	f.StringVar(&r.RecipientCPR, "to", "", "recipient's CPR number, DDMMYY-SSSS")
	f.StringVar(&r.Subject, "subject", "", "subject line")
	f.StringVar(&r.Text, "text", "", "letter text")
	f.StringArrayVar(&files, "file", nil, "a document to enclose (PDF unless --digital-only); repeatable")
	f.StringVar(&r.MessageID, "message-id", "", "your own id for this letter; sending it again returns the same letter (default: a new one)")
	f.BoolVar(&r.PhysicalOnly, "physical-only", false, "always send on paper (e.g. an enclosed sample tube)")
	f.BoolVar(&r.DigitalOnly, "digital-only", false, "never escalate to paper")
	f.StringVar(&r.Deadline, "deadline", "", "how long the letter may stay unopened before it goes to paper: a duration (72h) or Danish working days (3wd); default LETTER_OPEN_DEADLINE, 72h")
	f.StringVar(&r.DeliverAt, "deliver-at", "", "deliver later, at this time: 2026-12-24T09:00 (Danish time) or RFC 3339; the deadline runs from then")
	f.StringVar(&r.AppointmentAt, "appointment-at", "", "the letter calls to an appointment at this time; a NemSMS reminder goes out before it to a citizen who signed up")
	f.StringVar(&r.Urgency, "urgency", "", "urgent (the default of a single letter) or bulk: its place in the queues among this sender's own letters")
	f.StringVar(&r.PostalCategory, "postal-category", "", "how it goes on paper: economy (default), priority, registered or registered_proof")
	var replies string
	f.StringVar(&replies, "replies", "", "true: the citizen may answer the letter from the mailbox; false: not; default the sender's (starter sender replies)")
	f.StringVar(&r.ReplyBy, "reply-by", "", "no reply after this time: 2026-12-24T09:00 (Danish time) or RFC 3339")
	f.StringVar(&r.ReplyContactPoint, "contact-point", "", "the contact point replies go to (starter sender contact-point list)")
	f.StringVar(&r.InReplyTo, "in-reply-to", "", "the id of the citizen's reply or message this letter answers (starter messages list)")
	send := withSenderAPI(&sender, func(ctx context.Context, api *sendersapi.Client) error {
		for i, path := range files {
			b, err := os.ReadFile(path)
			if err != nil {
				return &fielderr.Error{Field: fmt.Sprintf("file %d", i+1), Rule: "cannot be read: " + err.Error()}
			}
			r.Documents = append(r.Documents, sendersapi.NewDocument(filepath.Base(path), "", b))
		}
		if r.MessageID == "" {
			r.MessageID = "cli-" + uuid.NewString()
		}
		sent, err := api.SendLetter(ctx, r)
		if err != nil {
			return err
		}
		if sent.Duplicate {
			fmt.Fprintln(os.Stderr, "already submitted with this message id; nothing new was sent")
		}
		fmt.Println(sent.ID)
		return nil
	})
	// Times that do not parse are refused before anything connects, by the post office's rules.
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		var check postoffice.Submission
		if err := errors.Join(check.SetDeadline(r.Deadline), check.SetDeliverAt(r.DeliverAt), check.SetAppointmentAt(r.AppointmentAt),
			check.SetReplyBy(r.ReplyBy), check.SetInReplyTo(r.InReplyTo)); err != nil {
			return err
		}
		if replies != "" {
			on, err := strconv.ParseBool(replies)
			if err != nil {
				return &fielderr.Error{Field: "replies", Rule: "must be true or false"}
			}
			r.RepliesAllowed = &on
		}
		return send(cmd, args)
	}
	return cmd
}

// senderFlag is --sender: which sender a command acts as beside the dev runtime; elsewhere the
// key in DIGITALPOST_API_KEY decides.
func senderFlag(f *pflag.FlagSet, sender *string) {
	f.StringVar(sender, "sender", "", "beside `worker -dev`: the sender to act as (see `starter seed`); elsewhere DIGITALPOST_API_KEY decides")
}

func parseLetterID(s string) (uuid.UUID, error) {
	id, err := uuid.Parse(s)
	if err != nil {
		return id, &fielderr.Error{Field: "LETTER_ID", Rule: "must be a letter id as printed by `starter send`"}
	}
	return id, nil
}

// letterArg is the LETTER_ID argument, refused before anything connects when it is no id.
func letterArg(args []string) (string, error) {
	id, err := parseLetterID(args[0])
	return id.String(), err
}

func statusCmd() *cobra.Command {
	var sender string
	var asJSON bool
	cmd := &cobra.Command{
		Use:     "status LETTER_ID [--json]",
		Short:   "Show where a letter is, with its notices, print jobs and timeline (the API's view)",
		GroupID: "sender",
		Args:    cobra.ExactArgs(1),
	}
	senderFlag(cmd.Flags(), &sender)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the API's JSON")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		id, err := letterArg(args)
		if err != nil {
			return err
		}
		return withLetterAPI(&sender, id, func(ctx context.Context, api *sendersapi.Client) error {
			l, err := api.Letter(ctx, id)
			if err != nil {
				return err
			}
			if asJSON {
				enc := json.NewEncoder(os.Stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(l)
			}
			printLetter(l)
			return nil
		})(cmd, args)
	}
	return cmd
}

// printLetter shows a letter as `status` does.
func printLetter(l sendersapi.Letter) {
	fmt.Printf("letter   %s\nstatus   %s\nchannel  %s\n", l.ID, l.Status, orDash(l.Channel))
	if l.LegalDeliveryAt != nil {
		fmt.Printf("arrived  %s (legal delivery: in the mailbox, opened or not)\n", l.LegalDeliveryAt.Local().Format(time.DateTime))
	}
	if l.FailureReason != "" {
		fmt.Printf("reason   %s\n", l.FailureReason)
	}
	if l.Replies.Allowed {
		by := ""
		if l.Replies.ReplyBy != nil {
			by = ", by " + l.Replies.ReplyBy.Local().Format(time.DateTime)
		}
		fmt.Printf("replies  allowed, to %s%s\n", orDash(l.Replies.ContactPoint), by)
	}
	if l.InReplyTo != "" {
		fmt.Printf("answers  message %s\n", l.InReplyTo)
	}
	for _, m := range l.ReceivedReplies {
		fmt.Printf("reply    %s %s: %s (%d files)\n", m.ID, m.CreatedAt.Local().Format(time.DateTime), m.Subject, len(m.Attachments))
	}
	for _, n := range l.Notices {
		fmt.Printf("notice   %s %s: %s (%d attempts)\n", n.Channel, n.Purpose, n.State, n.Attempts)
	}
	for _, j := range l.PrintJobs {
		fmt.Printf("print    %s (%s): %s, %s, %d pages\n", j.JobID, j.Reason, j.Outcome, j.PostalCategory, j.Pages)
	}
	_ = printTimeline(l.Timeline, func(e sendersapi.Event) (time.Time, string, string) {
		note := e.Channel
		if e.Reason != "" {
			note = strings.TrimSpace(note + " " + e.Reason)
		}
		if e.CitizenMessageID != "" { // a citizen's reply: no change of status
			return e.At, strings.TrimPrefix(e.Type, "letter."), "message " + e.CitizenMessageID
		}
		if e.Status == "" { // a failed notice
			return e.At, strings.TrimPrefix(e.Type, "letter."), note
		}
		return e.At, e.Status, note
	})
}

func withdrawCmd() *cobra.Command {
	var sender, reason string
	cmd := &cobra.Command{
		Use:     "withdraw LETTER_ID [--reason TEXT]",
		Short:   "Withdraw a letter that is not yet opened or printed",
		GroupID: "sender",
		Args:    cobra.ExactArgs(1),
	}
	senderFlag(cmd.Flags(), &sender)
	cmd.Flags().StringVar(&reason, "reason", "withdrawn by the sender", "why (kept in the letter's timeline)")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		id, err := letterArg(args)
		if err != nil {
			return err
		}
		return withLetterAPI(&sender, id, func(ctx context.Context, api *sendersapi.Client) error {
			l, err := api.Withdraw(ctx, id, reason)
			if err != nil {
				return err
			}
			fmt.Printf("letter %s is %s\n", l.ID, l.Status)
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
		return asPerson(func(ctx context.Context, e *engine.Engine) error {
			rd, err := e.PostOffice.ReadAs(ctx, id, as)
			if err != nil {
				return err
			}
			fmt.Printf("From:    %s\nSubject: %s\nOpened:  %s\n\n%s\n", rd.Organisation, rd.Letter.Subject,
				rd.Entry.OpenedAt.Local().Format(time.DateTime), rd.Letter.Body)
			for _, d := range rd.Documents {
				fmt.Printf("[document: %s, %d bytes]\n", d.Filename, len(d.Content))
			}
			return nil
		})(cmd, args)
	}
	return cmd
}

func lettersCmd() *cobra.Command {
	var sender, status string
	var limit int
	cmd := &cobra.Command{
		Use:     "letters [--status S] [--limit N]",
		Short:   "List the sender's letters, newest first",
		GroupID: "sender",
		Args:    cobra.NoArgs,
	}
	senderFlag(cmd.Flags(), &sender)
	cmd.Flags().StringVar(&status, "status", "", "received, delivered, notified, opened, escalated, printed, withdrawn or failed")
	cmd.Flags().IntVar(&limit, "limit", 50, "at most this many (up to 1000)")
	cmd.RunE = withSenderAPI(&sender, func(ctx context.Context, api *sendersapi.Client) error {
		page, err := api.Letters(ctx, status, limit, "")
		if err != nil {
			return err
		}
		w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "LETTER\tMESSAGE\tSTATUS\tCHANNEL\tUPDATED\tSUBJECT")
		for _, l := range page.Letters {
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", l.ID, l.MessageID, l.Status, orDash(l.Channel),
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
