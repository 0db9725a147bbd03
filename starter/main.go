// Command starter is the command line for senders, citizens, caseworkers and operators.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"

	"github.com/spf13/cobra"

	"digitalpost/internal/config"
	"digitalpost/internal/engine"
	"digitalpost/internal/fielderr"
	"digitalpost/internal/postoffice"
	"digitalpost/internal/store"
	"digitalpost/internal/temporalclient"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	root := &cobra.Command{
		Use:           "starter",
		Short:         "Digital Post from the command line: send letters, read them, run cases, inspect histories",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddGroup(&cobra.Group{ID: "sender", Title: "Senders:"}, &cobra.Group{ID: "citizen", Title: "Citizens:"}, &cobra.Group{ID: "caseworker", Title: "Caseworkers (citizen service):"},
		&cobra.Group{ID: "registry", Title: "Registry and demo data:"}, &cobra.Group{ID: "operator", Title: "Operators:"})
	root.AddCommand(sendCmd(), statusCmd(), withdrawCmd(), openCmd(), citizenCmd(), senderCmd(), seedCmd(),
		lettersCmd(), outboxCmd(), noticesCmd(), historyCmd(), codecServerCmd(), bulkCmd(), exemptionCmd(), enrolCmd(), readingAccessCmd())
	if err := root.ExecuteContext(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		var refused *postoffice.Refused
		if fields := fielderr.Fields(err); len(fields) > 0 || errors.As(err, &refused) {
			os.Exit(2) // bad input, or a request the letter's state turns away: the message says why
		}
		os.Exit(1)
	}
}

// connect opens PostgreSQL and Temporal the way the worker does.
func connect(ctx context.Context) (*engine.Engine, func(), error) {
	cfg, err := config.Load()
	if err != nil {
		return nil, nil, err
	}
	if cfg.DatabaseURL == "" {
		return nil, nil, errors.New("DATABASE_URL is not set; start the system with `go run ./worker -dev` first")
	}
	db, err := store.Open(ctx, cfg.DatabaseURL, 4)
	if err != nil {
		return nil, nil, err
	}
	if err := store.Migrate(ctx, db); err != nil {
		db.Close()
		return nil, nil, err
	}
	quiet := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	tc, err := temporalclient.Dial(ctx, cfg, quiet)
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	e, err := engine.New(cfg, db, tc)
	if err != nil {
		tc.Close()
		db.Close()
		return nil, nil, err
	}
	return e, func() { tc.Close(); db.Close() }, nil
}

// withEngine runs fn with a connected engine.
func withEngine(fn func(ctx context.Context, e *engine.Engine) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, _ []string) error {
		e, closeAll, err := connect(cmd.Context())
		if err != nil {
			return err
		}
		defer closeAll()
		return fn(cmd.Context(), e)
	}
}
