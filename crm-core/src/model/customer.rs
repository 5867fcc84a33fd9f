//! Customers: people and companies the tenant does business with.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{check_custom, check_order, eq, in_range, opt_eq, CustomFields};
use crate::error::{CrmError, Result};
use crate::id::{CustomerId, TagId, TenantId, UserId};
use crate::money::Money;
use crate::store::{impl_entity, EntityFilter, EntityRules, SortKey, SortValue};
use crate::values::{
    check_language, check_len, check_timezone, check_website, optional_text, require_text,
};

/// Person or company.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CustomerKind {
    /// A private person.
    Person,
    /// An organisation; its people are [`super::Contact`]s.
    Company,
}

/// Commercial status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CustomerStatus {
    /// Doing business.
    Active,
    /// Not yet doing business.
    #[default]
    Prospect,
    /// Dormant.
    Inactive,
    /// Must not be dealt with.
    Blacklisted,
}

/// Where the customer is in its lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LifecycleStage {
    /// Known, not qualified.
    #[default]
    Lead,
    /// Has an open opportunity.
    Opportunity,
    /// Has bought.
    Customer,
    /// Used to buy.
    FormerCustomer,
}

/// A person or company the tenant does business with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Customer {
    /// Id.
    pub id: CustomerId,
    /// Owning tenant.
    pub tenant_id: TenantId,
    /// Optimistic-concurrency version.
    pub version: u64,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last update time.
    pub updated_at: DateTime<Utc>,
    /// Person or company.
    pub kind: CustomerKind,
    /// Display name (for a person, defaults to "first last").
    pub name: String,
    /// Given name (persons).
    pub first_name: Option<String>,
    /// Family name (persons).
    pub last_name: Option<String>,
    /// Legal company name (companies; optionally the employer of a person).
    pub company_name: Option<String>,
    /// Commercial status.
    pub status: CustomerStatus,
    /// Lifecycle stage.
    pub lifecycle_stage: LifecycleStage,
    /// Responsible user.
    pub owner: Option<UserId>,
    /// Where the customer came from (web, referral, fair, ...).
    pub source: Option<String>,
    /// Industry.
    pub industry: Option<String>,
    /// Web site.
    pub website: Option<String>,
    /// Number of employees (companies).
    pub company_size: Option<u32>,
    /// Annual revenue.
    pub annual_revenue: Option<Money>,
    /// Preferred language (BCP-47 tag).
    pub preferred_language: Option<String>,
    /// Time zone (IANA name).
    pub timezone: Option<String>,
    /// The host ERP's id for this customer; unique per tenant.
    pub external_ref: Option<String>,
    /// First contact.
    pub first_contact_at: Option<DateTime<Utc>>,
    /// Most recent contact (updated when interactions are logged).
    pub last_contact_at: Option<DateTime<Utc>>,
    /// Custom fields (a JSON object).
    pub custom_fields: CustomFields,
}

impl Customer {
    /// Records a contact at `at`: `last_contact_at` moves forward to it and
    /// `first_contact_at` back to it. Returns whether either changed.
    pub fn record_contact(&mut self, at: DateTime<Utc>) -> bool {
        let later = self.last_contact_at.is_none_or(|l| at > l);
        let earlier = self.first_contact_at.is_none_or(|f| at < f);
        if later {
            self.last_contact_at = Some(at);
        }
        if earlier {
            self.first_contact_at = Some(at);
        }
        later || earlier
    }

    fn blank(tenant: TenantId, kind: CustomerKind, name: String, now: DateTime<Utc>) -> Self {
        Self {
            id: CustomerId::new(),
            tenant_id: tenant,
            version: 1,
            created_at: now,
            updated_at: now,
            kind,
            name,
            first_name: None,
            last_name: None,
            company_name: None,
            status: CustomerStatus::default(),
            lifecycle_stage: LifecycleStage::default(),
            owner: None,
            source: None,
            industry: None,
            website: None,
            company_size: None,
            annual_revenue: None,
            preferred_language: None,
            timezone: None,
            external_ref: None,
            first_contact_at: None,
            last_contact_at: None,
            custom_fields: CustomFields::new(),
        }
    }

    /// A person customer named `first last`.
    pub fn person(
        tenant: TenantId,
        first_name: &str,
        last_name: &str,
        now: DateTime<Utc>,
    ) -> Result<Self> {
        let first = first_name.trim();
        let last = last_name.trim();
        let name = format!("{first} {last}").trim().to_string();
        let mut c = Self::blank(tenant, CustomerKind::Person, name, now);
        c.first_name = (!first.is_empty()).then(|| first.to_string());
        c.last_name = (!last.is_empty()).then(|| last.to_string());
        c.validate()?;
        Ok(c)
    }

    /// A company customer.
    pub fn company(tenant: TenantId, name: &str, now: DateTime<Utc>) -> Result<Self> {
        let name = name.trim();
        let mut c = Self::blank(tenant, CustomerKind::Company, name.to_string(), now);
        c.company_name = Some(name.to_string());
        c.validate()?;
        Ok(c)
    }
}

impl EntityRules for Customer {
    fn validate(&self) -> Result<()> {
        require_text("name", &self.name)?;
        optional_text("first_name", self.first_name.as_deref())?;
        optional_text("last_name", self.last_name.as_deref())?;
        optional_text("company_name", self.company_name.as_deref())?;
        optional_text("source", self.source.as_deref())?;
        optional_text("industry", self.industry.as_deref())?;
        optional_text("external_ref", self.external_ref.as_deref())?;
        if self.kind == CustomerKind::Person
            && self.first_name.is_none()
            && self.last_name.is_none()
        {
            return Err(CrmError::validation(
                "first_name",
                "a person needs a first or last name",
            ));
        }
        if let Some(w) = &self.website {
            check_website("website", w)?;
        }
        if let Some(l) = &self.preferred_language {
            check_language("preferred_language", l)?;
        }
        if let Some(tz) = &self.timezone {
            check_timezone("timezone", tz)?;
        }
        if let Some(m) = &self.annual_revenue {
            if m.minor < 0 {
                return Err(CrmError::validation(
                    "annual_revenue",
                    "must not be negative",
                ));
            }
        }
        check_order(
            "last_contact_at",
            self.first_contact_at,
            self.last_contact_at,
        )?;
        check_custom(&self.custom_fields)?;
        check_len(
            "custom_fields",
            &serde_json::to_string(&self.custom_fields).unwrap_or_default(),
            1 << 20,
        )
    }

    fn unique_keys(&self) -> Vec<crate::store::UniqueKey> {
        self.external_ref
            .as_ref()
            .map(|r| {
                vec![crate::store::UniqueKey::new(
                    crate::store::keys::CUSTOMER_EXTERNAL_REF,
                    r.clone(),
                )]
            })
            .unwrap_or_default()
    }
}

/// Filter for customers. Every condition that is set must hold.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CustomerFilter {
    /// Person or company.
    pub kind: Option<CustomerKind>,
    /// Status.
    pub status: Option<CustomerStatus>,
    /// Lifecycle stage.
    pub lifecycle_stage: Option<LifecycleStage>,
    /// Owner.
    pub owner: Option<UserId>,
    /// Source (exact).
    pub source: Option<String>,
    /// Industry (exact).
    pub industry: Option<String>,
    /// External reference (exact).
    pub external_ref: Option<String>,
    /// Carries this tag.
    pub tag: Option<TagId>,
    /// Full-text search over names, company name, contact names, e-mail addresses and
    /// phone digits of the customer and its contacts (see [`crate::search`]).
    pub text: Option<String>,
    /// Created at or after.
    pub created_from: Option<DateTime<Utc>>,
    /// Created before.
    pub created_to: Option<DateTime<Utc>>,
    /// Last contact before this time, or never contacted.
    pub not_contacted_since: Option<DateTime<Utc>>,
}

impl EntityFilter<Customer> for CustomerFilter {
    fn validate(&self) -> crate::error::Result<()> {
        use crate::values::check_filter_text;
        check_filter_text("source", self.source.as_deref())?;
        check_filter_text("industry", self.industry.as_deref())?;
        check_filter_text("external_ref", self.external_ref.as_deref())?;
        if let Some(text) = &self.text {
            crate::search::query_terms(text)?;
        }
        Ok(())
    }

    fn matches(&self, c: &Customer) -> bool {
        eq(self.kind, c.kind)
            && eq(self.status, c.status)
            && eq(self.lifecycle_stage, c.lifecycle_stage)
            && opt_eq(self.owner, c.owner)
            && opt_eq(self.source.as_deref(), c.source.as_deref())
            && opt_eq(self.industry.as_deref(), c.industry.as_deref())
            && opt_eq(self.external_ref.as_deref(), c.external_ref.as_deref())
            && in_range(c.created_at, self.created_from, self.created_to)
            && self
                .not_contacted_since
                .is_none_or(|t| c.last_contact_at.is_none_or(|l| l < t))
    }
    fn tag(&self) -> Option<TagId> {
        self.tag
    }
    fn text(&self) -> Option<&str> {
        self.text.as_deref()
    }
}

/// Orders for customers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CustomerSort {
    /// Creation time.
    #[default]
    CreatedAt,
    /// Last update time.
    UpdatedAt,
    /// Display name, case-insensitive.
    Name,
    /// Last contact time (never contacted sorts as missing).
    LastContactAt,
}

impl SortKey<Customer> for CustomerSort {
    fn name(&self) -> &'static str {
        match self {
            CustomerSort::CreatedAt => "created_at",
            CustomerSort::UpdatedAt => "updated_at",
            CustomerSort::Name => "name",
            CustomerSort::LastContactAt => "last_contact_at",
        }
    }
    fn value(&self, c: &Customer) -> SortValue {
        match self {
            CustomerSort::CreatedAt => SortValue::Time(c.created_at),
            CustomerSort::UpdatedAt => SortValue::Time(c.updated_at),
            CustomerSort::Name => SortValue::text_ci(Some(&c.name)),
            CustomerSort::LastContactAt => SortValue::time(c.last_contact_at),
        }
    }
}

impl_entity!(Customer, CustomerId, CustomerFilter, CustomerSort);

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000, 0).unwrap()
    }

    #[test]
    fn person_gets_display_name() {
        let c = Customer::person(TenantId::new(), " Ada ", "Lovelace", now()).unwrap();
        assert_eq!(c.name, "Ada Lovelace");
        assert_eq!(c.first_name.as_deref(), Some("Ada"));
        assert_eq!(c.version, 1);
    }

    #[test]
    fn empty_names_fail_naming_the_field() {
        let e = Customer::person(TenantId::new(), " ", "", now()).unwrap_err();
        assert!(matches!(e, CrmError::Validation { ref field, .. } if field == "name"));
        let e = Customer::company(TenantId::new(), "", now()).unwrap_err();
        assert!(matches!(e, CrmError::Validation { ref field, .. } if field == "name"));
    }

    #[test]
    fn contact_dates_must_be_ordered() {
        let mut c = Customer::company(TenantId::new(), "Acme", now()).unwrap();
        c.first_contact_at = Some(now());
        c.last_contact_at = Some(now() - chrono::Duration::days(1));
        assert!(
            matches!(c.validate(), Err(CrmError::Validation { ref field, .. }) if field == "last_contact_at")
        );
    }

    proptest! {
        #[test]
        fn constructors_never_panic(first in "\\PC{0,20}", last in "\\PC{0,20}", web in "\\PC{0,20}") {
            if let Ok(mut c) = Customer::person(TenantId::new(), &first, &last, now()) {
                prop_assert!(!c.name.trim().is_empty());
                c.website = Some(web);
                let _ = c.validate();
            }
            let _ = Customer::company(TenantId::new(), &first, now());
        }
    }
}
