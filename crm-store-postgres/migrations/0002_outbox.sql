-- Schema version 2: the outbox of domain events, numbered per tenant by outbox_counter
-- (its row lock orders one tenant's event-writing transactions), behind row-level security.

CREATE TABLE outbox (
    tenant_id UUID NOT NULL,
    seq BIGINT NOT NULL,
    id UUID NOT NULL,
    kind TEXT NOT NULL,
    external_id TEXT,
    at BIGINT NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (tenant_id, seq)
);

CREATE UNIQUE INDEX outbox_external_id ON outbox (tenant_id, external_id) WHERE external_id IS NOT NULL;

CREATE TABLE outbox_counter (
    tenant_id UUID NOT NULL PRIMARY KEY,
    last_seq BIGINT NOT NULL
);

ALTER TABLE outbox ENABLE ROW LEVEL SECURITY;
ALTER TABLE outbox FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON outbox
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);
GRANT SELECT, INSERT ON outbox TO crm_tenant;

ALTER TABLE outbox_counter ENABLE ROW LEVEL SECURITY;
ALTER TABLE outbox_counter FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON outbox_counter
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);
GRANT SELECT, INSERT, UPDATE ON outbox_counter TO crm_tenant;
