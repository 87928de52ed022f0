-- PostgreSQL twin of ../0007_forgetting.sql: forgetting a customer (/forget) and the append-only ledger.
--
-- The ledger stays append-only for everything that counts: no row can be deleted, and no update may touch
-- the customer, kind, points, purchase, expiry, key, actor or time. The one exception is the free-text
-- `reason`: an update that only sets it to NULL is allowed, so /forget can blank it (a migration that adds a
-- column to points_ledger must add it to this list). SQLite's `a IS b` is `a IS NOT DISTINCT FROM b` here.
DROP TRIGGER points_ledger_no_update ON points_ledger;
CREATE TRIGGER points_ledger_no_update BEFORE UPDATE ON points_ledger
FOR EACH ROW WHEN (NOT (
    NEW.reason IS NULL
    AND NEW.id IS NOT DISTINCT FROM OLD.id
    AND NEW.customer_id IS NOT DISTINCT FROM OLD.customer_id
    AND NEW.kind IS NOT DISTINCT FROM OLD.kind
    AND NEW.delta IS NOT DISTINCT FROM OLD.delta
    AND NEW.purchase_id IS NOT DISTINCT FROM OLD.purchase_id
    AND NEW.expires_entry_id IS NOT DISTINCT FROM OLD.expires_entry_id
    AND NEW.expires_at IS NOT DISTINCT FROM OLD.expires_at
    AND NEW.idempotency_key IS NOT DISTINCT FROM OLD.idempotency_key
    AND NEW.actor_tg_id IS NOT DISTINCT FROM OLD.actor_tg_id
    AND NEW.created_at IS NOT DISTINCT FROM OLD.created_at
))
EXECUTE FUNCTION refuse_change('points_ledger is append-only (only a reason may be blanked)');

-- /forget finds what was posted about a customer's leads without reading the whole outbox.
CREATE INDEX outbox_lead ON outbox (lead_id) WHERE lead_id IS NOT NULL;
CREATE INDEX leads_customer ON leads (customer_id);
-- … and a manager's correction note about them in the audit log (the only free text there about a customer).
CREATE INDEX audit_log_adjusted ON audit_log (subject) WHERE action = 'points_adjusted';
