package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"digitalpost/internal/apikeys"
	"digitalpost/internal/engine"
	"digitalpost/internal/fielderr"
	"digitalpost/internal/registry"
)

func citizenCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "citizen", Short: "Citizens in the registry", GroupID: "registry"}
	var in registry.NewCitizen
	add := &cobra.Command{Use: "add --cpr CPR --name NAME [--birth-date YYYY-MM-DD] [--address …] [--email …] [--mobile …] [--exempt] [--never-logged-in]",
		Short: "Register a citizen", Args: cobra.NoArgs}
	f := add.Flags()
	f.StringVar(&in.CPR, "cpr", "", "CPR number, DDMMYY-SSSS")
	f.StringVar(&in.Name, "name", "", "full name")
	f.StringVar(&in.BirthDate, "birth-date", "", "YYYY-MM-DD (default: from the CPR number; must agree with it)")
	f.StringVar(&in.Address, "address", "", `postal address, lines separated by "\n" or ", "`)
	f.StringVar(&in.Email, "email", "", "e-mail for new-post notices")
	f.StringVar(&in.Mobile, "mobile", "", "mobile number for new-post notices (+45… or 8 digits)")
	f.BoolVar(&in.Exempt, "exempt", false, "exempt from Digital Post: letters go to paper")
	f.BoolVar(&in.NeverLoggedIn, "never-logged-in", false, "has never used the mailbox: the first digital letter comes with a paper notice")
	add.RunE = withEngine(func(ctx context.Context, e *engine.Engine) error {
		in.Address = addressLines(in.Address)
		c, err := e.Registry.AddCitizen(ctx, in)
		if err != nil {
			return err
		}
		fmt.Printf("registered %s (%s, born %s, %s)\n", c.Name, c.CPR.Masked(), c.BirthDate.Format(time.DateOnly), c.Enrolment)
		return nil
	})
	cmd.AddCommand(add)
	return cmd
}

func senderCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "sender", Short: "Organisations that send letters", GroupID: "registry"}
	var s registry.Sender
	add := &cobra.Command{Use: "add --id ID --organisation NAME [--unit NAME] [--return-address …]", Short: "Register or update a sender", Args: cobra.NoArgs}
	add.Flags().StringVar(&s.ID, "id", "", "short id used with `send --sender`")
	add.Flags().StringVar(&s.Organisation, "organisation", "", `name shown on the letter, e.g. "Region Midtjylland"`)
	add.Flags().StringVar(&s.ProducingUnit, "unit", "", "unit that produced the letter, e.g. a hospital")
	add.Flags().StringVar(&s.ReturnAddress, "return-address", "", "return address printed on paper letters")
	add.RunE = withEngine(func(ctx context.Context, e *engine.Engine) error {
		s.ReturnAddress = addressLines(s.ReturnAddress)
		if err := e.Registry.AddSender(ctx, s); err != nil {
			return err
		}
		fmt.Printf("sender %s: %s\n", s.ID, s.Organisation)
		return nil
	})
	cmd.AddCommand(add, senderKeyCmd())
	return cmd
}

// senderKeyCmd manages the senders' API keys. A key is printed once, when it is created;
// only its hash is stored.
func senderKeyCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "key", Short: "API keys for the senders' HTTP API"}
	var sender string
	create := &cobra.Command{Use: "create --sender ID", Short: "Create a key and print it, once", Args: cobra.NoArgs}
	create.Flags().StringVar(&sender, "sender", "", "sender id")
	create.RunE = withEngine(func(ctx context.Context, e *engine.Engine) error {
		key, secret, err := e.APIKeys.Create(ctx, sender)
		if err != nil {
			return &fielderr.Error{Field: "sender", Rule: err.Error()}
		}
		fmt.Fprintf(os.Stderr, "key %s for sender %s; it is shown only now, so keep it in your secret store:\n", key.ID, key.SenderID)
		fmt.Println(secret)
		return nil
	})
	list := &cobra.Command{Use: "list --sender ID", Short: "List a sender's keys (never the keys themselves)", Args: cobra.NoArgs}
	list.Flags().StringVar(&sender, "sender", "", "sender id")
	list.RunE = withEngine(func(ctx context.Context, e *engine.Engine) error {
		keys, err := e.APIKeys.List(ctx, sender)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "KEY\tCREATED\tLAST USED\tREVOKED")
		for _, k := range keys {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", k.ID, k.CreatedAt.Format(time.RFC3339), timeOrDash(k.LastUsedAt), timeOrDash(k.RevokedAt))
		}
		return tw.Flush()
	})
	var id string
	revoke := &cobra.Command{Use: "revoke --sender ID --key KEY_ID", Short: "Revoke a key at once", Args: cobra.NoArgs}
	revoke.Flags().StringVar(&sender, "sender", "", "sender id")
	revoke.Flags().StringVar(&id, "key", "", "the key's id, as listed")
	revoke.RunE = withEngine(func(ctx context.Context, e *engine.Engine) error {
		if err := e.APIKeys.Revoke(ctx, sender, id); errors.Is(err, apikeys.ErrNotFound) {
			return &fielderr.Error{Field: "key", Rule: fmt.Sprintf("sender %s has no key %q", sender, id)}
		} else if err != nil {
			return err
		}
		fmt.Printf("key %s revoked\n", id)
		return nil
	})
	cmd.AddCommand(create, list, revoke)
	return cmd
}

func timeOrDash(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.Format(time.RFC3339)
}

// Demo data covering every routing branch. The CPR numbers are made up.
var demoSenders = []registry.Sender{
	{ID: "region-midt", Organisation: "Region Midtjylland", ProducingUnit: "Aarhus Universitetshospital", ReturnAddress: "Skottenborg 26, 8800 Viborg"},
	{ID: "skat", Organisation: "Skattestyrelsen", ReturnAddress: "Postboks 1, 8000 Aarhus C"},
	{ID: "aarhus-kommune", Organisation: "Aarhus Kommune", ProducingUnit: "Borgerservice", ReturnAddress: "Rådhuspladsen 2, 8000 Aarhus C"},
}

var demoCitizens = []struct {
	branch string
	c      registry.NewCitizen
}{
	{"digital; SMS and e-mail notice", registry.NewCitizen{CPR: "010180-1234", Name: "Anna Jensen", Address: "Vestergade 1, 8000 Aarhus C", Email: "anna@example.dk", Mobile: "+4520000001"}},
	{"digital; SMS notice only", registry.NewCitizen{CPR: "020275-2345", Name: "Bo Nielsen", Address: "Nørregade 2, 8000 Aarhus C", Mobile: "+4520000002"}},
	{"digital; no contact details, so no notice", registry.NewCitizen{CPR: "030368-3456", Name: "Carl Hansen", Address: "Søndergade 3, 8000 Aarhus C"}},
	{"digital; never logged in: first letter brings a paper notice", registry.NewCitizen{CPR: "040490-4567", Name: "Dorte Pedersen", Address: "Østergade 4, 8000 Aarhus C", Email: "dorte@example.dk", NeverLoggedIn: true}},
	{"paper; exempt from Digital Post", registry.NewCitizen{CPR: "050545-1678", Name: "Erik Andersen", Address: "Havnegade 5, 8000 Aarhus C", Exempt: true}},
	{"paper; under 15", registry.NewCitizen{CPR: "060615-4678", Name: "Freja Christensen", Address: "Skolevej 6, 8000 Aarhus C"}},
}

func seedCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "seed",
		Short:   "Register demo senders and citizens covering every routing branch (safe to run again)",
		GroupID: "registry",
		Args:    cobra.NoArgs,
		RunE: withEngine(func(ctx context.Context, e *engine.Engine) error {
			for _, s := range demoSenders {
				s.ReturnAddress = addressLines(s.ReturnAddress)
				if err := e.Registry.AddSender(ctx, s); err != nil {
					return err
				}
			}
			w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "SENDER\tORGANISATION")
			for _, s := range demoSenders {
				fmt.Fprintf(w, "%s\t%s\n", s.ID, s.Organisation)
			}
			fmt.Fprintln(w, "\nCPR\tNAME\tWHAT A LETTER TO THEM DOES")
			for _, d := range demoCitizens {
				d.c.Address = addressLines(d.c.Address)
				_, err := e.Registry.AddCitizen(ctx, d.c)
				var fe *fielderr.Error
				if err != nil && !(errors.As(err, &fe) && fe.Rule == "is already registered") {
					return fmt.Errorf("%s: %w", d.c.Name, err)
				}
				fmt.Fprintf(w, "%s\t%s\t%s\n", d.c.CPR, d.c.Name, d.branch)
			}
			fmt.Fprintln(w, "\nTry: go run ./starter send --sender region-midt --to 010180-1234 --subject \"Indkaldelse\" --text \"Du er indkaldt …\"")
			return w.Flush()
		}),
	}
}

// addressLines lets an address be typed on one line: "Vestergade 1, 8000 Aarhus C".
func addressLines(s string) string {
	out := []rune{}
	for i, r := range []rune(s) {
		if r == ',' {
			out = append(out, '\n')
			continue
		}
		if r == ' ' && i > 0 && []rune(s)[i-1] == ',' {
			continue
		}
		out = append(out, r)
	}
	return string(out)
}

func outboxCmd() *cobra.Command {
	var limit int
	cmd := &cobra.Command{
		Use:     "outbox",
		Short:   "Show notices recorded by the dev outbox (when no Twilio/SendGrid credentials are set)",
		GroupID: "operator",
		Args:    cobra.NoArgs,
	}
	cmd.Flags().IntVar(&limit, "limit", 20, "at most this many, newest first")
	cmd.RunE = withEngine(func(ctx context.Context, e *engine.Engine) error {
		rows, err := e.DB.Query(ctx, `SELECT created_at, channel, recipient, body FROM dev_outbox ORDER BY id DESC LIMIT $1`, limit)
		if err != nil {
			return err
		}
		defer rows.Close()
		w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "WHEN\tCHANNEL\tTO\tMESSAGE")
		for rows.Next() {
			var at time.Time
			var ch, to, body string
			if err := rows.Scan(&at, &ch, &to, &body); err != nil {
				return err
			}
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", at.Local().Format(time.DateTime), ch, to, body)
		}
		return w.Flush()
	})
	return cmd
}
