package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/google/uuid"
	"github.com/spf13/cobra"

	"digitalpost/internal/clients/sendersapi"
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
		return asPerson(func(ctx context.Context, e *engine.Engine) error {
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
			return asPerson(func(ctx context.Context, e *engine.Engine) error {
				if err := e.Desk.UnsubscribeNemSMS(ctx, args[0]); err != nil {
					return err
				}
				fmt.Println("NemSMS subscription ended")
				return nil
			})(cmd, args)
		}}
	var sender, to, text, messageID string
	send := &cobra.Command{Use: "send --to CPR --text TEXT [--message-id M] [--sender ID]",
		Short: "Send a NemSMS message (one SMS: 160 GSM characters or 70 with any other character; nothing sensitive) through the senders' API to a citizen who signed up; prints its id", Args: cobra.NoArgs,
		RunE: withSenderAPI(&sender, func(ctx context.Context, api *sendersapi.Client) error {
			if messageID == "" {
				messageID = "cli-" + uuid.NewString()
			}
			m, err := api.SendNemSMS(ctx, messageID, to, text)
			if err != nil {
				return err
			}
			if m.Duplicate {
				fmt.Fprintln(os.Stderr, "already submitted with this message id; nothing new was sent")
			}
			fmt.Println(m.ID)
			return nil
		})}
	senderFlag(send.Flags(), &sender)
	send.Flags().StringVar(&to, "to", "", "recipient's CPR number")
	send.Flags().StringVar(&text, "text", "", "the message: one SMS as the phone counts it (160 GSM characters; 70 if any character is outside the GSM alphabet)")
	send.Flags().StringVar(&messageID, "message-id", "", "your own id; sending it again sends nothing twice (default: a new one)")
	show := &cobra.Command{Use: "show MESSAGE_ID", Short: "Show one of the sender's NemSMS messages", Args: cobra.ExactArgs(1)}
	senderFlag(show.Flags(), &sender)
	show.RunE = func(cmd *cobra.Command, args []string) error {
		id, err := uuid.Parse(args[0])
		if err != nil {
			return &fielderr.Error{Field: "MESSAGE_ID", Rule: "must be a message id as printed by `nemsms send`"}
		}
		return withSenderAPI(&sender, func(ctx context.Context, api *sendersapi.Client) error {
			m, err := api.NemSMSMessage(ctx, id.String())
			if err != nil {
				return err
			}
			fmt.Printf("message  %s\nyours    %s\nstatus   %s\ntext     %s\n", m.ID, m.MessageID, m.Status, m.Text)
			if m.Detail != "" {
				fmt.Printf("detail   %s\n", m.Detail)
			}
			return nil
		})(cmd, args)
	}
	cmd.AddCommand(subscribe, unsubscribe, send, show)
	return cmd
}

func appointmentCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "appointment", Short: "The appointment a letter calls to", GroupID: "sender"}
	var sender, to string
	move := &cobra.Command{Use: "move LETTER_ID --appointment-at TIME", Short: "Move a letter's appointment; its NemSMS reminder follows", Args: cobra.ExactArgs(1)}
	senderFlag(move.Flags(), &sender)
	move.Flags().StringVar(&to, "appointment-at", "", "the new time: 2027-01-12T10:30 (Danish time) or RFC 3339")
	move.RunE = func(cmd *cobra.Command, args []string) error {
		id, err := letterArg(args)
		if err != nil {
			return err
		}
		return withLetterAPI(&sender, id, func(ctx context.Context, api *sendersapi.Client) error {
			l, err := api.MoveAppointment(ctx, id, to)
			if err != nil {
				return err
			}
			if l.AppointmentAt != nil {
				fmt.Printf("appointment moved to %s; the reminder follows\n", l.AppointmentAt.Local().Format(time.DateTime))
			}
			return nil
		})(cmd, args)
	}
	cmd.AddCommand(move)
	return cmd
}
