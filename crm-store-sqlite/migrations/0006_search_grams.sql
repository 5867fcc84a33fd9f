-- Schema version 6: kept in step with the PostgreSQL store's numbering. PostgreSQL adds a
-- second GIN index over four-character windows of the search document there (its trigram
-- posting lists were too long in large tenants); SQLite's FTS5 trigram index is unchanged,
-- so nothing changes here.
SELECT 1;
