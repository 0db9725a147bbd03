package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/google/uuid"
	"github.com/spf13/cobra"

	"digitalpost/internal/desks/borgerservice"
	"digitalpost/internal/domain/exemption"
	"digitalpost/internal/domain/fielderr"
	"digitalpost/internal/domain/letters"
	"digitalpost/internal/infra/engine"
	"digitalpost/workflows"
)

func exemptionCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "exemption", Short: "Exemption cases at the citizen service (caseworkers)", GroupID: "caseworker"}
	cmd.AddCommand(exemptionApplyCmd(), exemptionVerifyCmd(), exemptionDecideCmd(), exemptionShowCmd(), exemptionListCmd())
	return cmd
}

func caseworkerName() string {
	if u := os.Getenv("USER"); u != "" {
		return u
	}
	return "caseworker"
}

func exemptionApplyCmd() *cobra.Command {
	var a struct {
		cpr, grounds, municipality, repName, repCPR, poa, caseworker string
	}
	cmd := &cobra.Command{
		Use:   "apply --cpr CPR [--grounds G[,G…]] [--representative NAME --representative-cpr CPR --power-of-attorney FILE]",
		Short: "Register an application made in person; prints the case id",
		Long: "Grounds: " + groundList() + ".\nThe citizen need not name a ground (the caseworker records it with the decision), " +
			"and the municipality cannot demand documentation of the grounds.",
		Args: cobra.NoArgs,
	}
	f := cmd.Flags()
	f.StringVar(&a.cpr, "cpr", "", "the citizen applying")
	f.StringVar(&a.grounds, "grounds", "", "comma-separated, if the citizen names any: "+groundList())
	f.StringVar(&a.municipality, "municipality", "", "sender of the decision letter (default MUNICIPALITY_SENDER_ID)")
	f.StringVar(&a.repName, "representative", "", "name of a representative appearing with a power of attorney")
	f.StringVar(&a.repCPR, "representative-cpr", "", "the representative's CPR number")
	f.StringVar(&a.poa, "power-of-attorney", "", "the power of attorney document (scan or PDF)")
	f.StringVar(&a.caseworker, "caseworker", caseworkerName(), "who registers the case")
	cmd.RunE = asPerson(func(ctx context.Context, e *engine.Engine) error {
		app := borgerserviceApplication(a.cpr, a.grounds, a.repName, a.repCPR, a.caseworker)
		app.MunicipalityID = a.municipality
		if a.poa != "" {
			b, err := os.ReadFile(a.poa)
			if err != nil {
				return &fielderr.Error{Field: "power-of-attorney", Rule: "cannot be read: " + err.Error()}
			}
			app.PowerOfAttorney = letters.Document{Filename: filepath.Base(a.poa), Content: b}
		}
		id, err := e.Desk.Apply(ctx, app)
		if err != nil {
			return err
		}
		fmt.Println(id)
		return nil
	})
	return cmd
}

func exemptionVerifyCmd() *cobra.Command {
	var valid, invalid bool
	var reason, caseworker string
	cmd := &cobra.Command{Use: "verify-proxy CASE_ID (--valid | --invalid --reason R)", Short: "Record whether the representative's power of attorney is valid", Args: cobra.ExactArgs(1)}
	cmd.Flags().BoolVar(&valid, "valid", false, "the power of attorney is valid")
	cmd.Flags().BoolVar(&invalid, "invalid", false, "the power of attorney is not valid: the case is rejected")
	cmd.Flags().StringVar(&reason, "reason", "", "why (required with --invalid)")
	cmd.Flags().StringVar(&caseworker, "caseworker", caseworkerName(), "who verifies")
	cmd.MarkFlagsMutuallyExclusive("valid", "invalid")
	cmd.MarkFlagsOneRequired("valid", "invalid")
	cmd.RunE = caseAction(func(ctx context.Context, e *engine.Engine, id uuid.UUID) (workflows.CaseState, error) {
		return e.Desk.VerifyProxy(ctx, id, workflows.ProxyVerification{Valid: valid, Reason: reason, Caseworker: caseworker})
	})
	return cmd
}

func exemptionDecideCmd() *cobra.Command {
	var approve, reject bool
	var reason, caseworker string
	var grounds []string
	cmd := &cobra.Command{Use: "decide CASE_ID (--approve [--grounds G,…] | --reject --reason R)", Short: "Approve or reject the application; the citizen gets a decision letter", Args: cobra.ExactArgs(1)}
	cmd.Flags().StringSliceVar(&grounds, "grounds", nil, "the grounds the exemption is granted on, when the citizen named none (or more)")
	cmd.Flags().BoolVar(&approve, "approve", false, "approve: the citizen's letters go to paper from now on")
	cmd.Flags().BoolVar(&reject, "reject", false, "reject (needs --reason)")
	cmd.Flags().StringVar(&reason, "reason", "", "why")
	cmd.Flags().StringVar(&caseworker, "caseworker", caseworkerName(), "who decides")
	cmd.MarkFlagsMutuallyExclusive("approve", "reject")
	cmd.MarkFlagsOneRequired("approve", "reject")
	cmd.RunE = caseAction(func(ctx context.Context, e *engine.Engine, id uuid.UUID) (workflows.CaseState, error) {
		return e.Desk.Decide(ctx, id, workflows.Decision{Approve: approve, Reason: reason, Caseworker: caseworker, Grounds: grounds})
	})
	return cmd
}

func caseAction(do func(context.Context, *engine.Engine, uuid.UUID) (workflows.CaseState, error)) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		id, err := parseCaseID(args[0])
		if err != nil {
			return err
		}
		return asPerson(func(ctx context.Context, e *engine.Engine) error {
			st, err := do(ctx, e, id)
			if err != nil {
				return err
			}
			fmt.Printf("case %s is %s\n", st.CaseID, st.Status)
			return nil
		})(cmd, args)
	}
}

func exemptionShowCmd() *cobra.Command {
	return &cobra.Command{Use: "show CASE_ID", Short: "Show a case, its state and timeline", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := parseCaseID(args[0])
			if err != nil {
				return err
			}
			return asPerson(func(ctx context.Context, e *engine.Engine) error {
				st, c, err := e.Desk.Show(ctx, id)
				if err != nil {
					return err
				}
				citizen, err := e.Desk.CitizenByID(ctx, c.CitizenID)
				if err != nil {
					return err
				}
				fmt.Printf("case            %s\ncitizen         %s (%s)\nstatus          %s\n", c.ID, citizen.Name, citizen.CPR.Masked(), st.Status)
				fmt.Printf("grounds         %s\n", describeGrounds(c.Grounds))
				if c.HasRepresentative() {
					fmt.Printf("representative  %s, power of attorney %s (verified: %v)\n", c.RepresentativeName, c.POAFilename, st.ProxyVerified)
				} else {
					fmt.Println("appeared        the citizen in person")
				}
				fmt.Printf("due             %s", c.ServiceDeadline.Local().Format(time.DateTime))
				if st.Overdue {
					fmt.Printf("   OVERDUE (%d reminders)", st.Reminders)
				}
				fmt.Println()
				if st.DecisionLetterID != nil {
					fmt.Printf("decision letter %s\n", st.DecisionLetterID)
				}
				return printTimeline(st.Timeline, func(ev workflows.CaseEvent) (time.Time, string, string) {
					return ev.At, string(ev.Status), ev.Note
				})
			})(cmd, args)
		}}
}

func exemptionListCmd() *cobra.Command {
	var f exemption.Filter
	cmd := &cobra.Command{Use: "list [--open | --overdue]", Short: "List cases from PostgreSQL, oldest first", Args: cobra.NoArgs}
	cmd.Flags().BoolVar(&f.OpenOnly, "open", false, "only cases not yet decided")
	cmd.Flags().BoolVar(&f.OverdueOnly, "overdue", false, "only open cases past their service deadline")
	cmd.RunE = asPerson(func(ctx context.Context, e *engine.Engine) error {
		cases, err := e.Desk.ListCases(ctx, f)
		if err != nil {
			return err
		}
		w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "CASE\tSTATUS\tOVERDUE\tDUE\tGROUNDS\tREGISTERED")
		for _, c := range cases {
			fmt.Fprintf(w, "%s\t%s\t%v\t%s\t%s\t%s\n", c.ID, c.Status, c.Overdue, c.ServiceDeadline.Local().Format(time.DateTime),
				joinGrounds(c.Grounds), c.CreatedAt.Local().Format(time.DateTime))
		}
		return w.Flush()
	})
	return cmd
}

func enrolCmd() *cobra.Command {
	return &cobra.Command{Use: "enrol CPR", Short: "Re-enroll an exempt citizen in Digital Post: later letters are digital", GroupID: "caseworker",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return asPerson(func(ctx context.Context, e *engine.Engine) error {
				c, err := e.Desk.Enrol(ctx, args[0])
				if err != nil {
					return err
				}
				fmt.Printf("%s (%s) is %s in Digital Post\n", c.Name, c.CPR.Masked(), c.Enrolment)
				return nil
			})(cmd, args)
		}}
}

func readingAccessCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "reading-access", Short: "Let another person read a citizen's mailbox", GroupID: "citizen"}
	var delegate, citizen, as string
	request := &cobra.Command{Use: "request --delegate CPR --citizen CPR", Short: "A delegate asks to read a citizen's mailbox; prints the request id", Args: cobra.NoArgs,
		RunE: asPerson(func(ctx context.Context, e *engine.Engine) error {
			id, err := e.Desk.RequestReadingAccess(ctx, delegate, citizen)
			if err != nil {
				return err
			}
			fmt.Println(id)
			return nil
		})}
	request.Flags().StringVar(&delegate, "delegate", "", "who asks to read")
	request.Flags().StringVar(&citizen, "citizen", "", "whose mailbox")
	respond := func(use, short string, accept bool) *cobra.Command {
		c := &cobra.Command{Use: use + " REQUEST_ID --as CPR", Short: short, Args: cobra.ExactArgs(1)}
		c.Flags().StringVar(&as, "as", "", "the citizen whose mailbox it is")
		c.RunE = accessAction(func(ctx context.Context, e *engine.Engine, id uuid.UUID) (string, error) {
			st, err := e.Desk.RespondReadingAccess(ctx, id, as, accept)
			return string(st), err
		})
		return c
	}
	revoke := &cobra.Command{Use: "revoke REQUEST_ID --as CPR", Short: "End granted reading access (the citizen or the delegate)", Args: cobra.ExactArgs(1)}
	revoke.Flags().StringVar(&as, "as", "", "the citizen or the delegate")
	revoke.RunE = accessAction(func(ctx context.Context, e *engine.Engine, id uuid.UUID) (string, error) {
		st, err := e.Desk.RevokeReadingAccess(ctx, id, as)
		return string(st), err
	})
	var caseworker string
	grant := &cobra.Command{Use: "grant --by-caseworker NAME --delegate CPR --citizen CPR",
		Short: "Record reading access the citizen gave in person at the citizen service; prints its id", Args: cobra.NoArgs,
		RunE: asPerson(func(ctx context.Context, e *engine.Engine) error {
			id, err := e.Desk.GrantReadingAccess(ctx, caseworker, delegate, citizen)
			if err != nil {
				return err
			}
			fmt.Println(id)
			return nil
		})}
	grant.Flags().StringVar(&caseworker, "by-caseworker", "", "the caseworker who recorded the citizen's consent")
	grant.Flags().StringVar(&delegate, "delegate", "", "who may read")
	grant.Flags().StringVar(&citizen, "citizen", "", "whose mailbox")
	cmd.AddCommand(request, grant, respond("accept", "The citizen grants the request", true), respond("decline", "The citizen declines the request", false), revoke)
	return cmd
}

func accessAction(do func(context.Context, *engine.Engine, uuid.UUID) (string, error)) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		id, err := uuid.Parse(args[0])
		if err != nil {
			return &fielderr.Error{Field: "REQUEST_ID", Rule: "must be a request id as printed by `reading-access request`"}
		}
		return asPerson(func(ctx context.Context, e *engine.Engine) error {
			st, err := do(ctx, e, id)
			if err != nil {
				return err
			}
			fmt.Printf("reading access %s is %s\n", id, st)
			return nil
		})(cmd, args)
	}
}

func parseCaseID(s string) (uuid.UUID, error) {
	id, err := uuid.Parse(strings.TrimPrefix(s, "exemption-"))
	if err != nil {
		return id, &fielderr.Error{Field: "CASE_ID", Rule: "must be a case id as printed by `exemption apply`"}
	}
	return id, nil
}

func groundList() string {
	var names []string
	for _, g := range exemption.Grounds() {
		names = append(names, string(g))
	}
	return strings.Join(names, ", ")
}

func joinGrounds(gs []exemption.Ground) string {
	var names []string
	for _, g := range gs {
		names = append(names, string(g))
	}
	return strings.Join(names, ",")
}

func describeGrounds(gs []exemption.Ground) string {
	var names []string
	for _, g := range gs {
		names = append(names, g.Describe())
	}
	return strings.Join(names, "; ")
}

func borgerserviceApplication(citizenCPR, grounds, repName, repCPR, caseworker string) borgerservice.Application {
	var gs []string
	for _, g := range strings.Split(grounds, ",") {
		if g = strings.TrimSpace(g); g != "" {
			gs = append(gs, g)
		}
	}
	return borgerservice.Application{CitizenCPR: citizenCPR, Grounds: gs, RepresentativeName: repName,
		RepresentativeCPR: repCPR, Caseworker: caseworker}
}
