//! Owned items: equipment and products a customer owns (installed base).

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::eq;
use crate::error::{CrmError, Result};
use crate::id::{CustomerId, OwnedItemId, TenantId};
use crate::store::{
    impl_entity, EntityFilter, EntityKind, EntityRef, EntityRules, SortKey, SortValue,
};
use crate::values::{check_len, optional_text, require_text, MAX_LONG};

/// What kind of item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OwnedItemKind {
    /// A serviced device.
    Device,
    /// A product of the host's catalogue.
    Product,
    /// Anything else, described in free text.
    Other,
}

/// Something the customer owns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OwnedItem {
    /// Id.
    pub id: OwnedItemId,
    /// Owning tenant.
    pub tenant_id: TenantId,
    /// Optimistic-concurrency version.
    pub version: u64,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last update time.
    pub updated_at: DateTime<Utc>,
    /// The customer.
    pub customer_id: CustomerId,
    /// Kind.
    pub kind: OwnedItemKind,
    /// Name or description.
    pub name: String,
    /// The host ERP's product reference.
    pub product_ref: Option<String>,
    /// Quantity (at least 1).
    pub quantity: u32,
    /// Serial numbers (at most `quantity`, unique).
    pub serial_numbers: Vec<String>,
    /// When acquired.
    pub acquired_on: Option<NaiveDate>,
    /// Notes.
    pub notes: Option<String>,
}

impl OwnedItem {
    /// One item of `customer`.
    pub fn new(
        tenant: TenantId,
        customer: CustomerId,
        kind: OwnedItemKind,
        name: &str,
        now: DateTime<Utc>,
    ) -> Result<Self> {
        let o = Self {
            id: OwnedItemId::new(),
            tenant_id: tenant,
            version: 1,
            created_at: now,
            updated_at: now,
            customer_id: customer,
            kind,
            name: name.trim().to_string(),
            product_ref: None,
            quantity: 1,
            serial_numbers: Vec::new(),
            acquired_on: None,
            notes: None,
        };
        o.validate()?;
        Ok(o)
    }
}

impl EntityRules for OwnedItem {
    fn validate(&self) -> Result<()> {
        require_text("name", &self.name)?;
        optional_text("product_ref", self.product_ref.as_deref())?;
        if self.quantity == 0 {
            return Err(CrmError::validation("quantity", "must be at least 1"));
        }
        if self.serial_numbers.len() > self.quantity as usize {
            return Err(CrmError::validation(
                "serial_numbers",
                "more serial numbers than items",
            ));
        }
        let mut seen = std::collections::HashSet::new();
        for (i, s) in self.serial_numbers.iter().enumerate() {
            require_text(&format!("serial_numbers[{i}]"), s)?;
            if !seen.insert(s) {
                return Err(CrmError::validation(
                    format!("serial_numbers[{i}]"),
                    "duplicate serial number",
                ));
            }
        }
        if let Some(n) = &self.notes {
            check_len("notes", n, MAX_LONG)?;
        }
        Ok(())
    }
    fn references(&self) -> Vec<EntityRef> {
        vec![EntityRef::new(
            EntityKind::Customer,
            self.customer_id.into(),
        )]
    }
}

/// Filter for owned items.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OwnedItemFilter {
    /// Of this customer.
    pub customer_id: Option<CustomerId>,
    /// Of this kind.
    pub kind: Option<OwnedItemKind>,
    /// With this serial number.
    pub serial_number: Option<String>,
}

impl EntityFilter<OwnedItem> for OwnedItemFilter {
    fn validate(&self) -> crate::error::Result<()> {
        crate::values::check_filter_text("serial_number", self.serial_number.as_deref())
    }

    fn matches(&self, o: &OwnedItem) -> bool {
        eq(self.customer_id, o.customer_id)
            && eq(self.kind, o.kind)
            && self
                .serial_number
                .as_ref()
                .is_none_or(|s| o.serial_numbers.contains(s))
    }
    fn parent(&self) -> Option<EntityRef> {
        self.customer_id
            .map(|id| EntityRef::new(EntityKind::Customer, id.into()))
    }
}

/// Orders for owned items.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OwnedItemSort {
    /// Creation time.
    #[default]
    CreatedAt,
    /// Name, case-insensitive.
    Name,
}

impl SortKey<OwnedItem> for OwnedItemSort {
    fn name(&self) -> &'static str {
        match self {
            OwnedItemSort::CreatedAt => "created_at",
            OwnedItemSort::Name => "name",
        }
    }
    fn value(&self, o: &OwnedItem) -> SortValue {
        match self {
            OwnedItemSort::CreatedAt => SortValue::Time(o.created_at),
            OwnedItemSort::Name => SortValue::text_ci(Some(&o.name)),
        }
    }
}

impl_entity!(OwnedItem, OwnedItemId, OwnedItemFilter, OwnedItemSort);
