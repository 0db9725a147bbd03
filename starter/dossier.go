package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"digitalpost/internal/clients/sendersapi"
	"digitalpost/internal/domain/dossier"
	"digitalpost/internal/domain/fielderr"
)

// dossierCmd fetches a letter's signed delivery dossier and verifies one offline.
func dossierCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "dossier", Short: "A letter's signed delivery dossier: fetch it, verify it", GroupID: "sender"}
	var sender, out string
	var pdf bool
	get := &cobra.Command{Use: "get LETTER_ID [--pdf] [-o FILE]", Short: "Fetch the dossier (JSON, or PDF with --pdf), byte for byte as signed", Args: cobra.ExactArgs(1)}
	senderFlag(get.Flags(), &sender)
	get.Flags().BoolVar(&pdf, "pdf", false, "the PDF instead of the JSON")
	get.Flags().StringVarP(&out, "output", "o", "", "write it to this file (default: standard output)")
	get.RunE = func(cmd *cobra.Command, args []string) error {
		id, err := letterArg(args)
		if err != nil {
			return err
		}
		return withLetterAPI(&sender, id, func(ctx context.Context, api *sendersapi.Client) error {
			b, err := api.Dossier(ctx, id, pdf)
			if err != nil {
				return err
			}
			if out == "" {
				_, err = os.Stdout.Write(b)
				return err
			}
			if err := os.WriteFile(out, b, 0o600); err != nil {
				return &fielderr.Error{Field: "output", Rule: err.Error()}
			}
			fmt.Fprintf(os.Stderr, "dossier of letter %s written to %s\n", id, out)
			return nil
		})(cmd, args)
	}

	var keysFile string
	verify := &cobra.Command{Use: "verify FILE [--keys keys.json]",
		Short: "Check a dossier's signature, offline with --keys (a saved GET /v1/keys), else against the API's published keys", Args: cobra.ExactArgs(1)}
	verify.Flags().StringVar(&keysFile, "keys", "", "the published keys as GET /v1/keys answers them, saved to a file: no network needed")
	verify.RunE = func(cmd *cobra.Command, args []string) error {
		file, err := os.ReadFile(args[0])
		if err != nil {
			return &fielderr.Error{Field: "FILE", Rule: err.Error()}
		}
		var published []byte
		if keysFile != "" {
			if published, err = os.ReadFile(keysFile); err != nil {
				return &fielderr.Error{Field: "keys", Rule: err.Error()}
			}
		} else if published, err = sendersapi.New(os.Getenv("DIGITALPOST_API"), "").DossierKeys(context.Background()); err != nil {
			return err
		}
		var keys struct {
			Keys []dossier.PublicKey `json:"keys"`
		}
		if err := json.Unmarshal(published, &keys); err != nil {
			return &fielderr.Error{Field: "keys", Rule: "must be the JSON GET /v1/keys answers: " + err.Error()}
		}
		id, rec, err := dossier.Verify(file, dossier.KeysOf(keys.Keys))
		if err != nil {
			return fmt.Errorf("%s does NOT verify: %w", args[0], err)
		}
		fmt.Printf("%s verifies: signed with key %s (Ed25519)\n", args[0], id)
		if rec != nil {
			fmt.Printf("letter %s from %s, issued %s\n", rec.Letter.ID, rec.Letter.Sender, rec.IssuedAt.Format("2006-01-02 15:04:05 MST"))
			if rec.LegalDeliveryAt != nil {
				fmt.Printf("arrived (legal delivery) %s\n", rec.LegalDeliveryAt.Format("2006-01-02 15:04:05 MST"))
			}
		}
		return nil
	}
	cmd.AddCommand(get, verify)
	return cmd
}
