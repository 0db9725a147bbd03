package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"digitalpost/internal/adapters/notify"
	"digitalpost/internal/domain/fielderr"
	"digitalpost/internal/infra/engine"
)

func noticesCmd() *cobra.Command {
	var stuck bool
	var olderThan time.Duration
	cmd := &cobra.Command{
		Use:   "notices --stuck [--older-than 1h]",
		Short: "List notices that need an operator: outcome unknown, or still retrying",
		Long: `Lists notices that need an operator.

unknown   a worker died during the provider call, so nobody knows whether the citizen got it.
          It is never resent automatically (that could send it twice) and does not count as
          sent. Look the message up in the provider's own log (Twilio: Messaging logs for the
          citizen's number; SendGrid: Activity feed) and settle it with 'notices resolve'.
          Unsettled, the letter's paper escalation still covers the citizen.
retrying  the provider has been failing for longer than --older-than; Temporal keeps
          retrying until the notice's 48-hour window ends.`,
		GroupID: "operator",
		Args:    cobra.NoArgs,
	}
	cmd.Flags().BoolVar(&stuck, "stuck", false, "list notices that need an operator (the only listing for now)")
	cmd.Flags().DurationVar(&olderThan, "older-than", time.Hour, "how long a notice may be retrying before it is listed")
	cmd.RunE = withEngine(func(ctx context.Context, e *engine.Engine) error {
		if !stuck {
			return &fielderr.Error{Field: "stuck", Rule: "is required: notices --stuck lists the notices that need an operator"}
		}
		list, err := e.Operations.StuckNotices(ctx, olderThan, 500)
		if err != nil {
			return err
		}
		if len(list) == 0 {
			fmt.Println("no stuck notices")
			return nil
		}
		w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "LETTER\tCHANNEL\tPURPOSE\tSTATE\tATTEMPTS\tSINCE\tERROR")
		for _, n := range list {
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%d\t%s\t%s\n", n.LetterID, n.Channel, n.Purpose, n.State, n.Attempts,
				n.UpdatedAt.Local().Format(time.DateTime), n.Error)
		}
		return w.Flush()
	})
	cmd.AddCommand(resolveNoticeCmd())
	return cmd
}

func resolveNoticeCmd() *cobra.Command {
	var channel, operator string
	var sent, notSent bool
	cmd := &cobra.Command{
		Use:   "resolve LETTER_ID --channel sms|email (--sent | --not-sent) [--operator NAME]",
		Short: "Settle an unknown notice after checking the provider's own log",
		Args:  cobra.ExactArgs(1),
	}
	cmd.Flags().StringVar(&channel, "channel", "", "sms or email")
	cmd.Flags().BoolVar(&sent, "sent", false, "the provider's log shows the message: the letter counts as notified")
	cmd.Flags().BoolVar(&notSent, "not-sent", false, "the provider's log has no such message: record it as not sent")
	cmd.Flags().StringVar(&operator, "operator", os.Getenv("USER"), "who settled it (kept with the notice)")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		id, err := parseLetterID(args[0])
		if err != nil {
			return err
		}
		var errs fielderr.List
		ch := notify.Channel(channel)
		if ch != notify.SMS && ch != notify.Email {
			errs.Add("channel", "must be sms or email")
		}
		if sent == notSent {
			errs.Add("sent", "give exactly one of --sent and --not-sent")
		}
		if err := errs.Err(); err != nil {
			return err
		}
		return withEngine(func(ctx context.Context, e *engine.Engine) error {
			err := e.Operations.ResolveNotice(ctx, id, ch, sent, operator)
			if errors.Is(err, notify.ErrNotUnknown) {
				return &fielderr.Error{Field: "letter", Rule: "has no unknown " + channel + " notice to settle"}
			}
			if err != nil {
				return err
			}
			fmt.Printf("%s notice of letter %s settled as %s\n", ch, id, map[bool]string{true: "sent", false: "not sent"}[sent])
			return nil
		})(cmd, args)
	}
	return cmd
}
