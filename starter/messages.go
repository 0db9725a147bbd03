package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"digitalpost/internal/clients/sendersapi"
	"digitalpost/internal/domain/fielderr"
)

// messagesCmd is the sender's side of two-way post: citizens' replies to its letters and
// messages to its contact points, through the senders' API.
func messagesCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "messages", Short: "Citizens' replies and messages to the sender (the senders' API)", GroupID: "sender"}
	var sender, kind string
	var unhandled bool
	var limit int
	list := &cobra.Command{Use: "list [--kind reply|message] [--unhandled]", Short: "List replies and messages, newest first", Args: cobra.NoArgs}
	senderFlag(list.Flags(), &sender)
	list.Flags().StringVar(&kind, "kind", "", "reply (to a letter) or message (written first); default both")
	list.Flags().BoolVar(&unhandled, "unhandled", false, "only those not marked handled")
	list.Flags().IntVar(&limit, "limit", 50, "at most this many (up to 1000)")
	list.RunE = withSenderAPI(&sender, func(ctx context.Context, api *sendersapi.Client) error {
		handled := ""
		if unhandled {
			handled = "false"
		}
		page, err := api.Messages(ctx, kind, handled, limit, "")
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tKIND\tRECEIVED\tHANDLED\tTO\tSUBJECT\tFILES")
		for _, m := range page.Messages {
			handled := "-"
			if m.HandledAt != nil {
				handled = m.HandledAt.Local().Format(time.DateTime)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%d\n", m.ID, m.Kind, m.CreatedAt.Local().Format(time.DateTime), handled,
				orDash(m.ContactPoint), m.Subject, len(m.Attachments))
		}
		return tw.Flush()
	})

	var save string
	show := &cobra.Command{Use: "show MESSAGE_ID [--save DIR]", Short: "Show a reply or message; --save writes its attachments to DIR", Args: cobra.ExactArgs(1)}
	senderFlag(show.Flags(), &sender)
	show.Flags().StringVar(&save, "save", "", "write the attached files into this directory")
	show.RunE = func(cmd *cobra.Command, args []string) error {
		return withSenderAPI(&sender, func(ctx context.Context, api *sendersapi.Client) error {
			m, err := api.Message(ctx, args[0])
			if err != nil {
				return err
			}
			fmt.Printf("message  %s (%s)\nreceived %s\nto       %s\nsubject  %s\n", m.ID, m.Kind, m.CreatedAt.Local().Format(time.DateTime), orDash(m.ContactPoint), m.Subject)
			if m.From != nil {
				fmt.Printf("from     %s (%s)\n", m.From.Name, m.From.CPR)
			}
			if m.LetterID != "" {
				fmt.Printf("replies  to letter %s\n", m.LetterID)
			}
			for _, a := range m.Answers {
				fmt.Printf("answered by letter %s\n", a)
			}
			if m.Text != nil {
				fmt.Printf("\n%s\n\n", strings.TrimSpace(*m.Text))
			}
			for _, a := range m.Attachments {
				fmt.Printf("file     %s (%s, %d bytes)\n", a.Filename, a.ContentType, a.Size)
				if save == "" {
					continue
				}
				b, err := api.Attachment(ctx, a.Href)
				if err != nil {
					return err
				}
				// The citizen named the file: keep only its base name inside DIR.
				path := filepath.Join(save, filepath.Base(filepath.Clean("/"+a.Filename)))
				if err := os.WriteFile(path, b, 0o600); err != nil {
					return &fielderr.Error{Field: "save", Rule: err.Error()}
				}
				fmt.Printf("         saved as %s\n", path)
			}
			return nil
		})(cmd, args)
	}

	handled := &cobra.Command{Use: "handled MESSAGE_ID", Short: "Mark a reply or message handled", Args: cobra.ExactArgs(1)}
	senderFlag(handled.Flags(), &sender)
	handled.RunE = func(cmd *cobra.Command, args []string) error {
		return withSenderAPI(&sender, func(ctx context.Context, api *sendersapi.Client) error {
			m, err := api.MarkHandled(ctx, args[0])
			if err != nil {
				return err
			}
			fmt.Printf("message %s handled at %s\n", m.ID, m.HandledAt.Local().Format(time.DateTime))
			return nil
		})(cmd, args)
	}
	cmd.AddCommand(list, show, handled)
	return cmd
}
