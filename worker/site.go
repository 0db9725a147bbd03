package main

import (
	"context"
	"encoding/base64"
	"fmt"
	"log/slog"

	"digitalpost/internal/clients/web"
	"digitalpost/internal/infra/config"
	"digitalpost/internal/infra/engine"
)

// newSite builds the pages from the configuration: the development sign-in only with -dev,
// OpenID Connect when an issuer is set.
func newSite(ctx context.Context, e *engine.Engine, cfg config.Config, dev bool, log *slog.Logger) (*web.Site, error) {
	opts := web.Options{Dev: dev}
	if cfg.SessionKey != "" {
		key, err := base64.StdEncoding.DecodeString(cfg.SessionKey)
		if err != nil {
			return nil, fmt.Errorf("SESSION_KEY: must be base64: %w", err)
		}
		opts.SessionKey = key
	}
	if cfg.OIDCIssuer != "" {
		redirect := cfg.OIDCRedirectURL
		if redirect == "" {
			redirect = "http://" + cfg.HTTPAddr + "/oidc/callback"
		}
		o, err := web.NewOIDC(ctx, cfg.OIDCIssuer, cfg.OIDCClientID, cfg.OIDCClientSecret, redirect, web.Claims{
			CPR: cfg.OIDCCPRClaim, Name: cfg.OIDCNameClaim, Roles: cfg.OIDCRolesClaim, Sender: cfg.OIDCSenderClaim,
			CaseworkerRole: cfg.OIDCCaseworkerRole, SenderRole: cfg.OIDCSenderRole, AllowedACR: cfg.OIDCAllowedACR})
		if err != nil {
			return nil, err
		}
		opts.OIDC = o
	}
	return web.New(web.Desks{PostOffice: e.PostOffice, CitizenService: e.Desk, Sessions: e.PageSessions}, log, opts)
}
