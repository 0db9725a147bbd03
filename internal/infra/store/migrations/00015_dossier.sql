-- +goose Up
-- Which API key a letter came with, for its delivery dossier ("api-key:<id>"; '' for letters
-- submitted inside the engine, or before this column).
ALTER TABLE letters ADD COLUMN submitted_by text NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE letters DROP COLUMN submitted_by;
