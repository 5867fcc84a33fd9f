//! Consent and contact preferences of a customer or contact.

use chrono::{DateTime, NaiveTime, Utc, Weekday};
use serde::{Deserialize, Serialize};

use super::{eq, opt_eq};
use crate::error::{CrmError, Result};
use crate::id::{ConsentId, ContactId, CustomerId, TenantId};
use crate::store::{
    impl_entity, EntityFilter, EntityKind, EntityRef, EntityRules, SortKey, SortValue,
};
use crate::values::{check_len, check_timezone};

/// When someone prefers to be contacted, in their local time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactWindow {
    /// Local start time.
    pub from: NaiveTime,
    /// Local end time (after `from`).
    pub to: NaiveTime,
    /// IANA time zone the times are in.
    pub timezone: String,
    /// Days of the week; empty means every day.
    pub weekdays: Vec<Weekday>,
}

/// Consent and preferences for one customer, or for one contact of a customer (one record
/// per subject).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Consent {
    /// Id.
    pub id: ConsentId,
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
    /// The contact, when the consent is a contact's rather than the customer's.
    pub contact_id: Option<ContactId>,
    /// No contact at all.
    pub do_not_contact: bool,
    /// No e-mail.
    pub do_not_email: bool,
    /// No text messages.
    pub do_not_sms: bool,
    /// No calls.
    pub do_not_call: bool,
    /// Preferred contact window.
    pub contact_window: Option<ContactWindow>,
    /// Free notes (e.g. where consent was given).
    pub notes: Option<String>,
}

impl Consent {
    /// Consent of `customer` (or of its `contact`) with nothing forbidden.
    pub fn new(
        tenant: TenantId,
        customer: CustomerId,
        contact: Option<ContactId>,
        now: DateTime<Utc>,
    ) -> Self {
        Self {
            id: ConsentId::new(),
            tenant_id: tenant,
            version: 1,
            created_at: now,
            updated_at: now,
            customer_id: customer,
            contact_id: contact,
            do_not_contact: false,
            do_not_email: false,
            do_not_sms: false,
            do_not_call: false,
            contact_window: None,
            notes: None,
        }
    }

    /// Whether e-mail may be sent.
    pub fn may_email(&self) -> bool {
        !self.do_not_contact && !self.do_not_email
    }
    /// Whether calls may be made.
    pub fn may_call(&self) -> bool {
        !self.do_not_contact && !self.do_not_call
    }
    /// Whether text messages may be sent.
    pub fn may_sms(&self) -> bool {
        !self.do_not_contact && !self.do_not_sms
    }
}

impl EntityRules for Consent {
    fn validate(&self) -> Result<()> {
        if let Some(w) = &self.contact_window {
            if w.to <= w.from {
                return Err(CrmError::validation(
                    "contact_window.to",
                    "end is before start",
                ));
            }
            check_timezone("contact_window.timezone", &w.timezone)?;
        }
        if let Some(n) = &self.notes {
            check_len("notes", n, crate::values::MAX_LONG)?;
        }
        Ok(())
    }
    fn references(&self) -> Vec<EntityRef> {
        let mut v = vec![EntityRef::new(
            EntityKind::Customer,
            self.customer_id.into(),
        )];
        if let Some(c) = self.contact_id {
            v.push(EntityRef::new(EntityKind::Contact, c.into()));
        }
        v
    }
    fn unique_keys(&self) -> Vec<crate::store::UniqueKey> {
        let subject = match self.contact_id {
            Some(c) => format!("contact:{c}"),
            None => format!("customer:{}", self.customer_id),
        };
        vec![crate::store::UniqueKey::new(
            crate::store::keys::CONSENT_SUBJECT,
            subject,
        )]
    }
}

/// Filter for consent records.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ConsentFilter {
    /// Of this customer (including its contacts' records).
    pub customer_id: Option<CustomerId>,
    /// Of this contact.
    pub contact_id: Option<ContactId>,
    /// With this do-not-contact flag.
    pub do_not_contact: Option<bool>,
}

impl EntityFilter<Consent> for ConsentFilter {
    fn matches(&self, c: &Consent) -> bool {
        eq(self.customer_id, c.customer_id)
            && opt_eq(self.contact_id, c.contact_id)
            && eq(self.do_not_contact, c.do_not_contact)
    }
    fn parent(&self) -> Option<EntityRef> {
        self.customer_id
            .map(|id| EntityRef::new(EntityKind::Customer, id.into()))
    }
}

/// Orders for consent records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ConsentSort {
    /// Creation time.
    #[default]
    CreatedAt,
    /// Last update time.
    UpdatedAt,
}

impl SortKey<Consent> for ConsentSort {
    fn name(&self) -> &'static str {
        match self {
            ConsentSort::CreatedAt => "created_at",
            ConsentSort::UpdatedAt => "updated_at",
        }
    }
    fn value(&self, c: &Consent) -> SortValue {
        match self {
            ConsentSort::CreatedAt => SortValue::Time(c.created_at),
            ConsentSort::UpdatedAt => SortValue::Time(c.updated_at),
        }
    }
}

impl_entity!(Consent, ConsentId, ConsentFilter, ConsentSort);
