-- PostgreSQL twin of ../0011_enrollment_contact.sql: when a sequence first reached the customer, kept on
-- the enrolment itself (the outbox rows that prove it are pruned while the enrolment stays).
ALTER TABLE enrollments ADD COLUMN first_sent_at TEXT COLLATE "C";

UPDATE enrollments SET first_sent_at = (
    SELECT MIN(o.sent_at) FROM outbox o WHERE o.enrollment_id = enrollments.id AND o.state = 'sent'
);

-- Set in the same transaction as the row is marked sent, whoever marks it; one function for both triggers.
CREATE FUNCTION enrollments_first_contact() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE enrollments SET first_sent_at = NEW.sent_at
    WHERE id = NEW.enrollment_id AND (first_sent_at IS NULL OR first_sent_at > NEW.sent_at);
    RETURN NULL;
END;
$$;
CREATE TRIGGER enrollments_first_contact AFTER UPDATE OF state ON outbox
FOR EACH ROW WHEN (NEW.state = 'sent' AND NEW.enrollment_id IS NOT NULL)
EXECUTE FUNCTION enrollments_first_contact();

-- A row written as already sent (an import of history, a test fixture) counts the same.
CREATE TRIGGER enrollments_first_contact_inserted AFTER INSERT ON outbox
FOR EACH ROW WHEN (NEW.state = 'sent' AND NEW.enrollment_id IS NOT NULL)
EXECUTE FUNCTION enrollments_first_contact();
