-- Schema version 3: per-tenant settings (lost reasons, follow-up grace, external mapping).

CREATE TABLE tenant_settings (
    tenant_id BLOB NOT NULL,
    id BLOB NOT NULL,
    version INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);

CREATE UNIQUE INDEX tenant_settings_tenant ON tenant_settings (tenant_id);

CREATE INDEX tenant_settings_created_at ON tenant_settings (tenant_id, created_at, id);

CREATE INDEX tenant_settings_updated_at ON tenant_settings (tenant_id, updated_at, id);
