package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"digitalpost/internal/desks/borgerservice"
	"digitalpost/internal/desks/operations"
	"digitalpost/internal/domain/apikeys"
	"digitalpost/internal/domain/calendar"
	"digitalpost/internal/domain/citizenpost"
	"digitalpost/internal/domain/cpr"
	"digitalpost/internal/domain/fielderr"
	"digitalpost/internal/domain/population"
	"digitalpost/internal/domain/registry"
	"digitalpost/internal/infra/engine"
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
		c, err := e.Operations.AddCitizen(ctx, in)
		if err != nil {
			return err
		}
		fmt.Printf("registered %s (%s, born %s, %s)\n", c.Name, c.CPR.Masked(), c.BirthDate.Format(time.DateOnly), c.Enrolment)
		return nil
	})
	cmd.AddCommand(add, citizenUpdateCmd(), citizenShowCmd(), lifeEventCmd("died"), lifeEventCmd("emigrated"), lifeEventCmd("moved-in"), citizenPurgeCmd())
	return cmd
}

func citizenUpdateCmd() *cobra.Command {
	var email, mobile, address string
	cmd := &cobra.Command{Use: "update CPR [--email …] [--mobile …] [--address …]",
		Short: `Change a citizen's e-mail, mobile number or address (--email "" removes the e-mail)`, Args: cobra.ExactArgs(1)}
	cmd.Flags().StringVar(&email, "email", "", "e-mail for new-post notices")
	cmd.Flags().StringVar(&mobile, "mobile", "", "mobile number for new-post notices (+45… or 8 digits)")
	cmd.Flags().StringVar(&address, "address", "", `postal address, lines separated by "\n" or ", "`)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		var ch registry.ContactChange
		if cmd.Flags().Changed("email") {
			ch.Email = &email
		}
		if cmd.Flags().Changed("mobile") {
			ch.Mobile = &mobile
		}
		if cmd.Flags().Changed("address") {
			address = addressLines(address)
			ch.Address = &address
		}
		return withEngine(func(ctx context.Context, e *engine.Engine) error {
			c, err := e.Desk.UpdateContact(ctx, args[0], ch)
			if err != nil {
				return err
			}
			fmt.Printf("updated %s (%s): e-mail %s, mobile %s\n", c.Name, c.CPR.Masked(), orDash(c.Email), orDash(c.Mobile))
			return nil
		})(cmd, args)
	}
	return cmd
}

func citizenShowCmd() *cobra.Command {
	return &cobra.Command{Use: "show CPR", Short: "Show a citizen's enrolment, contact details and life events", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withEngine(func(ctx context.Context, e *engine.Engine) error {
				c, err := e.Desk.Citizen(ctx, args[0])
				if err != nil {
					return err
				}
				w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintf(w, "name\t%s\ncpr\t%s\nborn\t%s\nenrolment\t%s\ne-mail\t%s\nmobile\t%s\naddress\t%s\n",
					c.Name, c.CPR.Masked(), c.BirthDate.Format(time.DateOnly), c.Enrolment, orDash(c.Email), orDash(c.Mobile), orDash(oneLine(c.Address)))
				if c.Emigrated() {
					fmt.Fprintf(w, "emigrated\t%s, foreign address %s\n", c.EmigratedOn.Format(time.DateOnly), orDash(oneLine(c.ForeignAddress)))
				}
				if c.Deceased() {
					fmt.Fprintf(w, "died\t%s (mailbox kept until %s)\n", c.DiedOn.Format(time.DateOnly), c.KeptUntil().Format(time.DateOnly))
				}
				return w.Flush()
			})(cmd, args)
		}}
}

// lifeEventCmd records an event from the CPR register: died, emigrated or moved-in.
func lifeEventCmd(event string) *cobra.Command {
	var on, address string
	short := map[string]string{
		"died":      "Record a death: letters to the citizen are refused, letters under way end failed unprinted; the mailbox is kept",
		"emigrated": "Record a move abroad: the citizen keeps digital post; paper (exempt, physical-only) goes to --address",
		"moved-in":  "Record a move back to Denmark, to --address: letters follow the ordinary rules again",
	}[event]
	use := event + " CPR --on YYYY-MM-DD"
	cmd := &cobra.Command{Use: use, Short: short, Args: cobra.ExactArgs(1)}
	cmd.Flags().StringVar(&on, "on", "", "the date of the event, YYYY-MM-DD")
	switch event {
	case "emigrated":
		cmd.Use += " [--address FOREIGN_ADDRESS]"
		cmd.Flags().StringVar(&address, "address", "", `the foreign postal address, lines separated by "\n" or ", "`)
	case "moved-in":
		cmd.Use += " --address ADDRESS"
		cmd.Flags().StringVar(&address, "address", "", `the Danish address moved to, lines separated by "\n" or ", "`)
	}
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		day, err := borgerservice.ParseEventDate(on)
		if err != nil {
			return err
		}
		return withEngine(func(ctx context.Context, e *engine.Engine) error {
			var c registry.Citizen
			var err error
			switch event {
			case "died":
				c, err = e.Desk.RecordDeath(ctx, args[0], day)
			case "emigrated":
				c, err = e.Desk.RecordEmigration(ctx, args[0], day, addressLines(address))
			case "moved-in":
				c, err = e.Desk.RecordMoveIn(ctx, args[0], day, addressLines(address))
			}
			if err != nil {
				return err
			}
			fmt.Printf("%s (%s) %s on %s\n", c.Name, c.CPR.Masked(), event, day.Format(time.DateOnly))
			return nil
		})(cmd, args)
	}
	return cmd
}

func citizenPurgeCmd() *cobra.Command {
	return &cobra.Command{Use: "purge", Short: "Remove citizens who died more than the retention period (5 years) ago, with their mailboxes",
		Args: cobra.NoArgs, RunE: withEngine(func(ctx context.Context, e *engine.Engine) error {
			n, err := e.Operations.PurgeDeceased(ctx, time.Now().AddDate(-registry.MailboxRetentionYears, 0, 0))
			if err != nil {
				return err
			}
			fmt.Printf("purged %d deceased citizens and their mailboxes\n", n)
			return nil
		})}
}

func oneLine(s string) string { return strings.ReplaceAll(s, "\n", ", ") }

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
		if err := e.Operations.AddSender(ctx, s); err != nil {
			return err
		}
		fmt.Printf("sender %s: %s\n", s.ID, s.Organisation)
		return nil
	})
	cmd.AddCommand(add, senderKeyCmd(), contactPointCmd(), senderRepliesCmd())
	return cmd
}

// contactPointCmd manages a sender's contact points: where replies to its letters go, and
// (--for-citizens) where citizens may write first from their mailbox.
func contactPointCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "contact-point", Short: "A sender's contact points for citizens' replies and messages"}
	var cp citizenpost.ContactPoint
	add := &cobra.Command{Use: "add --sender ID --id ID --name NAME [--for-citizens]", Short: "Add or rename a contact point", Args: cobra.NoArgs}
	add.Flags().StringVar(&cp.SenderID, "sender", "", "sender id")
	add.Flags().StringVar(&cp.ID, "id", "", `short id used with send --contact-point, e.g. "roentgen"`)
	add.Flags().StringVar(&cp.Name, "name", "", `name citizens see, e.g. "Aarhus Universitetshospital, Røntgen"`)
	add.Flags().BoolVar(&cp.ForCitizens, "for-citizens", false, "citizens may write to it first, not only answer letters")
	add.RunE = withEngine(func(ctx context.Context, e *engine.Engine) error {
		if err := e.Operations.AddContactPoint(ctx, cp); err != nil {
			return err
		}
		fmt.Printf("contact point %s/%s: %s\n", cp.SenderID, cp.ID, cp.Name)
		return nil
	})
	var sender, id string
	list := &cobra.Command{Use: "list --sender ID", Short: "List a sender's contact points", Args: cobra.NoArgs}
	list.Flags().StringVar(&sender, "sender", "", "sender id")
	list.RunE = withEngine(func(ctx context.Context, e *engine.Engine) error {
		cps, err := e.Operations.ContactPoints(ctx, sender)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tNAME\tCITIZENS MAY WRITE FIRST")
		for _, c := range cps {
			fmt.Fprintf(tw, "%s\t%s\t%t\n", c.ID, c.Name, c.ForCitizens)
		}
		return tw.Flush()
	})
	remove := &cobra.Command{Use: "remove --sender ID --id ID", Short: "Stop a contact point taking new post", Args: cobra.NoArgs}
	remove.Flags().StringVar(&sender, "sender", "", "sender id")
	remove.Flags().StringVar(&id, "id", "", "the contact point's id")
	remove.RunE = withEngine(func(ctx context.Context, e *engine.Engine) error {
		if err := e.Operations.RemoveContactPoint(ctx, sender, id); errors.Is(err, citizenpost.ErrNotFound) {
			return &fielderr.Error{Field: "id", Rule: fmt.Sprintf("sender %s has no contact point %q", sender, id)}
		} else if err != nil {
			return err
		}
		fmt.Printf("contact point %s/%s removed\n", sender, id)
		return nil
	})
	cmd.AddCommand(add, list, remove)
	return cmd
}

// senderRepliesCmd sets a sender's defaults for letters that say nothing about replies.
func senderRepliesCmd() *cobra.Command {
	var sender string
	var d registry.ReplyDefaults
	cmd := &cobra.Command{Use: "replies --sender ID --allowed=true|false [--contact-point ID] [--within 720h]",
		Short: "Whether the sender's letters take replies when a letter does not say", Args: cobra.NoArgs}
	cmd.Flags().StringVar(&sender, "sender", "", "sender id")
	cmd.Flags().BoolVar(&d.Allowed, "allowed", false, "letters take replies by default")
	cmd.Flags().StringVar(&d.ContactPoint, "contact-point", "", "the contact point replies go to by default")
	cmd.Flags().DurationVar(&d.Within, "within", 0, "replies are due this long after sending (0: for as long as the letter is in the mailbox)")
	cmd.RunE = withEngine(func(ctx context.Context, e *engine.Engine) error {
		if err := e.Operations.SetReplyDefaults(ctx, sender, d); err != nil {
			return err
		}
		fmt.Printf("sender %s: replies allowed by default %t, to %s, within %s\n", sender, d.Allowed, orDash(d.ContactPoint), d.Within)
		return nil
	})
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
		key, secret, err := e.Operations.CreateKey(ctx, sender)
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
		keys, err := e.Operations.KeysOf(ctx, sender)
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
		if err := e.Operations.RevokeKey(ctx, sender, id); errors.Is(err, apikeys.ErrNotFound) {
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

// demoContactPoints give the demo senders somewhere for replies to go, and one each that
// citizens may write to first.
var demoContactPoints = []citizenpost.ContactPoint{
	{SenderID: "region-midt", ID: "roentgen", Name: "Aarhus Universitetshospital, Røntgen"},
	{SenderID: "region-midt", ID: "patientkontoret", Name: "Patientkontoret", ForCitizens: true},
	{SenderID: "aarhus-kommune", ID: "borgerservice", Name: "Borgerservice", ForCitizens: true},
}

type demoCitizen struct {
	branch string
	c      registry.NewCitizen
}

// demoCitizens are the demo citizens for a seed run on today. The child's CPR number is
// derived from it: born on 1 January ten years before this year in Danish time, the child is
// 10 all year, so under 15 whenever the demo runs, and seed run again in the same year finds
// the same child. A fixed number grows up: 060615-4678 turned 15 on 6 June 2030.
func demoCitizens(today time.Time) ([]demoCitizen, error) {
	child, err := cpr.FromBirth(time.Date(calendar.In(today).Year()-10, time.January, 1, 0, 0, 0, 0, time.UTC), 678)
	if err != nil {
		return nil, fmt.Errorf("demo child: %w", err)
	}
	return []demoCitizen{
		{"digital; SMS and e-mail notice", registry.NewCitizen{CPR: "010180-1234", Name: "Anna Jensen", Address: "Vestergade 1, 8000 Aarhus C", Email: "anna@example.dk", Mobile: "+4520000001"}},
		{"digital; SMS notice only", registry.NewCitizen{CPR: "020275-2345", Name: "Bo Nielsen", Address: "Nørregade 2, 8000 Aarhus C", Mobile: "+4520000002"}},
		{"digital; no contact details, so no notice", registry.NewCitizen{CPR: "030368-3456", Name: "Carl Hansen", Address: "Søndergade 3, 8000 Aarhus C"}},
		{"digital; never logged in: first letter brings a paper notice", registry.NewCitizen{CPR: "040490-4567", Name: "Dorte Pedersen", Address: "Østergade 4, 8000 Aarhus C", Email: "dorte@example.dk", NeverLoggedIn: true}},
		{"paper; exempt from Digital Post", registry.NewCitizen{CPR: "050545-1678", Name: "Erik Andersen", Address: "Havnegade 5, 8000 Aarhus C", Exempt: true}},
		{"paper; under 15", registry.NewCitizen{CPR: child.Dashed(), Name: "Freja Christensen", Address: "Skolevej 6, 8000 Aarhus C"}},
	}, nil
}

// seedCitizens registers the demo citizens (one already registered is left as it is) and
// writes a line for each to w: its CPR number, name and what a letter to it does.
func seedCitizens(ctx context.Context, reg *operations.Desk, w io.Writer, citizens []demoCitizen) error {
	fmt.Fprintln(w, "\nCPR\tNAME\tWHAT A LETTER TO THEM DOES")
	for _, d := range citizens {
		d.c.Address = addressLines(d.c.Address)
		_, err := reg.AddCitizen(ctx, d.c)
		var fe *fielderr.Error
		if err != nil && !(errors.As(err, &fe) && fe.Rule == "is already registered") {
			return fmt.Errorf("%s: %w", d.c.Name, err)
		}
		fmt.Fprintf(w, "%s\t%s\t%s\n", d.c.CPR, d.c.Name, d.branch)
	}
	return nil
}

func seedCmd() *cobra.Command {
	var size, months int
	cmd := &cobra.Command{
		Use:     "seed [--population N [--months 12]]",
		Short:   "Register demo senders and citizens covering every routing branch (safe to run again); --population adds N generated citizens with a letter history",
		GroupID: "registry",
		Args:    cobra.NoArgs,
	}
	cmd.Flags().IntVar(&size, "population", 0, "also generate N citizens whose enrolment and contact shares follow the national figures, one letter each")
	cmd.Flags().IntVar(&months, "months", 12, "spread the generated letters over this many months")
	cmd.RunE = withEngine(func(ctx context.Context, e *engine.Engine) error {
		for _, s := range demoSenders {
			s.ReturnAddress = addressLines(s.ReturnAddress)
			if err := e.Operations.AddSender(ctx, s); err != nil {
				return err
			}
		}
		for _, cp := range demoContactPoints {
			if err := e.Operations.AddContactPoint(ctx, cp); err != nil {
				return err
			}
		}
		w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "SENDER\tORGANISATION")
		for _, s := range demoSenders {
			fmt.Fprintf(w, "%s\t%s\n", s.ID, s.Organisation)
		}
		fmt.Fprintln(w, "\nCONTACT POINT\tNAME")
		for _, cp := range demoContactPoints {
			name := cp.Name
			if cp.ForCitizens {
				name += " (citizens may write first)"
			}
			fmt.Fprintf(w, "%s/%s\t%s\n", cp.SenderID, cp.ID, name)
		}
		citizens, err := demoCitizens(time.Now())
		if err != nil {
			return err
		}
		if err := seedCitizens(ctx, e.Operations, w, citizens); err != nil {
			return err
		}
		fmt.Fprintln(w, "\nTry: go run ./starter send --sender region-midt --to 010180-1234 --subject \"Indkaldelse\" --text \"Du er indkaldt …\"")
		fmt.Fprintln(w, "  or, to let Anna answer on the page: … --replies=true --contact-point roentgen")
		if err := w.Flush(); err != nil || size <= 0 {
			return err
		}
		ids := make([]string, len(demoSenders))
		for i, s := range demoSenders {
			ids[i] = s.ID
		}
		start := time.Now()
		res, err := e.Operations.GeneratePopulation(ctx, population.Options{Citizens: size, Months: months, Senders: ids, Seed: 2026})
		if err != nil {
			return err
		}
		fmt.Printf("\npopulation: %d citizens and %d letters written in %s (already there: %d citizens)\n",
			res.Citizens, res.Letters, time.Since(start).Round(time.Millisecond), int64(size)-res.Citizens)
		return nil
	})
	return cmd
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
		recent, err := e.Operations.Outbox(ctx, limit)
		if err != nil {
			return err
		}
		w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "WHEN\tCHANNEL\tTO\tMESSAGE")
		for _, m := range recent {
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", m.At.Local().Format(time.DateTime), m.Channel, m.To, m.Body)
		}
		return w.Flush()
	})
	return cmd
}
