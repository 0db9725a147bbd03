package main

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/spf13/cobra"

	"digitalpost/internal/clients/codecserver"
	"digitalpost/internal/clients/operatorgate"
	"digitalpost/internal/domain/fielderr"
	"digitalpost/internal/domain/letters"
	"digitalpost/internal/infra/codec"
	"digitalpost/internal/infra/config"
	"digitalpost/internal/infra/engine"
	"digitalpost/internal/infra/history"
	"digitalpost/internal/infra/temporalclient"
)

func historyCmd() *cobra.Command {
	var asJSON bool
	var runID string
	cmd := &cobra.Command{
		Use:     "history LETTER_ID|WORKFLOW_ID [--run-id RUN_ID] [--json]",
		Short:   "Print a letter's or case's Temporal history with its payloads decrypted (needs PAYLOAD_KEYS)",
		GroupID: "operator",
		Args:    cobra.ExactArgs(1),
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the decoded history as JSON (the form replay tests read)")
	cmd.Flags().StringVar(&runID, "run-id", "", "one run of the workflow, e.g. an earlier run that continued as new (default: the latest)")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		return withEngine(func(ctx context.Context, e *engine.Engine) error {
			id := args[0]
			if lid, err := uuid.Parse(id); err == nil { // a bare letter id
				id = letters.WorkflowID(lid)
			}
			keys, err := temporalclient.Keys(e.Config)
			if err != nil {
				return err
			}
			h, err := history.FetchRun(ctx, e.Temporal, id, runID)
			if err != nil {
				return err
			}
			if err := history.Decode(ctx, h, codec.New(keys)); err != nil {
				return err
			}
			if asJSON {
				return history.WriteJSON(os.Stdout, h)
			}
			fmt.Printf("history of %s (%d events)\n", id, len(h.Events))
			return history.WriteText(ctx, os.Stdout, h)
		})(cmd, args)
	}
	return cmd
}

func codecServerCmd() *cobra.Command {
	var uiAddress string
	cmd := &cobra.Command{
		Use:   "codec-server [--ui URL]",
		Short: "Serve the payload codec to the Temporal UI for operators holding OPERATOR_TOKEN",
		Long: `Serves the payload codec for operators holding OPERATOR_TOKEN (Authorization: Bearer).
With --ui, it is also the operators' gate to a Temporal UI on an internal address: an operator
signs in with the token (a session cookie, not the token, is kept), the UI is proxied, and the
codec is served on the same origin at /codec, so the UI's codec endpoint (TEMPORAL_CODEC_ENDPOINT
= this address + /codec) holds no secret.`,
		GroupID: "operator",
		Args:    cobra.NoArgs,
	}
	cmd.Flags().StringVar(&uiAddress, "ui", "", "a Temporal UI to put behind the operator sign-in (e.g. http://temporal-ui:8080)")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		cfg, err := config.Load()
		if err != nil {
			return err
		}
		keys, err := temporalclient.Keys(cfg)
		if err != nil {
			return err
		}
		if len(cfg.OperatorToken) < 16 {
			return &fielderr.Error{Field: "OPERATOR_TOKEN", Rule: "must be set, at least 16 characters"}
		}
		srv := &http.Server{Addr: cfg.CodecServerAddr, ReadHeaderTimeout: 10 * time.Second,
			Handler: codecserver.Handler(codec.New(keys), cfg.OperatorToken, strings.Split(cfg.CodecUIOrigins, ","))}
		if uiAddress != "" {
			ui, err := url.Parse(uiAddress)
			if err != nil || ui.Host == "" {
				return &fielderr.Error{Field: "ui", Rule: "must be an absolute URL such as http://temporal-ui:8080"}
			}
			srv.Handler = operatorgate.New(ui, cfg.OperatorToken, codec.New(keys))
		}
		go func() { <-cmd.Context().Done(); _ = srv.Close() }()
		fmt.Fprintf(os.Stderr, "codec server on http://%s (UI origins %s)\n", cfg.CodecServerAddr, cfg.CodecUIOrigins)
		if err := srv.ListenAndServe(); err != http.ErrServerClosed {
			return err
		}
		return nil
	}
	return cmd
}
