-- Schema version 5: merge records (the before-image of every row a merge of duplicates
-- touched, from which an unmerge restores them).

CREATE TABLE merge_record (
    tenant_id UUID NOT NULL,
    id UUID NOT NULL,
    version BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    data TEXT NOT NULL,
    kind TEXT,
    survivor UUID,
    undone BOOLEAN,
    PRIMARY KEY (tenant_id, id)
);

CREATE INDEX merge_record_survivor_created_at ON merge_record (tenant_id, survivor, created_at, id);

CREATE INDEX merge_record_undone ON merge_record (tenant_id, undone, id);

CREATE INDEX merge_record_created_at ON merge_record (tenant_id, created_at, id);

CREATE INDEX merge_record_updated_at ON merge_record (tenant_id, updated_at, id);

ALTER TABLE merge_record ENABLE ROW LEVEL SECURITY;
ALTER TABLE merge_record FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON merge_record
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);
GRANT SELECT, INSERT, UPDATE, DELETE ON merge_record TO crm_tenant;
