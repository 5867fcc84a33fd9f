-- Schema version 5: merge records (the before-image of every row a merge of duplicates
-- touched, from which an unmerge restores them).

CREATE TABLE merge_record (
    tenant_id BLOB NOT NULL,
    id BLOB NOT NULL,
    version INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    data TEXT NOT NULL,
    kind TEXT,
    survivor BLOB,
    undone INTEGER,
    PRIMARY KEY (tenant_id, id)
);

CREATE INDEX merge_record_survivor_created_at ON merge_record (tenant_id, survivor, created_at, id);

CREATE INDEX merge_record_undone ON merge_record (tenant_id, undone, id);

CREATE INDEX merge_record_created_at ON merge_record (tenant_id, created_at, id);

CREATE INDEX merge_record_updated_at ON merge_record (tenant_id, updated_at, id);
