-- Schema version 8: the audit trail (one entry per row every write through the service
-- inserts, updates or deletes, with the replaced values; append-only).

CREATE TABLE audit_entry (
    tenant_id UUID NOT NULL,
    id UUID NOT NULL,
    version BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    data TEXT NOT NULL,
    record_kind TEXT,
    record_id UUID,
    actor UUID,
    operation TEXT,
    private_to UUID,
    PRIMARY KEY (tenant_id, id)
);

CREATE INDEX audit_entry_record_id_created_at ON audit_entry (tenant_id, record_id, created_at, id);

CREATE INDEX audit_entry_actor_created_at ON audit_entry (tenant_id, actor, created_at, id);

CREATE INDEX audit_entry_created_at ON audit_entry (tenant_id, created_at, id);

ALTER TABLE audit_entry ENABLE ROW LEVEL SECURITY;
ALTER TABLE audit_entry FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON audit_entry
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);
GRANT SELECT, INSERT, UPDATE, DELETE ON audit_entry TO crm_tenant;
