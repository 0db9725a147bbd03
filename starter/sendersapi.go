package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/google/uuid"
	"github.com/spf13/cobra"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"

	"digitalpost/internal/clients/sendersapi"
	"digitalpost/internal/domain/apikeys"
	"digitalpost/internal/domain/fielderr"
	"digitalpost/internal/infra/config"
	"digitalpost/internal/infra/devenv"
	"digitalpost/internal/infra/engine"
	"digitalpost/internal/infra/telemetry"
)

// senderAPI is the senders' API as the sender commands reach it: DIGITALPOST_API with the key
// in DIGITALPOST_API_KEY, which decides the sender, so the command can do only what the key
// may. Beside `go run ./worker -dev` no key is needed: --sender names the sender, and the dev
// runtime's key of that sender is used, made on first use and kept in the dev data folder.
//
// own says whether the environment names a system of its own (namesASystem, read before any
// config.Load, which sets the dev runtime's variables).
func senderAPI(ctx context.Context, sender string, own bool) (*sendersapi.Client, error) {
	cfg, err := config.Load()
	if err != nil {
		return nil, err
	}
	c := sendersapi.New(cfg.SendersAPI, cfg.SendersAPIKey)
	if tracing.Enabled() { // the API links its request to this command's span
		c.HTTP.Transport = otelhttp.NewTransport(http.DefaultTransport,
			otelhttp.WithTracerProvider(tracing.Provider()), otelhttp.WithPropagators(telemetry.Propagator))
	}
	switch {
	case cfg.SendersAPIKey != "" && sender != "":
		return nil, &fielderr.Error{Field: "--sender", Rule: "must be left out with DIGITALPOST_API_KEY: the key decides the sender"}
	case cfg.SendersAPIKey != "":
		return c, nil
	case own || !devRuntime(cfg): // a dev key is made only in the dev runtime's own database
		return nil, errors.New("DIGITALPOST_API_KEY is not set: export a sender's key (an operator makes one with " +
			"`starter sender key create --sender ID`); beside `go run ./worker -dev` none is needed")
	case sender == "":
		return nil, &fielderr.Error{Field: "--sender", Rule: "is required beside the dev runtime (a sender id, see `starter seed`), or set DIGITALPOST_API_KEY"}
	}
	if c.Key, err = devKey(ctx, cfg, sender); err != nil {
		return nil, err
	}
	c.OnRefusal = func(p *sendersapi.Problem) error {
		if p.Status != http.StatusUnauthorized {
			return p
		}
		// The dev database changed under the kept key (reset, or another PostgreSQL): the next
		// command makes a new one.
		_ = os.Remove(devKeyFile(cfg, sender))
		return fmt.Errorf("%w; the dev key of %s (%s) no longer works and is removed: run the command again", p, sender, devKeyFile(cfg, sender))
	}
	return c, nil
}

func devKeyFile(cfg config.Config, sender string) string {
	return filepath.Join(cfg.DevDataDir, "api-keys", sender)
}

// devRuntime reports whether the command runs beside `worker -dev`: its dev.env is there.
func devRuntime(cfg config.Config) bool {
	_, err := os.Stat(config.DevEnvFile(cfg.DevDataDir))
	return err == nil
}

// devKey is the dev runtime's API key of a sender, kept in <dev data>/api-keys/<sender>; the
// first use makes it in the dev database, which only the dev runtime lets this command reach.
func devKey(ctx context.Context, cfg config.Config, sender string) (string, error) {
	if strings.ContainsAny(sender, `/\`) || strings.HasPrefix(sender, ".") {
		return "", &fielderr.Error{Field: "--sender", Rule: "must be a sender id"}
	}
	path := devKeyFile(cfg, sender)
	if b, err := os.ReadFile(path); err == nil && len(strings.TrimSpace(string(b))) > 0 {
		return strings.TrimSpace(string(b)), nil
	}
	if cfg.DatabaseURL == "" {
		return "", errors.New("the dev runtime's dev.env names no DATABASE_URL; restart `go run ./worker -dev`")
	}
	secret, err := devenv.NewSenderKey(ctx, cfg.DatabaseURL, sender)
	if errors.Is(err, apikeys.ErrUnknownSender) {
		return "", &fielderr.Error{Field: "--sender", Rule: err.Error()}
	}
	if err != nil {
		return "", err // the dev database, not the flag
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return "", err
	}
	if err := os.WriteFile(path, []byte(secret+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("keep the dev key of %s: %w", sender, err)
	}
	return secret, nil
}

// withSenderAPI runs fn with the senders' API as the command's sender, as one span named after
// the command (its arguments are left out: they hold CPR numbers).
func withSenderAPI(sender *string, fn func(ctx context.Context, api *sendersapi.Client) error) func(*cobra.Command, []string) error {
	return traced(func(ctx context.Context) error {
		api, err := senderAPI(ctx, *sender, namesASystem())
		if err != nil {
			return err
		}
		return fn(ctx, api)
	})
}

// withLetterAPI is withSenderAPI for a command about one letter: beside the dev runtime and
// without --sender, the letter's own sender acts, so `status LETTER_ID` works as the README's
// first letter shows it.
func withLetterAPI(sender *string, letterID string, fn func(ctx context.Context, api *sendersapi.Client) error) func(*cobra.Command, []string) error {
	return traced(func(ctx context.Context) error {
		own := namesASystem()
		as := *sender
		if as == "" && !own {
			as = devSenderOf(ctx, letterID)
		}
		api, err := senderAPI(ctx, as, own)
		if err != nil {
			return err
		}
		return fn(ctx, api)
	})
}

// devSenderOf is the sender of a letter in the dev runtime's database, or "" with a key (it
// decides the sender) and when the letter is not found. Only for a command whose environment
// names no system of its own.
func devSenderOf(ctx context.Context, letterID string) string {
	if os.Getenv("DIGITALPOST_API_KEY") != "" {
		return ""
	}
	cfg, err := config.Load()
	if err != nil || !devRuntime(cfg) || cfg.DatabaseURL == "" {
		return ""
	}
	id, err := uuid.Parse(letterID)
	if err != nil {
		return "" // the API names the malformed id
	}
	sender, _ := devenv.LetterSender(ctx, cfg.DatabaseURL, id)
	return sender
}

// asPerson runs a command that acts as a citizen or a caseworker (open a letter, decide a
// case). Those people act through the pages, signed in; the command line may stand in for them
// only in the dev runtime's demo, against the dev system its dev.env names.
func asPerson(fn func(ctx context.Context, e *engine.Engine) error) func(*cobra.Command, []string) error {
	run := withEngine(fn)
	return func(cmd *cobra.Command, args []string) error {
		own := namesASystem() // before Load, which sets the dev runtime's variables
		cfg, err := config.Load()
		if err != nil {
			return err
		}
		if own || !devRuntime(cfg) {
			return fmt.Errorf("%s acts as a citizen or a caseworker, which the command line does only in the dev runtime's demo "+
				"(beside `go run ./worker -dev`, with no DATABASE_URL, TEMPORAL_ADDRESS or PAYLOAD_KEYS set); citizens and caseworkers use the pages", cmd.CommandPath())
		}
		return run(cmd, args)
	}
}

// namesASystem reports whether the environment points the command at a system of its own
// rather than the dev runtime's.
func namesASystem() bool {
	for _, k := range []string{"DATABASE_URL", "TEMPORAL_ADDRESS", "PAYLOAD_KEYS"} {
		if v, set := os.LookupEnv(k); set && v != "" {
			return true
		}
	}
	return false
}
