//! Leads: unqualified interest that may become a customer and a deal.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{check_custom, eq, in_range, opt_eq, opt_ref, CustomFields, Priority};
use crate::error::{CrmError, Result};
use crate::id::{ContactId, CustomerId, DealId, LeadId, TagId, TenantId, UserId};
use crate::money::Money;
use crate::store::{
    impl_entity, EntityFilter, EntityKind, EntityRef, EntityRules, SortKey, SortValue,
};
use crate::values::{optional_text, Email, Percent, Phone};

/// Lifecycle state of a lead.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LeadStatus {
    /// Just arrived.
    #[default]
    New,
    /// Someone reached out.
    Contacted,
    /// Worth pursuing.
    Qualified,
    /// Became a customer (and maybe a deal).
    Converted,
    /// Not worth pursuing (with a reason).
    Disqualified,
    /// Went away.
    Lost,
}

/// BANT authority: does the contact decide?
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Authority {
    /// Decides.
    Yes,
    /// Does not decide.
    No,
    /// Not known.
    #[default]
    Unknown,
}

/// BANT need.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Need {
    /// Stated by the lead.
    Explicit,
    /// Inferred.
    Implied,
}

/// BANT timeline: when the lead means to buy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Timeline {
    /// Now.
    #[serde(rename = "immediate")]
    Immediate,
    /// In one to three months.
    #[serde(rename = "1-3m")]
    Months1To3,
    /// In three to six months.
    #[serde(rename = "3-6m")]
    Months3To6,
    /// In six to twelve months.
    #[serde(rename = "6-12m")]
    Months6To12,
    /// In more than a year.
    #[serde(rename = "12m+")]
    Over12Months,
}

/// Temperature of a lead.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rating {
    /// Ready to buy.
    Hot,
    /// Interested.
    Warm,
    /// Barely interested.
    Cold,
}

/// Why, by whom and when a lead was disqualified.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Disqualification {
    /// The reason.
    pub reason: String,
    /// Who disqualified it.
    pub by: Option<UserId>,
    /// When.
    pub at: DateTime<Utc>,
}

/// A lead.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Lead {
    /// Id.
    pub id: LeadId,
    /// Owning tenant.
    pub tenant_id: TenantId,
    /// Optimistic-concurrency version.
    pub version: u64,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last update time.
    pub updated_at: DateTime<Utc>,
    /// Given name.
    pub first_name: Option<String>,
    /// Family name.
    pub last_name: Option<String>,
    /// E-mail.
    pub email: Option<Email>,
    /// Phone.
    pub phone: Option<Phone>,
    /// Company name.
    pub company: Option<String>,
    /// Job title.
    pub job_title: Option<String>,
    /// Source (web form, fair, referral, ...).
    pub source: Option<String>,
    /// Marketing campaign.
    pub campaign: Option<String>,
    /// Marketing medium.
    pub medium: Option<String>,
    /// Referrer.
    pub referrer: Option<String>,
    /// BANT budget.
    pub budget: Option<Money>,
    /// BANT authority.
    pub authority: Authority,
    /// BANT need.
    pub need: Option<Need>,
    /// BANT timeline.
    pub timeline: Option<Timeline>,
    /// Lifecycle state.
    pub status: LeadStatus,
    /// Score 0..=100.
    pub score: Percent,
    /// Rating.
    pub rating: Option<Rating>,
    /// Priority.
    pub priority: Priority,
    /// Responsible user.
    pub owner: Option<UserId>,
    /// The customer it converted into.
    pub converted_customer_id: Option<CustomerId>,
    /// The contact it converted into.
    pub converted_contact_id: Option<ContactId>,
    /// The deal it converted into.
    pub converted_deal_id: Option<DealId>,
    /// When it converted.
    pub converted_at: Option<DateTime<Utc>>,
    /// Why it was disqualified.
    pub disqualification: Option<Disqualification>,
    /// Custom fields (a JSON object).
    pub custom_fields: CustomFields,
}

impl Lead {
    /// An empty new lead; set at least a name, e-mail, phone or company before saving.
    pub fn new(tenant: TenantId, now: DateTime<Utc>) -> Self {
        Self {
            id: LeadId::new(),
            tenant_id: tenant,
            version: 1,
            created_at: now,
            updated_at: now,
            first_name: None,
            last_name: None,
            email: None,
            phone: None,
            company: None,
            job_title: None,
            source: None,
            campaign: None,
            medium: None,
            referrer: None,
            budget: None,
            authority: Authority::Unknown,
            need: None,
            timeline: None,
            status: LeadStatus::New,
            score: Percent::ZERO,
            rating: None,
            priority: Priority::Medium,
            owner: None,
            converted_customer_id: None,
            converted_contact_id: None,
            converted_deal_id: None,
            converted_at: None,
            disqualification: None,
            custom_fields: CustomFields::new(),
        }
    }

    /// A new lead for a person, with an optional e-mail. An e-mail typed with a display name
    /// (`"Ines Ortega" <ines@example.com>`) is stored as the bare address; when neither
    /// `first` nor `last` is given, the display name supplies them (its last word the family
    /// name, the rest the given name).
    pub fn person(
        tenant: TenantId,
        first: &str,
        last: &str,
        email: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Self> {
        let mut l = Self::new(tenant, now);
        let own = |s: &str| Some(s.trim().to_string()).filter(|s| !s.is_empty());
        l.first_name = own(first);
        l.last_name = own(last);
        if let Some(raw) = email {
            let (address, name) = Email::parse_with_name(raw)?;
            l.email = Some(address);
            if let (None, None, Some(name)) = (&l.first_name, &l.last_name, name) {
                match name.trim().rsplit_once(char::is_whitespace) {
                    Some((given, family)) => {
                        l.first_name = own(given);
                        l.last_name = own(family);
                    }
                    None => l.first_name = own(&name),
                }
            }
        }
        l.validate()?;
        Ok(l)
    }

    /// "first last", falling back to the company, e-mail or phone.
    pub fn display_name(&self) -> String {
        let name = [self.first_name.as_deref(), self.last_name.as_deref()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" ");
        if !name.is_empty() {
            return name;
        }
        self.company
            .clone()
            .or_else(|| self.email.as_ref().map(|e| e.to_string()))
            .or_else(|| self.phone.as_ref().map(|p| p.raw.clone()))
            .unwrap_or_default()
    }
}

impl EntityRules for Lead {
    fn validate(&self) -> Result<()> {
        for (f, v) in [
            ("first_name", &self.first_name),
            ("last_name", &self.last_name),
            ("company", &self.company),
            ("job_title", &self.job_title),
            ("source", &self.source),
            ("campaign", &self.campaign),
            ("medium", &self.medium),
            ("referrer", &self.referrer),
        ] {
            optional_text(f, v.as_deref())?;
        }
        if self.first_name.is_none()
            && self.last_name.is_none()
            && self.email.is_none()
            && self.phone.is_none()
            && self.company.is_none()
        {
            return Err(CrmError::validation(
                "first_name",
                "a lead needs a name, e-mail, phone or company",
            ));
        }
        if let Some(b) = &self.budget {
            if b.minor < 0 {
                return Err(CrmError::validation("budget", "must not be negative"));
            }
        }
        match self.status {
            LeadStatus::Converted => {
                if self.converted_customer_id.is_none() || self.converted_at.is_none() {
                    return Err(CrmError::validation(
                        "converted_customer_id",
                        "a converted lead records the customer it became and when",
                    ));
                }
            }
            _ => {
                if self.converted_customer_id.is_some()
                    || self.converted_contact_id.is_some()
                    || self.converted_deal_id.is_some()
                {
                    return Err(CrmError::validation(
                        "status",
                        "only a converted lead links to what it became",
                    ));
                }
            }
        }
        match (&self.status, &self.disqualification) {
            (LeadStatus::Disqualified, None) => {
                return Err(CrmError::validation(
                    "disqualification",
                    "a disqualified lead needs a reason",
                ))
            }
            (LeadStatus::Disqualified, Some(d)) => {
                crate::values::require_text("disqualification.reason", &d.reason)?
            }
            _ => {}
        }
        check_custom(&self.custom_fields)
    }
    fn references(&self) -> Vec<EntityRef> {
        [
            opt_ref(EntityKind::Customer, self.converted_customer_id),
            opt_ref(EntityKind::Contact, self.converted_contact_id),
            opt_ref(EntityKind::Deal, self.converted_deal_id),
        ]
        .into_iter()
        .flatten()
        .collect()
    }
}

/// Filter for leads.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LeadFilter {
    /// In this state.
    pub status: Option<LeadStatus>,
    /// Owned by.
    pub owner: Option<UserId>,
    /// From this source (exact).
    pub source: Option<String>,
    /// From this campaign (exact).
    pub campaign: Option<String>,
    /// With this rating.
    pub rating: Option<Rating>,
    /// Score at least.
    pub min_score: Option<u8>,
    /// With this normalised e-mail.
    pub email: Option<Email>,
    /// Carries this tag.
    pub tag: Option<TagId>,
    /// Created at or after.
    pub created_from: Option<DateTime<Utc>>,
    /// Created before.
    pub created_to: Option<DateTime<Utc>>,
    /// Converted into this customer.
    pub converted_customer_id: Option<CustomerId>,
}

impl EntityFilter<Lead> for LeadFilter {
    fn validate(&self) -> crate::error::Result<()> {
        crate::values::check_filter_text("source", self.source.as_deref())?;
        crate::values::check_filter_text("campaign", self.campaign.as_deref())
    }

    fn matches(&self, l: &Lead) -> bool {
        eq(self.status, l.status)
            && opt_eq(self.owner, l.owner)
            && opt_eq(self.source.as_deref(), l.source.as_deref())
            && opt_eq(self.campaign.as_deref(), l.campaign.as_deref())
            && opt_eq(self.rating, l.rating)
            && self.min_score.is_none_or(|m| l.score.get() >= m)
            && opt_eq(self.email.as_ref(), l.email.as_ref())
            && in_range(l.created_at, self.created_from, self.created_to)
            && self
                .converted_customer_id
                .is_none_or(|c| l.converted_customer_id == Some(c))
    }
    fn tag(&self) -> Option<TagId> {
        self.tag
    }
}

/// Orders for leads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LeadSort {
    /// Creation time.
    #[default]
    CreatedAt,
    /// Last update time.
    UpdatedAt,
    /// Score.
    Score,
}

impl SortKey<Lead> for LeadSort {
    fn name(&self) -> &'static str {
        match self {
            LeadSort::CreatedAt => "created_at",
            LeadSort::UpdatedAt => "updated_at",
            LeadSort::Score => "score",
        }
    }
    fn value(&self, l: &Lead) -> SortValue {
        match self {
            LeadSort::CreatedAt => SortValue::Time(l.created_at),
            LeadSort::UpdatedAt => SortValue::Time(l.updated_at),
            LeadSort::Score => SortValue::Int(i64::from(l.score.get())),
        }
    }
}

impl_entity!(Lead, LeadId, LeadFilter, LeadSort);
