-- When a sequence first reached the customer, kept on the enrolment itself: a sequence is credited with a
-- purchase only after it made contact (storage/analytics.py `sequence_converted`), and the outbox rows
-- that prove it are pruned after RETENTION_OUTBOX_DAYS while the enrolment and the purchase stay.
ALTER TABLE enrollments ADD COLUMN first_sent_at TEXT;

UPDATE enrollments SET first_sent_at = (
    SELECT MIN(o.sent_at) FROM outbox o WHERE o.enrollment_id = enrollments.id AND o.state = 'sent'
);

-- Set in the same transaction as the row is marked sent, whoever marks it.
CREATE TRIGGER enrollments_first_contact AFTER UPDATE OF state ON outbox
WHEN NEW.state = 'sent' AND NEW.enrollment_id IS NOT NULL
BEGIN
    UPDATE enrollments SET first_sent_at = NEW.sent_at
    WHERE id = NEW.enrollment_id AND (first_sent_at IS NULL OR first_sent_at > NEW.sent_at);
END;

-- A row written as already sent (an import of history, a test fixture) counts the same.
CREATE TRIGGER enrollments_first_contact_inserted AFTER INSERT ON outbox
WHEN NEW.state = 'sent' AND NEW.enrollment_id IS NOT NULL
BEGIN
    UPDATE enrollments SET first_sent_at = NEW.sent_at
    WHERE id = NEW.enrollment_id AND (first_sent_at IS NULL OR first_sent_at > NEW.sent_at);
END;
