-- Photos and videos the owner uploads in the console (an FAQ answer's photo, a sequence step's, a
-- broadcast's). Kept in the database, not on disk: they survive restarts, every process of the bot reads
-- them the same way (issue 13), and the content only names them (`media:<id>`), so exporting and
-- importing the content file loses nothing. The same bytes uploaded twice are one row (sha256).
-- `tg_file_id` is what Telegram answered for the first upload: later sends pass it instead of the bytes.
CREATE TABLE media (
    id          INTEGER PRIMARY KEY,
    kind        TEXT NOT NULL CHECK (kind IN ('photo', 'video')),
    mime_type   TEXT NOT NULL,
    sha256      TEXT NOT NULL UNIQUE,
    size        INTEGER NOT NULL,
    data        BLOB NOT NULL,
    tg_file_id  TEXT,
    created_by  INTEGER,                               -- the Telegram id of who uploaded it
    created_at  TEXT NOT NULL
);
