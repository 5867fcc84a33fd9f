//! Attachment metadata. The bytes live in the host's file storage under `storage_key`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{LinkFilter, Links};
use crate::error::{CrmError, Result};
use crate::id::{AttachmentId, TenantId, UserId};
use crate::store::{impl_entity, EntityFilter, EntityRef, EntityRules, SortKey, SortValue};
use crate::values::require_text;

/// Metadata of a file attached to a customer, contact, lead or deal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Attachment {
    /// Id.
    pub id: AttachmentId,
    /// Owning tenant.
    pub tenant_id: TenantId,
    /// Optimistic-concurrency version.
    pub version: u64,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last update time.
    pub updated_at: DateTime<Utc>,
    /// File name.
    pub file_name: String,
    /// Size in bytes.
    pub size_bytes: u64,
    /// MIME type (`type/subtype`).
    pub mime_type: String,
    /// Key of the bytes in the host's storage.
    pub storage_key: String,
    /// Who uploaded it.
    pub uploaded_by: Option<UserId>,
    /// What it belongs to (at least one link).
    pub links: Links,
}

impl Attachment {
    /// Attachment metadata.
    pub fn new(
        tenant: TenantId,
        file_name: &str,
        size_bytes: u64,
        mime_type: &str,
        storage_key: &str,
        links: Links,
        now: DateTime<Utc>,
    ) -> Result<Self> {
        let a = Self {
            id: AttachmentId::new(),
            tenant_id: tenant,
            version: 1,
            created_at: now,
            updated_at: now,
            file_name: file_name.trim().to_string(),
            size_bytes,
            mime_type: mime_type.trim().to_lowercase(),
            storage_key: storage_key.to_string(),
            uploaded_by: None,
            links,
        };
        a.validate()?;
        Ok(a)
    }
}

impl EntityRules for Attachment {
    fn validate(&self) -> Result<()> {
        self.links.require_any()?;
        require_text("file_name", &self.file_name)?;
        if self.file_name.contains(['/', '\\', '\0']) {
            return Err(CrmError::validation(
                "file_name",
                "must not contain path separators",
            ));
        }
        require_text("storage_key", &self.storage_key)?;
        let mut parts = self.mime_type.split('/');
        let ok = matches!((parts.next(), parts.next(), parts.next()), (Some(a), Some(b), None)
            if !a.is_empty() && !b.is_empty() && !self.mime_type.contains(char::is_whitespace));
        if !ok {
            return Err(CrmError::validation(
                "mime_type",
                format!("{:?} is not type/subtype", self.mime_type),
            ));
        }
        Ok(())
    }
    fn references(&self) -> Vec<EntityRef> {
        self.links.references()
    }
}

/// Filter for attachments.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AttachmentFilter {
    /// Links to match.
    pub links: LinkFilter,
    /// MIME type (exact).
    pub mime_type: Option<String>,
}

impl EntityFilter<Attachment> for AttachmentFilter {
    fn validate(&self) -> crate::error::Result<()> {
        crate::values::check_filter_text("mime_type", self.mime_type.as_deref())
    }

    fn matches(&self, a: &Attachment) -> bool {
        self.links.matches(&a.links) && self.mime_type.as_deref().is_none_or(|m| a.mime_type == m)
    }
    fn parent(&self) -> Option<EntityRef> {
        self.links.parent()
    }
}

/// Orders for attachments.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AttachmentSort {
    /// Creation time.
    #[default]
    CreatedAt,
    /// File name, case-insensitive.
    FileName,
    /// Size.
    Size,
}

impl SortKey<Attachment> for AttachmentSort {
    fn name(&self) -> &'static str {
        match self {
            AttachmentSort::CreatedAt => "created_at",
            AttachmentSort::FileName => "file_name",
            AttachmentSort::Size => "size",
        }
    }
    fn value(&self, a: &Attachment) -> SortValue {
        match self {
            AttachmentSort::CreatedAt => SortValue::Time(a.created_at),
            AttachmentSort::FileName => SortValue::text_ci(Some(&a.file_name)),
            AttachmentSort::Size => SortValue::Int(i64::try_from(a.size_bytes).unwrap_or(i64::MAX)),
        }
    }
}

impl_entity!(Attachment, AttachmentId, AttachmentFilter, AttachmentSort);
