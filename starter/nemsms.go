package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/google/uuid"
	"github.com/spf13/cobra"

	"digitalpost/internal/desks/postoffice"
	"digitalpost/internal/domain/fielderr"
	"digitalpost/internal/infra/engine"
)

func nemsmsCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "nemsms", Short: "NemSMS: short service messages to citizens who signed up", GroupID: "citizen"}
	var terms, mobile string
	subscribe := &cobra.Command{Use: "subscribe CPR --accept-terms VERSION [--mobile +45…]",
		Short: "Sign a citizen up for NemSMS (their Digital Post mobile unless --mobile); exempt citizens may too", Args: cobra.ExactArgs(1)}
	subscribe.Flags().StringVar(&terms, "accept-terms", "", "the version of the NemSMS terms the citizen accepts (NEMSMS_TERMS_VERSION)")
	subscribe.Flags().StringVar(&mobile, "mobile", "", "a Danish mobile number (+45…); default: the citizen's Digital Post mobile")
	subscribe.RunE = func(cmd *cobra.Command, args []string) error {
		return withEngine(func(ctx context.Context, e *engine.Engine) error {
			sub, err := e.Desk.SubscribeNemSMS(ctx, args[0], terms, mobile)
			if err != nil {
				return err
			}
			fmt.Printf("signed up for NemSMS on %s (terms %s, accepted %s)\n", sub.Mobile, sub.TermsVersion, sub.AcceptedAt.Local().Format(time.DateTime))
			return nil
		})(cmd, args)
	}
	unsubscribe := &cobra.Command{Use: "unsubscribe CPR", Short: "End a citizen's NemSMS subscription", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withEngine(func(ctx context.Context, e *engine.Engine) error {
				if err := e.Desk.UnsubscribeNemSMS(ctx, args[0]); err != nil {
					return err
				}
				fmt.Println("NemSMS subscription ended")
				return nil
			})(cmd, args)
		}}
	var s postoffice.NemSMSSubmission
	send := &cobra.Command{Use: "send --sender ID --to CPR --text TEXT [--message-id M]",
		Short: "Send a NemSMS message (at most 160 characters, nothing sensitive) to a citizen who signed up; prints its id", Args: cobra.NoArgs,
		RunE: withEngine(func(ctx context.Context, e *engine.Engine) error {
			r, err := e.PostOffice.SendNemSMS(ctx, s)
			if err != nil {
				return err
			}
			if r.Duplicate {
				fmt.Fprintln(os.Stderr, "already submitted with this message id; nothing new was sent")
			}
			fmt.Println(r.Message.ID)
			return nil
		})}
	send.Flags().StringVar(&s.SenderID, "sender", "", "sender id")
	send.Flags().StringVar(&s.RecipientCPR, "to", "", "recipient's CPR number")
	send.Flags().StringVar(&s.Text, "text", "", "the message, at most 160 characters")
	send.Flags().StringVar(&s.MessageID, "message-id", "", "your own id; sending it again sends nothing twice")
	show := &cobra.Command{Use: "show MESSAGE_ID", Short: "Show a NemSMS message's state", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := uuid.Parse(args[0])
			if err != nil {
				return &fielderr.Error{Field: "MESSAGE_ID", Rule: "must be a message id as printed by `nemsms send`"}
			}
			return withEngine(func(ctx context.Context, e *engine.Engine) error {
				m, err := e.NemSMS.Message(ctx, id)
				if err != nil {
					return err
				}
				fmt.Printf("message  %s\nsender   %s (%s)\nstatus   %s\ntext     %s\n", m.ID, m.SenderID, m.MessageID, m.Status, m.Body)
				if m.Detail != "" {
					fmt.Printf("detail   %s\n", m.Detail)
				}
				return nil
			})(cmd, args)
		}}
	cmd.AddCommand(subscribe, unsubscribe, send, show)
	return cmd
}

func appointmentCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "appointment", Short: "The appointment a letter calls to", GroupID: "sender"}
	var to string
	move := &cobra.Command{Use: "move LETTER_ID --appointment-at TIME", Short: "Move a letter's appointment; its NemSMS reminder follows", Args: cobra.ExactArgs(1)}
	move.Flags().StringVar(&to, "appointment-at", "", "the new time: 2027-01-12T10:30 (Danish time) or RFC 3339")
	move.RunE = func(cmd *cobra.Command, args []string) error {
		id, err := uuid.Parse(args[0])
		if err != nil {
			return &fielderr.Error{Field: "LETTER_ID", Rule: "must be a letter id as printed by `send`"}
		}
		return withEngine(func(ctx context.Context, e *engine.Engine) error {
			at, err := e.PostOffice.MoveAppointment(ctx, id, to)
			if err != nil {
				return err
			}
			fmt.Printf("appointment moved to %s; the reminder follows\n", at.Local().Format(time.DateTime))
			return nil
		})(cmd, args)
	}
	cmd.AddCommand(move)
	return cmd
}
