-- Schema version 4: kept in step with the PostgreSQL store's numbering. PostgreSQL adds a
-- fenced view over its search table there (row-level security kept its trigram index from
-- answering searches); SQLite has no row-level security and its FTS5 index is unaffected,
-- so nothing changes here.
SELECT 1;
