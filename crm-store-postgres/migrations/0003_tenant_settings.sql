-- Schema version 3: per-tenant settings (lost reasons, follow-up grace, external mapping),
-- behind row-level security.

CREATE TABLE tenant_settings (
    tenant_id UUID NOT NULL,
    id UUID NOT NULL,
    version BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);

CREATE UNIQUE INDEX tenant_settings_tenant ON tenant_settings (tenant_id);

CREATE INDEX tenant_settings_created_at ON tenant_settings (tenant_id, created_at, id);

CREATE INDEX tenant_settings_updated_at ON tenant_settings (tenant_id, updated_at, id);

ALTER TABLE tenant_settings ENABLE ROW LEVEL SECURITY;
ALTER TABLE tenant_settings FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON tenant_settings
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);
GRANT SELECT, INSERT, UPDATE, DELETE ON tenant_settings TO crm_tenant;
