-- Schema version 4: nothing changes in SQLite (PostgreSQL moved its search table behind fenced functions); kept so both stores share one numbering.
SELECT 1;
