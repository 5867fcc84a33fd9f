-- Schema version 5: nothing changes in SQLite (PostgreSQL rewrote its search function); kept so both stores share one numbering.
SELECT 1;
