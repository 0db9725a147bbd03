// Package apikeys issues and checks the senders' API keys. A key is shown once when it is
// created; PostgreSQL keeps only its SHA-256, so a copy of the database opens no API.
package apikeys

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// prefix marks our keys, so a leaked one is recognised by secret scanners and people.
const prefix = "dpk_"

// ErrInvalid is any key that does not open the API: malformed, unknown, wrong or revoked.
// One error for all, so a caller learns nothing about which part was wrong.
var ErrInvalid = errors.New("invalid or revoked API key")

// ErrNotFound is a key id that is not this sender's.
var ErrNotFound = errors.New("no such key")

// Keys is the key table.
type Keys struct{ db *pgxpool.Pool }

// New returns the key table on db.
func New(db *pgxpool.Pool) *Keys { return &Keys{db: db} }

// Key is a key as listed: never its secret.
type Key struct {
	ID         string
	SenderID   string
	CreatedAt  time.Time
	RevokedAt  *time.Time
	LastUsedAt *time.Time
}

var encoding = base32.StdEncoding.WithPadding(base32.NoPadding)

func random(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand never fails on Linux
	return strings.ToLower(encoding.EncodeToString(b))
}

func hash(key string) []byte {
	h := sha256.Sum256([]byte(key))
	return h[:]
}

// ErrUnknownSender is a key asked for a sender the registry does not have.
var ErrUnknownSender = errors.New("is not registered")

// Create issues a new key for a sender and returns it whole, the only time it is seen.
func (k *Keys) Create(ctx context.Context, senderID string) (Key, string, error) {
	id := random(5)                          // 8 characters: names the key in lists and logs
	secret := prefix + id + "_" + random(20) // 160 random bits
	var key Key
	err := k.db.QueryRow(ctx, `INSERT INTO sender_api_keys (id, sender_id, key_hash)
		SELECT $1, $2, $3 WHERE EXISTS (SELECT 1 FROM senders WHERE id = $2)
		RETURNING id, sender_id, created_at`, id, senderID, hash(secret)).Scan(&key.ID, &key.SenderID, &key.CreatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return Key{}, "", fmt.Errorf("sender %q %w", senderID, ErrUnknownSender)
	}
	if err != nil {
		return Key{}, "", fmt.Errorf("create key: %w", err)
	}
	return key, secret, nil
}

// List shows a sender's keys, newest first.
func (k *Keys) List(ctx context.Context, senderID string) ([]Key, error) {
	rows, err := k.db.Query(ctx, `SELECT id, sender_id, created_at, revoked_at, last_used_at
		FROM sender_api_keys WHERE sender_id = $1 ORDER BY created_at DESC`, senderID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Key, error) {
		var key Key
		err := r.Scan(&key.ID, &key.SenderID, &key.CreatedAt, &key.RevokedAt, &key.LastUsedAt)
		return key, err
	})
}

// Revoke ends a key at once. Revoking a revoked key is not an error.
func (k *Keys) Revoke(ctx context.Context, senderID, id string) error {
	tag, err := k.db.Exec(ctx, `UPDATE sender_api_keys SET revoked_at = coalesce(revoked_at, now())
		WHERE sender_id = $1 AND id = $2`, senderID, id)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return ErrNotFound
	}
	return nil
}

// IDOf is a key's id, the part that names it in lists and records ("" for a string that is no
// key): never the secret.
func IDOf(key string) string {
	rest, ok := strings.CutPrefix(key, prefix)
	id, _, ok2 := strings.Cut(rest, "_")
	if !ok || !ok2 || len(id) != 8 {
		return ""
	}
	return id
}

// Authenticate returns the sender a key belongs to. The stored hash is compared in constant
// time; last use is recorded at most once a minute, so a busy key costs no write per request.
func (k *Keys) Authenticate(ctx context.Context, key string) (string, error) {
	rest, ok := strings.CutPrefix(key, prefix)
	id, _, ok2 := strings.Cut(rest, "_")
	if !ok || !ok2 || len(id) != 8 {
		return "", ErrInvalid
	}
	var sender string
	var stored []byte
	var revoked bool
	var lastUsed *time.Time
	err := k.db.QueryRow(ctx, `SELECT sender_id, key_hash, revoked_at IS NOT NULL, last_used_at
		FROM sender_api_keys WHERE id = $1`, id).Scan(&sender, &stored, &revoked, &lastUsed)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", ErrInvalid
	}
	if err != nil {
		return "", err
	}
	if subtle.ConstantTimeCompare(stored, hash(key)) != 1 || revoked {
		return "", ErrInvalid
	}
	if lastUsed == nil || time.Since(*lastUsed) > time.Minute {
		_, _ = k.db.Exec(ctx, `UPDATE sender_api_keys SET last_used_at = now() WHERE id = $1`, id)
	}
	return sender, nil
}
