// Command starter is the command line for senders, citizens, caseworkers and operators.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"go.opentelemetry.io/otel/codes"

	"digitalpost/internal/clients/sendersapi"
	"digitalpost/internal/desks/postoffice"
	"digitalpost/internal/domain/fielderr"
	"digitalpost/internal/infra/config"
	"digitalpost/internal/infra/engine"
	"digitalpost/internal/infra/telemetry"
	"digitalpost/internal/infra/temporalclient"
)

// tracing is this command's tracer provider (nil: off). A command is short: its spans are
// flushed before it exits.
var tracing *telemetry.Tracing

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	code := 0
	if logger, err := commandLogger(); err != nil {
		fmt.Fprintln(os.Stderr, describe(err))
		code = 2
	} else if tracing, err = telemetry.TracingFromEnv(ctx, "digitalpost-starter", logger); err != nil {
		fmt.Fprintln(os.Stderr, describe(err))
		code = 2
	} else if err := newRoot().ExecuteContext(ctx); err != nil {
		fmt.Fprintln(os.Stderr, describe(err))
		code = exitCode(err)
	}
	flush, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	_ = tracing.Shutdown(flush)
	cancel()
	os.Exit(code)
}

// commandLogger logs warnings and errors only unless LOG_LEVEL says otherwise: a command's
// output is its answer, and the Temporal SDK's info lines would bury it.
func commandLogger() (*slog.Logger, error) {
	return telemetry.LoggerFromEnv(os.Stderr, slog.LevelWarn)
}

func newRoot() *cobra.Command {
	root := &cobra.Command{
		Use:           "starter",
		Short:         "Digital Post from the command line: send letters, read them, run cases, inspect histories",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.Long = `Digital Post from the command line.

Sender commands are clients of the senders' API (DIGITALPOST_API, default http://127.0.0.1:8080)
with a sender's key (DIGITALPOST_API_KEY), and can do only what that key may. Beside
` + "`go run ./worker -dev`" + ` no key is needed: --sender picks a demo sender.
Citizen and caseworker commands stand in for people who sign in on the pages: only in the dev
runtime's demo. Registry and operator commands reach PostgreSQL and Temporal directly
(DATABASE_URL, TEMPORAL_ADDRESS, PAYLOAD_KEYS), as operators do.`
	root.AddGroup(&cobra.Group{ID: "sender", Title: "Senders (through the senders' API):"}, &cobra.Group{ID: "citizen", Title: "Citizens (the dev runtime's demo only):"},
		&cobra.Group{ID: "caseworker", Title: "Caseworkers, citizen service (the dev runtime's demo only):"},
		&cobra.Group{ID: "registry", Title: "Registry and demo data (direct access):"}, &cobra.Group{ID: "operator", Title: "Operators (direct access to PostgreSQL and Temporal):"})
	root.AddCommand(sendCmd(), statusCmd(), messagesCmd(), dossierCmd(), withdrawCmd(), openCmd(), citizenCmd(), senderCmd(), seedCmd(),
		lettersCmd(), outboxCmd(), noticesCmd(), historyCmd(), codecServerCmd(), bulkCmd(), exemptionCmd(), enrolCmd(), readingAccessCmd(), printhouseCmd(), nemsmsCmd(), appointmentCmd(), rolloutCmd())
	// A flag that does not parse (--deadline "3 days") is bad input like any other.
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error {
		return &fielderr.Error{Field: "command line", Rule: err.Error()}
	})
	return root
}

// exitCode is 2 for bad input and for a request the letter's state turns away (the message
// says why), 1 for anything else.
func exitCode(err error) int {
	var refused *postoffice.Refused
	var conflict *postoffice.Conflict
	var bulkConflict *postoffice.BulkConflict
	var problem *sendersapi.Problem
	if fields := fielderr.Fields(err); len(fields) > 0 || errors.As(err, &refused) || errors.As(err, &conflict) || errors.As(err, &bulkConflict) ||
		(errors.As(err, &problem) && problem.Refused()) {
		return 2
	}
	return 1
}

// describe puts each broken rule of bad input on a line of its own, so a refused bulk run
// reads as a list of rows to fix.
func describe(err error) string {
	var list fielderr.List
	var conflict *postoffice.BulkConflict
	var problem *sendersapi.Problem
	if errors.As(err, &conflict) {
		list = conflict.Rules
		err = list
	} else if errors.As(err, &problem) && len(problem.Errors) > 0 {
		err = problem.Unwrap() // the API's refusal of bad input reads as the command's own checks
	}
	if errors.As(err, &list) && len(list) > 1 && err.Error() == list.Error() {
		var b strings.Builder
		b.WriteString("error: refused; fix these and try again:")
		for _, e := range list {
			b.WriteString("\n  " + e.Error())
		}
		return b.String()
	}
	return "error: " + err.Error()
}

// connect opens PostgreSQL and Temporal the way the worker does.
func connect(ctx context.Context) (*engine.Engine, func(), error) {
	cfg, err := config.Load()
	if err != nil {
		return nil, nil, err
	}
	logger, err := commandLogger()
	if err != nil {
		return nil, nil, err
	}
	return engine.Connect(ctx, cfg, 4, logger, temporalclient.Instruments{Tracing: tracing})
}

// withEngine runs fn with a connected engine, as one span named after the command, so what
// the command starts in Temporal hangs under it. Operator, caseworker and demo commands use it;
// the sender commands go through the senders' API (withSenderAPI).
func withEngine(fn func(ctx context.Context, e *engine.Engine) error) func(*cobra.Command, []string) error {
	return traced(func(ctx context.Context) error {
		e, closeAll, err := connect(ctx)
		if err != nil {
			return err
		}
		defer closeAll()
		return fn(ctx, e)
	})
}

// traced runs fn as one span named after the command (its arguments are left out: they hold
// CPR numbers).
func traced(fn func(ctx context.Context) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, _ []string) (err error) {
		ctx, span := tracing.Provider().Tracer("digitalpost/starter").Start(cmd.Context(), cmd.CommandPath())
		defer func() {
			if err != nil {
				span.SetStatus(codes.Error, err.Error())
			}
			span.End()
		}()
		return fn(ctx)
	}
}
