-- PostgreSQL twin of ../0019_audit_filters.sql: the console's audit log filtered by actor and by action.
CREATE INDEX audit_log_actor ON audit_log (actor_tg_id, id);
CREATE INDEX audit_log_action ON audit_log (action, id);
