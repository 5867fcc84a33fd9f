-- Schema version 2: the outbox of domain events, numbered per tenant by outbox_counter.

CREATE TABLE outbox (
    tenant_id BLOB NOT NULL,
    seq INTEGER NOT NULL,
    id BLOB NOT NULL,
    kind TEXT NOT NULL,
    external_id TEXT,
    at INTEGER NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (tenant_id, seq)
);

CREATE UNIQUE INDEX outbox_external_id ON outbox (tenant_id, external_id) WHERE external_id IS NOT NULL;

CREATE TABLE outbox_counter (
    tenant_id BLOB NOT NULL PRIMARY KEY,
    last_seq INTEGER NOT NULL
);
