-- The content (FAQ, sequences, texts, loyalty rules…) as the owner edits it in the console: every save is a
-- whole validated document, so any version can be shown, compared, exported or made current again. The
-- newest row is the bot's content; with no row, the content file is. Rows are never changed or deleted
-- (a revert is a new row), so "who changed what when" is the table itself.
CREATE TABLE content_versions (
    id          INTEGER PRIMARY KEY,
    document    TEXT NOT NULL,                         -- the whole content as YAML (what export gives back)
    kind        TEXT NOT NULL CHECK (kind IN ('file', 'edit', 'import', 'revert')),
    summary     TEXT NOT NULL,                         -- what changed, in the editor's words or the console's
    changed     TEXT NOT NULL DEFAULT '[]',            -- the places it changed (JSON list: faq[prices].answer.en …)
    reverts_to  INTEGER REFERENCES content_versions (id),  -- the version a revert brought back
    created_by  INTEGER,                               -- the Telegram id of who saved it; NULL: the content file
    created_at  TEXT NOT NULL
);
