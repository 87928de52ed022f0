-- Segments and targeted broadcasts.

-- Per-customer purchase figures, kept by triggers in the same transaction as the purchase, so a segment
-- ("purchases>=4 last_purchase>30d spent>5000") reads one row per customer instead of aggregating every
-- purchase. Purchases are insert-only, so an insert trigger is all it takes to stay exact.
CREATE TABLE purchase_totals (
    customer_id  INTEGER PRIMARY KEY REFERENCES customers(id),
    purchases    INTEGER NOT NULL,
    spent_cents  INTEGER NOT NULL,
    first_at     TEXT NOT NULL,
    last_at      TEXT NOT NULL
);
CREATE INDEX purchase_totals_last ON purchase_totals (last_at);
CREATE INDEX purchase_totals_spent ON purchase_totals (spent_cents);

-- Which categories a customer ever bought (the purchase's own and its items'), for bought:/!bought:.
CREATE TABLE purchase_categories (
    category     TEXT NOT NULL,
    customer_id  INTEGER NOT NULL REFERENCES customers(id),
    last_at      TEXT NOT NULL,
    PRIMARY KEY (category, customer_id)
) WITHOUT ROWID;

INSERT INTO purchase_totals (customer_id, purchases, spent_cents, first_at, last_at)
SELECT customer_id, COUNT(*), SUM(amount_cents), MIN(purchased_at), MAX(purchased_at)
FROM purchases GROUP BY customer_id;

INSERT INTO purchase_categories (category, customer_id, last_at)
SELECT category, customer_id, MAX(purchased_at) FROM (
    SELECT category, customer_id, purchased_at FROM purchases WHERE category IS NOT NULL
    UNION ALL
    SELECT i.category, p.customer_id, p.purchased_at
    FROM purchase_items i JOIN purchases p ON p.id = i.purchase_id WHERE i.category IS NOT NULL
) GROUP BY category, customer_id;

CREATE TRIGGER purchase_totals_on_insert AFTER INSERT ON purchases
BEGIN
    INSERT INTO purchase_totals (customer_id, purchases, spent_cents, first_at, last_at)
    VALUES (NEW.customer_id, 1, NEW.amount_cents, NEW.purchased_at, NEW.purchased_at)
    ON CONFLICT (customer_id) DO UPDATE SET
        purchases = purchases + 1,
        spent_cents = spent_cents + excluded.spent_cents,
        first_at = MIN(first_at, excluded.first_at),
        last_at = MAX(last_at, excluded.last_at);
    INSERT INTO purchase_categories (category, customer_id, last_at)
    SELECT NEW.category, NEW.customer_id, NEW.purchased_at WHERE NEW.category IS NOT NULL
    ON CONFLICT (category, customer_id) DO UPDATE SET last_at = MAX(last_at, excluded.last_at);
END;

CREATE TRIGGER purchase_item_categories_on_insert AFTER INSERT ON purchase_items
WHEN NEW.category IS NOT NULL
BEGIN
    INSERT INTO purchase_categories (category, customer_id, last_at)
    SELECT NEW.category, p.customer_id, p.purchased_at FROM purchases p WHERE p.id = NEW.purchase_id
    ON CONFLICT (category, customer_id) DO UPDATE SET last_at = MAX(last_at, excluded.last_at);
END;

-- A broadcast from its wizard draft to the last delivery. The wizard's answers are stored as they are
-- given, so a restart in the middle of the dialog loses nothing.
CREATE TABLE broadcasts (
    id                   INTEGER PRIMARY KEY,
    state                TEXT NOT NULL DEFAULT 'draft'
                         CHECK (state IN ('draft', 'discarded', 'scheduled', 'queuing', 'sending', 'done',
                                          'cancelled')),
    step                 TEXT,                      -- the wizard's question while a draft
    paused               INTEGER NOT NULL DEFAULT 0,  -- 1: the sender skips its rows
    created_by           INTEGER NOT NULL,          -- Telegram id of the owner or manager
    segment              TEXT,                      -- the expression (or saved name) as typed
    message              TEXT,                      -- JSON: text (HTML), photo or video, without buttons
    buttons              TEXT,                      -- JSON: [{text, url | action}]
    coupon               TEXT,                      -- a coupon campaign key from the content file
    coupon_limit         INTEGER,                   -- at most this many coupons from this broadcast
    coupons_issued       INTEGER NOT NULL DEFAULT 0,
    send_at              TEXT,                      -- when to queue it; NULL: at once
    audience             INTEGER NOT NULL DEFAULT 0,  -- rows queued so far
    queue_upto           INTEGER,                   -- the highest customer id it goes to (fixed at start)
    queued_upto          INTEGER NOT NULL DEFAULT 0,  -- customer ids up to here are queued
    progress_chat_id     INTEGER,
    progress_message_id  INTEGER,
    progress_text        TEXT,                      -- what the progress message shows now
    progress_at          TEXT,
    created_at           TEXT NOT NULL,
    confirmed_at         TEXT,
    started_at           TEXT,
    finished_at          TEXT,
    cancelled_by         INTEGER
);
CREATE INDEX broadcasts_state ON broadcasts (state, send_at);
CREATE INDEX broadcasts_draft ON broadcasts (created_by, state);

-- Progress, pause, cancel and attribution all look at one broadcast's rows.
CREATE INDEX outbox_broadcast ON outbox (broadcast_id, state);
