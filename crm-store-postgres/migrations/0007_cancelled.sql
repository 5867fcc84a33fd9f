-- Schema version 7: follow-ups spell "cancelled" like activities (it was "canceled"). The
-- projected status column and the stored record are renamed, and so are the outbox events
-- (the library still reads the old spellings, so this only keeps filters and event kinds
-- consistent). Row-level security is lifted for the rename only, so that a migrating owner
-- reaches every tenant's rows. Idempotent.
ALTER TABLE follow_up NO FORCE ROW LEVEL SECURITY;
UPDATE follow_up
SET status = 'cancelled', data = jsonb_set(data::jsonb, '{status}', '"cancelled"')::text
WHERE status = 'canceled';
ALTER TABLE follow_up FORCE ROW LEVEL SECURITY;

ALTER TABLE outbox NO FORCE ROW LEVEL SECURITY;
UPDATE outbox
SET kind = 'follow_up_cancelled',
    data = jsonb_set(data::jsonb, '{event,type}', '"follow_up_cancelled"')::text
WHERE kind = 'follow_up_canceled';
ALTER TABLE outbox FORCE ROW LEVEL SECURITY;
