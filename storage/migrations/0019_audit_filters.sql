-- The console's audit log is filtered by who acted and by what they did, newest first, paged by id:
-- each filter reads a range of its own index instead of the whole log.
CREATE INDEX audit_log_actor ON audit_log (actor_tg_id, id);
CREATE INDEX audit_log_action ON audit_log (action, id);
