CREATE TABLE customer (
    tenant_id BLOB NOT NULL,
    id BLOB NOT NULL,
    version INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    data TEXT NOT NULL,
    kind TEXT,
    status TEXT,
    lifecycle_stage TEXT,
    owner BLOB,
    source TEXT,
    industry TEXT,
    external_ref TEXT,
    name_ci TEXT,
    last_contact_at INTEGER,
    PRIMARY KEY (tenant_id, id)
);

CREATE TABLE contact (
    tenant_id BLOB NOT NULL,
    id BLOB NOT NULL,
    version INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    data TEXT NOT NULL,
    customer_id BLOB,
    role TEXT,
    is_primary INTEGER,
    name_ci TEXT,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, customer_id) REFERENCES customer (tenant_id, id)
);

CREATE TABLE contact_point (
    tenant_id BLOB NOT NULL,
    id BLOB NOT NULL,
    version INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    data TEXT NOT NULL,
    customer_id BLOB,
    contact_id BLOB,
    kind TEXT,
    value TEXT,
    is_primary INTEGER,
    owner_id BLOB,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, customer_id) REFERENCES customer (tenant_id, id),
    FOREIGN KEY (tenant_id, contact_id) REFERENCES contact (tenant_id, id)
);

CREATE TABLE location (
    tenant_id BLOB NOT NULL,
    id BLOB NOT NULL,
    version INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    data TEXT NOT NULL,
    customer_id BLOB,
    usage TEXT,
    country TEXT,
    postal_code TEXT,
    is_primary INTEGER,
    city_ci TEXT,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, customer_id) REFERENCES customer (tenant_id, id)
);

CREATE TABLE consent (
    tenant_id BLOB NOT NULL,
    id BLOB NOT NULL,
    version INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    data TEXT NOT NULL,
    customer_id BLOB,
    contact_id BLOB,
    do_not_contact INTEGER,
    subject_id BLOB,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, customer_id) REFERENCES customer (tenant_id, id),
    FOREIGN KEY (tenant_id, contact_id) REFERENCES contact (tenant_id, id)
);

CREATE TABLE pipeline (
    tenant_id BLOB NOT NULL,
    id BLOB NOT NULL,
    version INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    data TEXT NOT NULL,
    is_default INTEGER,
    name_ci TEXT,
    PRIMARY KEY (tenant_id, id)
);

CREATE TABLE deal (
    tenant_id BLOB NOT NULL,
    id BLOB NOT NULL,
    version INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    data TEXT NOT NULL,
    customer_id BLOB,
    contact_id BLOB,
    pipeline_id BLOB,
    stage_id BLOB,
    status TEXT,
    owner BLOB,
    amount INTEGER,
    expected_close INTEGER,
    name_ci TEXT,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, customer_id) REFERENCES customer (tenant_id, id),
    FOREIGN KEY (tenant_id, contact_id) REFERENCES contact (tenant_id, id),
    FOREIGN KEY (tenant_id, pipeline_id) REFERENCES pipeline (tenant_id, id)
);

CREATE TABLE lead (
    tenant_id BLOB NOT NULL,
    id BLOB NOT NULL,
    version INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    data TEXT NOT NULL,
    status TEXT,
    owner BLOB,
    source TEXT,
    campaign TEXT,
    rating TEXT,
    score INTEGER,
    email TEXT,
    converted_customer_id BLOB,
    converted_contact_id BLOB,
    converted_deal_id BLOB,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, converted_customer_id) REFERENCES customer (tenant_id, id),
    FOREIGN KEY (tenant_id, converted_contact_id) REFERENCES contact (tenant_id, id),
    FOREIGN KEY (tenant_id, converted_deal_id) REFERENCES deal (tenant_id, id)
);

CREATE TABLE stage_change (
    tenant_id BLOB NOT NULL,
    id BLOB NOT NULL,
    version INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    data TEXT NOT NULL,
    deal_id BLOB,
    customer_id BLOB,
    pipeline_id BLOB,
    at INTEGER,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, deal_id) REFERENCES deal (tenant_id, id)
);

CREATE TABLE activity (
    tenant_id BLOB NOT NULL,
    id BLOB NOT NULL,
    version INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    data TEXT NOT NULL,
    customer_id BLOB,
    contact_id BLOB,
    lead_id BLOB,
    deal_id BLOB,
    kind TEXT,
    status TEXT,
    assignee BLOB,
    due_at INTEGER,
    reminder_at INTEGER,
    priority INTEGER,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, customer_id) REFERENCES customer (tenant_id, id),
    FOREIGN KEY (tenant_id, contact_id) REFERENCES contact (tenant_id, id),
    FOREIGN KEY (tenant_id, lead_id) REFERENCES lead (tenant_id, id),
    FOREIGN KEY (tenant_id, deal_id) REFERENCES deal (tenant_id, id)
);

CREATE TABLE interaction (
    tenant_id BLOB NOT NULL,
    id BLOB NOT NULL,
    version INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    data TEXT NOT NULL,
    customer_id BLOB,
    contact_id BLOB,
    lead_id BLOB,
    deal_id BLOB,
    channel TEXT,
    direction TEXT,
    author BLOB,
    occurred_at INTEGER,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, customer_id) REFERENCES customer (tenant_id, id),
    FOREIGN KEY (tenant_id, contact_id) REFERENCES contact (tenant_id, id),
    FOREIGN KEY (tenant_id, lead_id) REFERENCES lead (tenant_id, id),
    FOREIGN KEY (tenant_id, deal_id) REFERENCES deal (tenant_id, id)
);

CREATE TABLE note (
    tenant_id BLOB NOT NULL,
    id BLOB NOT NULL,
    version INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    data TEXT NOT NULL,
    customer_id BLOB,
    contact_id BLOB,
    lead_id BLOB,
    deal_id BLOB,
    pinned INTEGER,
    author BLOB,
    private INTEGER,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, customer_id) REFERENCES customer (tenant_id, id),
    FOREIGN KEY (tenant_id, contact_id) REFERENCES contact (tenant_id, id),
    FOREIGN KEY (tenant_id, lead_id) REFERENCES lead (tenant_id, id),
    FOREIGN KEY (tenant_id, deal_id) REFERENCES deal (tenant_id, id)
);

CREATE TABLE tag (
    tenant_id BLOB NOT NULL,
    id BLOB NOT NULL,
    version INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    data TEXT NOT NULL,
    name_ci TEXT,
    PRIMARY KEY (tenant_id, id)
);

CREATE TABLE tag_assignment (
    tenant_id BLOB NOT NULL,
    id BLOB NOT NULL,
    version INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    data TEXT NOT NULL,
    tag_id BLOB,
    target_kind TEXT,
    target_id BLOB,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, tag_id) REFERENCES tag (tenant_id, id)
);

CREATE TABLE follow_up (
    tenant_id BLOB NOT NULL,
    id BLOB NOT NULL,
    version INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    data TEXT NOT NULL,
    customer_id BLOB,
    contact_id BLOB,
    lead_id BLOB,
    deal_id BLOB,
    status TEXT,
    assignee BLOB,
    origin TEXT,
    due_at INTEGER,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, customer_id) REFERENCES customer (tenant_id, id),
    FOREIGN KEY (tenant_id, contact_id) REFERENCES contact (tenant_id, id),
    FOREIGN KEY (tenant_id, lead_id) REFERENCES lead (tenant_id, id),
    FOREIGN KEY (tenant_id, deal_id) REFERENCES deal (tenant_id, id)
);

CREATE TABLE owned_item (
    tenant_id BLOB NOT NULL,
    id BLOB NOT NULL,
    version INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    data TEXT NOT NULL,
    customer_id BLOB,
    kind TEXT,
    name_ci TEXT,
    serials TEXT,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, customer_id) REFERENCES customer (tenant_id, id)
);

CREATE TABLE attachment (
    tenant_id BLOB NOT NULL,
    id BLOB NOT NULL,
    version INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    data TEXT NOT NULL,
    customer_id BLOB,
    contact_id BLOB,
    lead_id BLOB,
    deal_id BLOB,
    mime_type TEXT,
    file_name_ci TEXT,
    size INTEGER,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, customer_id) REFERENCES customer (tenant_id, id),
    FOREIGN KEY (tenant_id, contact_id) REFERENCES contact (tenant_id, id),
    FOREIGN KEY (tenant_id, lead_id) REFERENCES lead (tenant_id, id),
    FOREIGN KEY (tenant_id, deal_id) REFERENCES deal (tenant_id, id)
);

CREATE TABLE tenant_settings (
    tenant_id BLOB NOT NULL,
    id BLOB NOT NULL,
    version INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);

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

CREATE INDEX customer_kind ON customer (tenant_id, kind, id);

CREATE INDEX customer_status ON customer (tenant_id, status, id);

CREATE INDEX customer_lifecycle_stage ON customer (tenant_id, lifecycle_stage, id);

CREATE INDEX customer_owner ON customer (tenant_id, owner, id);

CREATE INDEX customer_source ON customer (tenant_id, source, id);

CREATE INDEX customer_industry ON customer (tenant_id, industry, id);

CREATE INDEX customer_name_ci ON customer (tenant_id, name_ci, id);

CREATE INDEX customer_last_contact_at ON customer (tenant_id, last_contact_at, id);

CREATE UNIQUE INDEX customer_external_ref_partial ON customer (tenant_id, external_ref) WHERE external_ref IS NOT NULL;

CREATE INDEX customer_created_at ON customer (tenant_id, created_at, id);

CREATE INDEX customer_updated_at ON customer (tenant_id, updated_at, id);

CREATE INDEX contact_customer_id_created_at ON contact (tenant_id, customer_id, created_at, id);

CREATE INDEX contact_role ON contact (tenant_id, role, id);

CREATE INDEX contact_name_ci ON contact (tenant_id, name_ci, id);

CREATE UNIQUE INDEX contact_customer_id_partial ON contact (tenant_id, customer_id) WHERE is_primary;

CREATE INDEX contact_created_at ON contact (tenant_id, created_at, id);

CREATE INDEX contact_updated_at ON contact (tenant_id, updated_at, id);

CREATE INDEX contact_point_customer_id_created_at ON contact_point (tenant_id, customer_id, created_at, id);

CREATE INDEX contact_point_contact_id ON contact_point (tenant_id, contact_id, id);

CREATE INDEX contact_point_value_kind ON contact_point (tenant_id, value, kind, id);

CREATE INDEX contact_point_kind ON contact_point (tenant_id, kind, id);

CREATE UNIQUE INDEX contact_point_owner_id_kind_partial ON contact_point (tenant_id, owner_id, kind) WHERE is_primary;

CREATE INDEX contact_point_created_at ON contact_point (tenant_id, created_at, id);

CREATE INDEX contact_point_updated_at ON contact_point (tenant_id, updated_at, id);

CREATE INDEX location_customer_id_created_at ON location (tenant_id, customer_id, created_at, id);

CREATE INDEX location_country ON location (tenant_id, country, id);

CREATE INDEX location_postal_code ON location (tenant_id, postal_code, id);

CREATE INDEX location_usage ON location (tenant_id, usage, id);

CREATE INDEX location_city_ci ON location (tenant_id, city_ci, id);

CREATE UNIQUE INDEX location_customer_id_partial ON location (tenant_id, customer_id) WHERE is_primary;

CREATE INDEX location_created_at ON location (tenant_id, created_at, id);

CREATE INDEX location_updated_at ON location (tenant_id, updated_at, id);

CREATE UNIQUE INDEX consent_subject_id ON consent (tenant_id, subject_id);

CREATE INDEX consent_do_not_contact ON consent (tenant_id, do_not_contact, id);

CREATE INDEX consent_created_at ON consent (tenant_id, created_at, id);

CREATE INDEX consent_updated_at ON consent (tenant_id, updated_at, id);

CREATE INDEX consent_customer_id ON consent (tenant_id, customer_id, id);

CREATE INDEX consent_contact_id ON consent (tenant_id, contact_id, id);

CREATE UNIQUE INDEX pipeline_name_ci ON pipeline (tenant_id, name_ci);

CREATE UNIQUE INDEX pipeline_tenant_partial ON pipeline (tenant_id) WHERE is_default;

CREATE INDEX pipeline_created_at ON pipeline (tenant_id, created_at, id);

CREATE INDEX pipeline_updated_at ON pipeline (tenant_id, updated_at, id);

CREATE INDEX deal_customer_id_created_at ON deal (tenant_id, customer_id, created_at, id);

CREATE INDEX deal_pipeline_id_stage_id ON deal (tenant_id, pipeline_id, stage_id, id);

CREATE INDEX deal_stage_id ON deal (tenant_id, stage_id, id);

CREATE INDEX deal_status ON deal (tenant_id, status, id);

CREATE INDEX deal_owner ON deal (tenant_id, owner, id);

CREATE INDEX deal_amount ON deal (tenant_id, amount, id);

CREATE INDEX deal_expected_close ON deal (tenant_id, expected_close, id);

CREATE INDEX deal_name_ci ON deal (tenant_id, name_ci, id);

CREATE INDEX deal_created_at ON deal (tenant_id, created_at, id);

CREATE INDEX deal_updated_at ON deal (tenant_id, updated_at, id);

CREATE INDEX deal_contact_id ON deal (tenant_id, contact_id, id);

CREATE INDEX lead_status ON lead (tenant_id, status, id);

CREATE INDEX lead_owner ON lead (tenant_id, owner, id);

CREATE INDEX lead_source ON lead (tenant_id, source, id);

CREATE INDEX lead_campaign ON lead (tenant_id, campaign, id);

CREATE INDEX lead_rating ON lead (tenant_id, rating, id);

CREATE INDEX lead_score ON lead (tenant_id, score, id);

CREATE INDEX lead_email ON lead (tenant_id, email, id);

CREATE INDEX lead_created_at ON lead (tenant_id, created_at, id);

CREATE INDEX lead_updated_at ON lead (tenant_id, updated_at, id);

CREATE INDEX lead_converted_customer_id ON lead (tenant_id, converted_customer_id, id);

CREATE INDEX lead_converted_contact_id ON lead (tenant_id, converted_contact_id, id);

CREATE INDEX lead_converted_deal_id ON lead (tenant_id, converted_deal_id, id);

CREATE INDEX stage_change_deal_id_at ON stage_change (tenant_id, deal_id, at, id);

CREATE INDEX stage_change_customer_id_at ON stage_change (tenant_id, customer_id, at, id);

CREATE INDEX stage_change_pipeline_id_at ON stage_change (tenant_id, pipeline_id, at, id);

CREATE INDEX stage_change_at ON stage_change (tenant_id, at, id);

CREATE INDEX stage_change_created_at ON stage_change (tenant_id, created_at, id);

CREATE INDEX stage_change_updated_at ON stage_change (tenant_id, updated_at, id);

CREATE INDEX activity_customer_id_due_at ON activity (tenant_id, customer_id, due_at, id);

CREATE INDEX activity_assignee_status_due_at ON activity (tenant_id, assignee, status, due_at, id);

CREATE INDEX activity_status_due_at ON activity (tenant_id, status, due_at, id);

CREATE INDEX activity_due_at ON activity (tenant_id, due_at, id);

CREATE INDEX activity_reminder_at ON activity (tenant_id, reminder_at, id);

CREATE INDEX activity_priority ON activity (tenant_id, priority, id);

CREATE INDEX activity_kind ON activity (tenant_id, kind, id);

CREATE INDEX activity_created_at ON activity (tenant_id, created_at, id);

CREATE INDEX activity_updated_at ON activity (tenant_id, updated_at, id);

CREATE INDEX activity_contact_id ON activity (tenant_id, contact_id, id);

CREATE INDEX activity_lead_id ON activity (tenant_id, lead_id, id);

CREATE INDEX activity_deal_id ON activity (tenant_id, deal_id, id);

CREATE INDEX interaction_customer_id_occurred_at ON interaction (tenant_id, customer_id, occurred_at, id);

CREATE INDEX interaction_contact_id_occurred_at ON interaction (tenant_id, contact_id, occurred_at, id);

CREATE INDEX interaction_deal_id_occurred_at ON interaction (tenant_id, deal_id, occurred_at, id);

CREATE INDEX interaction_lead_id_occurred_at ON interaction (tenant_id, lead_id, occurred_at, id);

CREATE INDEX interaction_occurred_at ON interaction (tenant_id, occurred_at, id);

CREATE INDEX interaction_channel ON interaction (tenant_id, channel, id);

CREATE INDEX interaction_author ON interaction (tenant_id, author, id);

CREATE INDEX interaction_created_at ON interaction (tenant_id, created_at, id);

CREATE INDEX interaction_updated_at ON interaction (tenant_id, updated_at, id);

CREATE INDEX note_customer_id_created_at ON note (tenant_id, customer_id, created_at, id);

CREATE INDEX note_contact_id ON note (tenant_id, contact_id, id);

CREATE INDEX note_deal_id ON note (tenant_id, deal_id, id);

CREATE INDEX note_lead_id ON note (tenant_id, lead_id, id);

CREATE INDEX note_author ON note (tenant_id, author, id);

CREATE INDEX note_pinned ON note (tenant_id, pinned, id);

CREATE INDEX note_created_at ON note (tenant_id, created_at, id);

CREATE INDEX note_updated_at ON note (tenant_id, updated_at, id);

CREATE UNIQUE INDEX tag_name_ci ON tag (tenant_id, name_ci);

CREATE INDEX tag_created_at ON tag (tenant_id, created_at, id);

CREATE INDEX tag_updated_at ON tag (tenant_id, updated_at, id);

CREATE UNIQUE INDEX tag_assignment_tag_id_target_kind_target_id ON tag_assignment (tenant_id, tag_id, target_kind, target_id);

CREATE INDEX tag_assignment_target_kind_target_id ON tag_assignment (tenant_id, target_kind, target_id, id);

CREATE INDEX tag_assignment_created_at ON tag_assignment (tenant_id, created_at, id);

CREATE INDEX tag_assignment_updated_at ON tag_assignment (tenant_id, updated_at, id);

CREATE INDEX follow_up_customer_id_due_at ON follow_up (tenant_id, customer_id, due_at, id);

CREATE INDEX follow_up_status_due_at ON follow_up (tenant_id, status, due_at, id);

CREATE INDEX follow_up_assignee_status_due_at ON follow_up (tenant_id, assignee, status, due_at, id);

CREATE INDEX follow_up_due_at ON follow_up (tenant_id, due_at, id);

CREATE INDEX follow_up_origin ON follow_up (tenant_id, origin, id);

CREATE INDEX follow_up_created_at ON follow_up (tenant_id, created_at, id);

CREATE INDEX follow_up_updated_at ON follow_up (tenant_id, updated_at, id);

CREATE INDEX follow_up_contact_id ON follow_up (tenant_id, contact_id, id);

CREATE INDEX follow_up_lead_id ON follow_up (tenant_id, lead_id, id);

CREATE INDEX follow_up_deal_id ON follow_up (tenant_id, deal_id, id);

CREATE INDEX owned_item_customer_id_created_at ON owned_item (tenant_id, customer_id, created_at, id);

CREATE INDEX owned_item_kind ON owned_item (tenant_id, kind, id);

CREATE INDEX owned_item_name_ci ON owned_item (tenant_id, name_ci, id);

CREATE INDEX owned_item_created_at ON owned_item (tenant_id, created_at, id);

CREATE INDEX owned_item_updated_at ON owned_item (tenant_id, updated_at, id);

CREATE INDEX attachment_customer_id_created_at ON attachment (tenant_id, customer_id, created_at, id);

CREATE INDEX attachment_contact_id ON attachment (tenant_id, contact_id, id);

CREATE INDEX attachment_deal_id ON attachment (tenant_id, deal_id, id);

CREATE INDEX attachment_lead_id ON attachment (tenant_id, lead_id, id);

CREATE INDEX attachment_mime_type ON attachment (tenant_id, mime_type, id);

CREATE INDEX attachment_file_name_ci ON attachment (tenant_id, file_name_ci, id);

CREATE INDEX attachment_size ON attachment (tenant_id, size, id);

CREATE INDEX attachment_created_at ON attachment (tenant_id, created_at, id);

CREATE INDEX attachment_updated_at ON attachment (tenant_id, updated_at, id);

CREATE UNIQUE INDEX tenant_settings_tenant ON tenant_settings (tenant_id);

CREATE INDEX tenant_settings_created_at ON tenant_settings (tenant_id, created_at, id);

CREATE INDEX tenant_settings_updated_at ON tenant_settings (tenant_id, updated_at, id);

CREATE INDEX merge_record_survivor_created_at ON merge_record (tenant_id, survivor, created_at, id);

CREATE INDEX merge_record_undone ON merge_record (tenant_id, undone, id);

CREATE INDEX merge_record_created_at ON merge_record (tenant_id, created_at, id);

CREATE INDEX merge_record_updated_at ON merge_record (tenant_id, updated_at, id);

CREATE INDEX audit_entry_record_id_created_at ON audit_entry (tenant_id, record_id, created_at, id);

CREATE INDEX audit_entry_actor_created_at ON audit_entry (tenant_id, actor, created_at, id);

CREATE INDEX audit_entry_created_at ON audit_entry (tenant_id, created_at, id);
