-- Loyalty: cards, purchases, the points ledger, coupons, referrals, staff invites, sale drafts, feedback.
-- Money is stored as decimal text (exact) next to integer cents (for sums in SQL).

-- Every customer's card code (what the cashier types or scans) and referral code; made on first need.
CREATE TABLE loyalty_cards (
    customer_id  INTEGER PRIMARY KEY REFERENCES customers(id),
    card_code    TEXT NOT NULL UNIQUE,
    ref_code     TEXT NOT NULL UNIQUE,
    created_at   TEXT NOT NULL
);

CREATE TABLE purchases (
    id            INTEGER PRIMARY KEY,
    customer_id   INTEGER NOT NULL REFERENCES customers(id),
    number        INTEGER NOT NULL,                  -- the customer's 1st, 2nd … purchase
    amount        TEXT NOT NULL,                     -- what the customer paid in money, e.g. "1500.50"
    amount_cents  INTEGER NOT NULL,
    points_spent  INTEGER NOT NULL DEFAULT 0,        -- paid on top with points
    category      TEXT,                              -- a catalog key, when one was given
    source        TEXT NOT NULL CHECK (source IN ('telegram', 'api', 'csv')),
    external_id   TEXT,                              -- the sender's id: a second POST/import is a no-op
    staff_tg_id   INTEGER,
    purchased_at  TEXT NOT NULL,                     -- when it happened (an import can be older)
    created_at    TEXT NOT NULL,                     -- when it was recorded here
    UNIQUE (source, external_id),
    UNIQUE (customer_id, number)
);
CREATE INDEX purchases_time ON purchases (purchased_at);

CREATE TABLE purchase_items (
    purchase_id  INTEGER NOT NULL REFERENCES purchases(id),
    position     INTEGER NOT NULL,
    name         TEXT NOT NULL,
    category     TEXT,
    quantity     TEXT NOT NULL DEFAULT '1',
    amount       TEXT,
    PRIMARY KEY (purchase_id, position)
);

-- Append-only: the balance is SUM(delta). Triggers refuse updates, deletes and a negative balance.
CREATE TABLE points_ledger (
    id               INTEGER PRIMARY KEY,
    customer_id      INTEGER NOT NULL REFERENCES customers(id),
    kind             TEXT NOT NULL CHECK (kind IN ('accrual', 'redemption', 'bonus', 'expiry', 'adjustment')),
    delta            INTEGER NOT NULL CHECK (delta <> 0),
    purchase_id      INTEGER REFERENCES purchases(id),
    reason           TEXT,                           -- welcome, birthday, referral, import, a manager's note …
    expires_entry_id INTEGER REFERENCES points_ledger(id), -- an expiry row: the credit it expires
    expires_at       TEXT,                           -- a credit: when what is left of it expires
    idempotency_key  TEXT NOT NULL UNIQUE,           -- accrual:<purchase>, welcome:<customer> … never twice
    actor_tg_id      INTEGER,
    created_at       TEXT NOT NULL
);
CREATE INDEX points_ledger_customer ON points_ledger (customer_id, id);
CREATE INDEX points_ledger_expires ON points_ledger (expires_at);
CREATE INDEX points_ledger_expired_entry ON points_ledger (expires_entry_id);

CREATE TRIGGER points_ledger_no_update BEFORE UPDATE ON points_ledger
BEGIN
    SELECT RAISE(ABORT, 'points_ledger is append-only');
END;
CREATE TRIGGER points_ledger_no_delete BEFORE DELETE ON points_ledger
BEGIN
    SELECT RAISE(ABORT, 'points_ledger is append-only');
END;
CREATE TRIGGER points_ledger_never_negative BEFORE INSERT ON points_ledger
WHEN NEW.delta < 0
 AND (SELECT COALESCE(SUM(delta), 0) FROM points_ledger WHERE customer_id = NEW.customer_id) + NEW.delta < 0
BEGIN
    SELECT RAISE(ABORT, 'points balance cannot go negative');
END;

-- Campaigns are defined in the content file; this row holds what must be counted atomically (stock).
CREATE TABLE coupon_campaigns (
    key         TEXT PRIMARY KEY,
    issued      INTEGER NOT NULL DEFAULT 0,
    created_at  TEXT NOT NULL
);

CREATE TABLE coupons (
    id               INTEGER PRIMARY KEY,
    code             TEXT NOT NULL UNIQUE,
    campaign         TEXT NOT NULL REFERENCES coupon_campaigns(key),
    customer_id      INTEGER NOT NULL REFERENCES customers(id),
    origin           TEXT NOT NULL,                  -- gift | claim | birthday | sequence | broadcast
    idempotency_key  TEXT NOT NULL UNIQUE,
    issued_at        TEXT NOT NULL,
    valid_from       TEXT NOT NULL,
    valid_until      TEXT NOT NULL,
    redeemed_at      TEXT,
    redeemed_by      INTEGER,                        -- staff tg id
    purchase_id      INTEGER REFERENCES purchases(id)
);
CREATE INDEX coupons_customer ON coupons (customer_id, campaign);
CREATE INDEX coupons_valid_until ON coupons (valid_until);

CREATE TABLE referrals (
    referred_id   INTEGER PRIMARY KEY REFERENCES customers(id),  -- a customer is referred at most once
    referrer_id   INTEGER NOT NULL REFERENCES customers(id),
    created_at    TEXT NOT NULL,
    rewarded_at   TEXT,
    purchase_id   INTEGER REFERENCES purchases(id)
);
CREATE INDEX referrals_referrer ON referrals (referrer_id);

CREATE TABLE staff_invites (
    token       TEXT PRIMARY KEY,
    role        TEXT NOT NULL CHECK (role IN ('manager', 'cashier')),
    created_by  INTEGER NOT NULL,
    created_at  TEXT NOT NULL,
    expires_at  TEXT NOT NULL,
    used_by     INTEGER,
    used_at     TEXT
);

-- A sale being entered in Telegram: one per staff member; the confirm button names its id.
CREATE TABLE sale_drafts (
    id             INTEGER PRIMARY KEY,
    staff_tg_id    INTEGER NOT NULL,
    customer_id    INTEGER NOT NULL REFERENCES customers(id),
    state          TEXT NOT NULL CHECK (state IN ('amount', 'category', 'summary', 'awaiting_customer',
                                                  'done', 'cancelled')),
    amount         TEXT,
    category       TEXT,
    points         INTEGER NOT NULL DEFAULT 0,
    purchase_id    INTEGER REFERENCES purchases(id),
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL
);
CREATE INDEX sale_drafts_staff ON sale_drafts (staff_tg_id, state);

CREATE TABLE purchase_feedback (
    purchase_id  INTEGER PRIMARY KEY REFERENCES purchases(id),
    customer_id  INTEGER NOT NULL REFERENCES customers(id),
    score        INTEGER NOT NULL CHECK (score BETWEEN 1 AND 5),
    created_at   TEXT NOT NULL
);

CREATE INDEX audit_log_time ON audit_log (created_at);
CREATE INDEX staff_active ON staff (revoked_at);
