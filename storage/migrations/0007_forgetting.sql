-- Forgetting a customer (/forget) and the append-only points ledger.
--
-- The ledger stays append-only for everything that counts: no row can be deleted, and no update may touch
-- the customer, kind, points, purchase, expiry, key, actor or time. The one exception is the free-text
-- `reason` (a manager's note on a correction can name the customer): an update that only sets it to NULL
-- is allowed, so /forget can blank it. Nothing else can be changed that way, and a blanked reason cannot be
-- filled again (a migration that adds a column to points_ledger must add it to this list). Balances, expiry replays and idempotency keys are unaffected: none of them reads `reason`.
DROP TRIGGER points_ledger_no_update;
CREATE TRIGGER points_ledger_no_update BEFORE UPDATE ON points_ledger
WHEN NOT (
    NEW.reason IS NULL
    AND NEW.id IS OLD.id
    AND NEW.customer_id IS OLD.customer_id
    AND NEW.kind IS OLD.kind
    AND NEW.delta IS OLD.delta
    AND NEW.purchase_id IS OLD.purchase_id
    AND NEW.expires_entry_id IS OLD.expires_entry_id
    AND NEW.expires_at IS OLD.expires_at
    AND NEW.idempotency_key IS OLD.idempotency_key
    AND NEW.actor_tg_id IS OLD.actor_tg_id
    AND NEW.created_at IS OLD.created_at
)
BEGIN
    SELECT RAISE(ABORT, 'points_ledger is append-only (only a reason may be blanked)');
END;

-- /forget finds what was posted about a customer's leads without reading the whole outbox.
CREATE INDEX outbox_lead ON outbox (lead_id) WHERE lead_id IS NOT NULL;
CREATE INDEX leads_customer ON leads (customer_id);
-- … and a manager's correction note about them in the audit log (the only free text there about a customer).
CREATE INDEX audit_log_adjusted ON audit_log (subject) WHERE action = 'points_adjusted';
