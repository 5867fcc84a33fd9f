//! Contact points: e-mail addresses, phone numbers and other ways to reach someone.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{eq, opt_eq};
use crate::error::{CrmError, Result};
use crate::id::{ContactId, ContactPointId, CustomerId, TenantId};
use crate::store::{
    impl_entity, EntityFilter, EntityKind, EntityRef, EntityRules, SortKey, SortValue,
};
use crate::values::{normalize_e164, optional_text, Email, Phone};

/// What kind of channel a contact point is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ContactPointKind {
    /// E-mail address.
    Email,
    /// Landline phone.
    Phone,
    /// Mobile phone.
    Mobile,
    /// Fax.
    Fax,
    /// WhatsApp number.
    Whatsapp,
    /// Telegram handle or number.
    Telegram,
    /// Customer-portal login or URL.
    Portal,
    /// Anything else.
    Other,
}

impl ContactPointKind {
    /// Whether values of this kind are phone numbers.
    pub fn is_phone(self) -> bool {
        matches!(
            self,
            ContactPointKind::Phone
                | ContactPointKind::Mobile
                | ContactPointKind::Fax
                | ContactPointKind::Whatsapp
        )
    }
}

/// An e-mail address, phone number or other channel of a customer or of one of its
/// contacts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContactPoint {
    /// Id.
    pub id: ContactPointId,
    /// Owning tenant.
    pub tenant_id: TenantId,
    /// Optimistic-concurrency version.
    pub version: u64,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last update time.
    pub updated_at: DateTime<Utc>,
    /// The customer this belongs to (directly or through `contact_id`).
    pub customer_id: CustomerId,
    /// The contact person this belongs to; `None` when it is the customer's own.
    pub contact_id: Option<ContactId>,
    /// Channel kind.
    pub kind: ContactPointKind,
    /// Label ("work", "home", ...).
    pub label: Option<String>,
    /// Normalised value: lower-cased e-mail, E.164 phone where parseable, else the raw value.
    pub value: String,
    /// The value as entered.
    pub raw_value: String,
    /// The name an e-mail address was typed with (`"Ines Ortega" <ines@example.com>`), kept
    /// beside the bare address in `value`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// The primary point of its kind for its owner (one per kind per owner).
    pub primary: bool,
    /// Ownership was verified.
    pub verified: bool,
    /// Opted in to marketing messages.
    pub opt_in_marketing: bool,
    /// Opted in to transactional messages.
    pub opt_in_transactional: bool,
}

impl ContactPoint {
    /// A contact point of `customer` (or of its `contact`), normalising `raw`: e-mails are
    /// validated and lower-cased; phone-like kinds are normalised to E.164 when parseable,
    /// reading numbers without `+` in `default_region` (ISO-3166 alpha-2).
    pub fn new(
        tenant: TenantId,
        customer: CustomerId,
        contact: Option<ContactId>,
        kind: ContactPointKind,
        raw: &str,
        default_region: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Self> {
        let value = Self::normalize(kind, raw, default_region)?;
        let display_name = Self::display_name_of(kind, raw);
        let cp = Self {
            id: ContactPointId::new(),
            tenant_id: tenant,
            version: 1,
            created_at: now,
            updated_at: now,
            customer_id: customer,
            contact_id: contact,
            kind,
            label: None,
            value,
            raw_value: raw.trim().to_string(),
            display_name,
            primary: false,
            verified: false,
            opt_in_marketing: false,
            opt_in_transactional: true,
        };
        cp.validate()?;
        Ok(cp)
    }

    /// The normalised form of `raw` for `kind` (what [`ContactPoint::value`] holds).
    pub fn normalize(
        kind: ContactPointKind,
        raw: &str,
        default_region: Option<&str>,
    ) -> Result<String> {
        let r = raw.trim();
        if r.is_empty() {
            return Err(CrmError::validation("value", "must not be empty"));
        }
        if kind == ContactPointKind::Email {
            return Email::parse(r)
                .map(|e| e.as_str().to_string())
                .map_err(|e| e.in_field("value"));
        }
        if kind.is_phone() {
            let p = Phone::parse(r, default_region).map_err(|e| e.in_field("value"))?;
            return Ok(p.e164.unwrap_or(p.raw));
        }
        Ok(r.to_string())
    }

    /// Replaces the value, normalising it as [`ContactPoint::new`] does.
    pub fn set_value(&mut self, raw: &str, default_region: Option<&str>) -> Result<()> {
        self.value = Self::normalize(self.kind, raw, default_region)?;
        self.raw_value = raw.trim().to_string();
        self.display_name = Self::display_name_of(self.kind, raw);
        Ok(())
    }

    /// The display name an e-mail address was typed with, if any.
    fn display_name_of(kind: ContactPointKind, raw: &str) -> Option<String> {
        if kind != ContactPointKind::Email {
            return None;
        }
        Email::parse_with_name(raw).ok().and_then(|(_, name)| name)
    }

    /// The owner this point belongs to: the contact if set, else the customer.
    pub fn owner(&self) -> EntityRef {
        match self.contact_id {
            Some(c) => EntityRef::new(EntityKind::Contact, c.into()),
            None => EntityRef::new(EntityKind::Customer, self.customer_id.into()),
        }
    }

    /// The digits of the value (for phone matching and search).
    pub fn digits(&self) -> String {
        self.value.chars().filter(|c| c.is_ascii_digit()).collect()
    }
}

impl EntityRules for ContactPoint {
    fn validate(&self) -> Result<()> {
        optional_text("label", self.label.as_deref())?;
        optional_text("display_name", self.display_name.as_deref())?;
        if self.kind == ContactPointKind::Email {
            let e = Email::parse(&self.value).map_err(|e| e.in_field("value"))?;
            if e.as_str() != self.value {
                return Err(CrmError::validation(
                    "value",
                    "e-mail must be lower-case and trimmed",
                ));
            }
        } else if self.kind.is_phone() {
            Phone::parse(&self.value, None).map_err(|e| e.in_field("value"))?;
            if self.value.starts_with('+')
                && normalize_e164(&self.value, None).is_some_and(|n| n != self.value)
            {
                return Err(CrmError::validation("value", "phone must be in E.164 form"));
            }
        } else if self.value.trim().is_empty() {
            return Err(CrmError::validation("value", "must not be empty"));
        }
        crate::values::check_len("value", &self.value, 512)
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
        if self.primary {
            let owner = self.owner();
            vec![crate::store::UniqueKey::new(
                crate::store::keys::CONTACT_POINT_PRIMARY,
                format!("{}:{}:{:?}", owner.kind, owner.id, self.kind),
            )]
        } else {
            Vec::new()
        }
    }
}

/// Filter for contact points.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ContactPointFilter {
    /// Of this customer (including its contacts' points).
    pub customer_id: Option<CustomerId>,
    /// Of this contact.
    pub contact_id: Option<ContactId>,
    /// Only the customer's own points (`contact_id` is `None`).
    pub customer_level_only: bool,
    /// Of this kind.
    pub kind: Option<ContactPointKind>,
    /// With exactly this normalised value (see [`ContactPoint::normalize`]).
    pub value: Option<String>,
    /// Primary or not.
    pub primary: Option<bool>,
}

impl EntityFilter<ContactPoint> for ContactPointFilter {
    fn validate(&self) -> Result<()> {
        crate::values::check_filter_text("value", self.value.as_deref())
    }

    fn matches(&self, c: &ContactPoint) -> bool {
        eq(self.customer_id, c.customer_id)
            && opt_eq(self.contact_id, c.contact_id)
            && (!self.customer_level_only || c.contact_id.is_none())
            && eq(self.kind, c.kind)
            && eq(self.value.as_deref(), c.value.as_str())
            && eq(self.primary, c.primary)
    }
    fn parent(&self) -> Option<EntityRef> {
        self.contact_id
            .map(|id| EntityRef::new(EntityKind::Contact, id.into()))
            .or_else(|| {
                self.customer_id
                    .map(|id| EntityRef::new(EntityKind::Customer, id.into()))
            })
    }
}

/// Orders for contact points.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ContactPointSort {
    /// Creation time.
    #[default]
    CreatedAt,
    /// Normalised value.
    Value,
}

impl SortKey<ContactPoint> for ContactPointSort {
    fn name(&self) -> &'static str {
        match self {
            ContactPointSort::CreatedAt => "created_at",
            ContactPointSort::Value => "value",
        }
    }
    fn value(&self, c: &ContactPoint) -> SortValue {
        match self {
            ContactPointSort::CreatedAt => SortValue::Time(c.created_at),
            ContactPointSort::Value => SortValue::Text(c.value.clone()),
        }
    }
}

impl_entity!(
    ContactPoint,
    ContactPointId,
    ContactPointFilter,
    ContactPointSort
);

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000, 0).unwrap()
    }

    #[test]
    fn normalises_values() {
        let t = TenantId::new();
        let c = CustomerId::new();
        let e = ContactPoint::new(
            t,
            c,
            None,
            ContactPointKind::Email,
            " Bob@X.org ",
            None,
            now(),
        )
        .unwrap();
        assert_eq!(e.value, "bob@x.org");
        assert_eq!(e.raw_value, "Bob@X.org");
        let p = ContactPoint::new(
            t,
            c,
            None,
            ContactPointKind::Mobile,
            "0171 1234567",
            Some("DE"),
            now(),
        )
        .unwrap();
        assert_eq!(p.value, "+491711234567");
        assert_eq!(p.raw_value, "0171 1234567");
        let named = ContactPoint::new(
            t,
            c,
            None,
            ContactPointKind::Email,
            "\"Ines Ortega\" <Ines.Ortega@Example.com>",
            None,
            now(),
        )
        .unwrap();
        assert_eq!(named.value, "ines.ortega@example.com");
        assert_eq!(named.display_name.as_deref(), Some("Ines Ortega"));
        assert_eq!(named.raw_value, "\"Ines Ortega\" <Ines.Ortega@Example.com>");
        let bad =
            ContactPoint::new(t, c, None, ContactPointKind::Email, "bob", None, now()).unwrap_err();
        assert!(matches!(bad, CrmError::Validation { ref field, .. } if field == "value.email"));
    }

    proptest! {
        #[test]
        fn new_never_panics(raw in "\\PC{0,30}", k in 0usize..8) {
            let kinds = [ContactPointKind::Email, ContactPointKind::Phone, ContactPointKind::Mobile,
                ContactPointKind::Fax, ContactPointKind::Whatsapp, ContactPointKind::Telegram,
                ContactPointKind::Portal, ContactPointKind::Other];
            if let Ok(cp) = ContactPoint::new(TenantId::new(), CustomerId::new(), None, kinds[k], &raw, Some("US"), now()) {
                prop_assert!(cp.validate().is_ok());
            }
        }
    }
}
