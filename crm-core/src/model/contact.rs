//! Contacts: people at a company customer.

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::{check_custom, eq, opt_eq, CustomFields};
use crate::error::{CrmError, Result};
use crate::id::{ContactId, CustomerId, TagId, TenantId};
use crate::store::{
    impl_entity, EntityFilter, EntityKind, EntityRef, EntityRules, SortKey, SortValue,
};
use crate::values::{optional_text, require_text};

/// The contact's part in buying decisions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ContactRole {
    /// Decides.
    DecisionMaker,
    /// Influences the decision.
    Influencer,
    /// Uses the product.
    User,
    /// Controls access to the decision makers.
    Gatekeeper,
}

/// A person at a customer (usually a company).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Contact {
    /// Id.
    pub id: ContactId,
    /// Owning tenant.
    pub tenant_id: TenantId,
    /// Optimistic-concurrency version.
    pub version: u64,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last update time.
    pub updated_at: DateTime<Utc>,
    /// The customer this person belongs to.
    pub customer_id: CustomerId,
    /// Given name.
    pub first_name: String,
    /// Family name.
    pub last_name: Option<String>,
    /// Job title.
    pub job_title: Option<String>,
    /// Department.
    pub department: Option<String>,
    /// Buying role.
    pub role: Option<ContactRole>,
    /// The customer's primary contact (at most one per customer).
    pub is_primary: bool,
    /// Birthday.
    pub birthday: Option<NaiveDate>,
    /// Custom fields (a JSON object).
    pub custom_fields: CustomFields,
}

impl Contact {
    /// A contact of `customer` named `first last` (`last` may be empty).
    pub fn new(
        tenant: TenantId,
        customer: CustomerId,
        first_name: &str,
        last_name: &str,
        now: DateTime<Utc>,
    ) -> Result<Self> {
        let last = last_name.trim();
        let c = Self {
            id: ContactId::new(),
            tenant_id: tenant,
            version: 1,
            created_at: now,
            updated_at: now,
            customer_id: customer,
            first_name: first_name.trim().to_string(),
            last_name: (!last.is_empty()).then(|| last.to_string()),
            job_title: None,
            department: None,
            role: None,
            is_primary: false,
            birthday: None,
            custom_fields: CustomFields::new(),
        };
        c.validate()?;
        Ok(c)
    }

    /// "first last".
    pub fn full_name(&self) -> String {
        match &self.last_name {
            Some(l) => format!("{} {l}", self.first_name),
            None => self.first_name.clone(),
        }
    }
}

impl EntityRules for Contact {
    fn validate(&self) -> Result<()> {
        require_text("first_name", &self.first_name)?;
        optional_text("last_name", self.last_name.as_deref())?;
        optional_text("job_title", self.job_title.as_deref())?;
        optional_text("department", self.department.as_deref())?;
        if let Some(b) = self.birthday {
            if b.year() < 1850 || b.year() > 2200 {
                return Err(CrmError::validation("birthday", "year outside 1850..=2200"));
            }
        }
        check_custom(&self.custom_fields)
    }
    fn references(&self) -> Vec<EntityRef> {
        vec![EntityRef::new(
            EntityKind::Customer,
            self.customer_id.into(),
        )]
    }
    fn unique_keys(&self) -> Vec<crate::store::UniqueKey> {
        if self.is_primary {
            vec![crate::store::UniqueKey::new(
                crate::store::keys::CONTACT_PRIMARY,
                self.customer_id.to_string(),
            )]
        } else {
            Vec::new()
        }
    }
}

/// Filter for contacts.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ContactFilter {
    /// Of this customer.
    pub customer_id: Option<CustomerId>,
    /// With this role.
    pub role: Option<ContactRole>,
    /// Primary or not.
    pub is_primary: Option<bool>,
    /// Carries this tag.
    pub tag: Option<TagId>,
}

impl EntityFilter<Contact> for ContactFilter {
    fn matches(&self, c: &Contact) -> bool {
        eq(self.customer_id, c.customer_id)
            && opt_eq(self.role, c.role)
            && eq(self.is_primary, c.is_primary)
    }
    fn tag(&self) -> Option<TagId> {
        self.tag
    }
    fn parent(&self) -> Option<EntityRef> {
        self.customer_id
            .map(|id| EntityRef::new(EntityKind::Customer, id.into()))
    }
}

/// Orders for contacts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ContactSort {
    /// Creation time.
    #[default]
    CreatedAt,
    /// Full name, case-insensitive.
    Name,
}

impl SortKey<Contact> for ContactSort {
    fn name(&self) -> &'static str {
        match self {
            ContactSort::CreatedAt => "created_at",
            ContactSort::Name => "name",
        }
    }
    fn value(&self, c: &Contact) -> SortValue {
        match self {
            ContactSort::CreatedAt => SortValue::Time(c.created_at),
            ContactSort::Name => SortValue::text_ci(Some(&c.full_name())),
        }
    }
}

impl_entity!(Contact, ContactId, ContactFilter, ContactSort);
