-- Schema version 8: the audit trail (one entry per row every write through the service
-- inserts, updates or deletes, with the replaced values; append-only).

CREATE TABLE audit_entry (
    tenant_id BLOB NOT NULL,
    id BLOB NOT NULL,
    version INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    data TEXT NOT NULL,
    record_kind TEXT,
    record_id BLOB,
    actor BLOB,
    operation TEXT,
    private_to BLOB,
    PRIMARY KEY (tenant_id, id)
);

CREATE INDEX audit_entry_record_id_created_at ON audit_entry (tenant_id, record_id, created_at, id);

CREATE INDEX audit_entry_actor_created_at ON audit_entry (tenant_id, actor, created_at, id);

CREATE INDEX audit_entry_created_at ON audit_entry (tenant_id, created_at, id);
