-- Schema version 7: follow-ups spell "cancelled" like activities (it was "canceled"). The
-- projected status column and the stored record are renamed, and so are the outbox events
-- (the library still reads the old spellings, so this only keeps filters and event kinds
-- consistent). Idempotent.
UPDATE follow_up
SET status = 'cancelled', data = json_set(data, '$.status', 'cancelled')
WHERE status = 'canceled';

UPDATE outbox
SET kind = 'follow_up_cancelled', data = json_set(data, '$.event.type', 'follow_up_cancelled')
WHERE kind = 'follow_up_canceled';
