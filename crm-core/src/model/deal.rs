//! Deals (opportunities) and their stage history.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::{check_custom, eq, in_range, opt_eq, opt_ref, CustomFields};
use crate::error::{CrmError, Result};
use crate::id::{
    ContactId, CustomerId, DealId, LineItemId, PipelineId, StageChangeId, StageId, TagId, TenantId,
    UserId,
};
use crate::money::{Currency, Money};
use crate::store::{
    impl_entity, EntityFilter, EntityKind, EntityRef, EntityRules, SortKey, SortValue,
};
use crate::values::{optional_text, require_text, Percent};

/// Whether a deal is still being worked on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DealStatus {
    /// In progress.
    #[default]
    Open,
    /// Won.
    Won,
    /// Lost.
    Lost,
}

/// A product or service line of a deal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineItem {
    /// Id.
    pub id: LineItemId,
    /// The host ERP's product reference.
    pub product_ref: Option<String>,
    /// Name.
    pub name: String,
    /// Quantity in whole units (at least 1).
    pub quantity: i64,
    /// Price of one unit.
    pub unit_price: Money,
    /// Discount in percent.
    pub discount: Percent,
}

impl LineItem {
    /// A line item without discount.
    pub fn new(name: &str, quantity: i64, unit_price: Money) -> Result<Self> {
        let li = Self {
            id: LineItemId::new(),
            product_ref: None,
            name: name.trim().to_string(),
            quantity,
            unit_price,
            discount: Percent::ZERO,
        };
        li.check("line_items[0]")?;
        Ok(li)
    }

    /// `quantity * unit_price * (100 - discount) / 100`, rounded half away from zero.
    pub fn total(&self) -> Result<Money> {
        self.unit_price
            .checked_mul(self.quantity)?
            .mul_ratio(100 - i64::from(self.discount.get()), 100)
    }

    fn check(&self, path: &str) -> Result<()> {
        require_text(&format!("{path}.name"), &self.name)?;
        if self.quantity < 1 {
            return Err(CrmError::validation(
                format!("{path}.quantity"),
                "must be at least 1",
            ));
        }
        if self.unit_price.minor < 0 {
            return Err(CrmError::validation(
                format!("{path}.unit_price"),
                "must not be negative",
            ));
        }
        self.total().map_err(|e| e.in_field(path)).map(|_| ())
    }
}

/// A sales opportunity moving through a pipeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Deal {
    /// Id.
    pub id: DealId,
    /// Owning tenant.
    pub tenant_id: TenantId,
    /// Optimistic-concurrency version.
    pub version: u64,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last update time.
    pub updated_at: DateTime<Utc>,
    /// Name.
    pub name: String,
    /// The customer.
    pub customer_id: Option<CustomerId>,
    /// The main contact person.
    pub contact_id: Option<ContactId>,
    /// The pipeline.
    pub pipeline_id: PipelineId,
    /// The current stage (of `pipeline_id`).
    pub stage_id: StageId,
    /// Since when the deal is in its current stage.
    pub stage_entered_at: DateTime<Utc>,
    /// Expected value.
    pub amount: Money,
    /// Win probability.
    pub probability: Percent,
    /// The probability was set by hand and does not follow the stage.
    pub probability_manual: bool,
    /// Expected close date.
    pub expected_close: Option<NaiveDate>,
    /// Open, won or lost.
    pub status: DealStatus,
    /// When it was won or lost.
    pub closed_at: Option<DateTime<Utc>>,
    /// Why it was won.
    pub won_reason: Option<String>,
    /// Why it was lost.
    pub lost_reason: Option<String>,
    /// The competitor it was lost to.
    pub lost_to_competitor: Option<String>,
    /// Notes on the loss.
    pub lost_notes: Option<String>,
    /// Product lines.
    pub line_items: Vec<LineItem>,
    /// Responsible user.
    pub owner: Option<UserId>,
    /// Other users working on it.
    pub team: Vec<UserId>,
    /// Last activity or interaction on the deal (resets rotting).
    pub last_activity_at: Option<DateTime<Utc>>,
    /// Custom fields (a JSON object).
    pub custom_fields: CustomFields,
}

impl Deal {
    /// An open deal in `stage` of `pipeline`, with the stage's probability.
    pub fn new(
        tenant: TenantId,
        name: &str,
        pipeline: &super::Pipeline,
        stage: StageId,
        amount: Money,
        now: DateTime<Utc>,
    ) -> Result<Self> {
        let st = pipeline
            .stage(stage)
            .ok_or_else(|| CrmError::validation("stage_id", "not a stage of the pipeline"))?;
        if st.is_closed() {
            return Err(CrmError::validation(
                "stage_id",
                "a new deal starts in an open stage",
            ));
        }
        let d = Self {
            id: DealId::new(),
            tenant_id: tenant,
            version: 1,
            created_at: now,
            updated_at: now,
            name: name.trim().to_string(),
            customer_id: None,
            contact_id: None,
            pipeline_id: pipeline.id,
            stage_id: stage,
            stage_entered_at: now,
            amount,
            probability: st.probability,
            probability_manual: false,
            expected_close: None,
            status: DealStatus::Open,
            closed_at: None,
            won_reason: None,
            lost_reason: None,
            lost_to_competitor: None,
            lost_notes: None,
            line_items: Vec::new(),
            owner: None,
            team: Vec::new(),
            last_activity_at: None,
            custom_fields: CustomFields::new(),
        };
        d.validate()?;
        Ok(d)
    }

    /// The currency of the deal.
    pub fn currency(&self) -> Currency {
        self.amount.currency
    }

    /// `amount * probability / 100`.
    pub fn weighted_amount(&self) -> Result<Money> {
        self.amount
            .mul_ratio(i64::from(self.probability.get()), 100)
    }

    /// Sum of the line items' totals (zero without line items).
    pub fn line_items_total(&self) -> Result<Money> {
        self.line_items
            .iter()
            .try_fold(Money::zero(self.currency()), |acc, li| {
                acc.checked_add(li.total()?)
            })
    }
}

impl EntityRules for Deal {
    fn validate(&self) -> Result<()> {
        require_text("name", &self.name)?;
        for (f, v) in [
            ("won_reason", &self.won_reason),
            ("lost_reason", &self.lost_reason),
            ("lost_to_competitor", &self.lost_to_competitor),
        ] {
            optional_text(f, v.as_deref())?;
        }
        if self.amount.minor < 0 {
            return Err(CrmError::validation("amount", "must not be negative"));
        }
        for (i, li) in self.line_items.iter().enumerate() {
            let path = format!("line_items[{i}]");
            li.check(&path)?;
            if li.unit_price.currency != self.amount.currency {
                return Err(CrmError::validation(
                    format!("{path}.unit_price"),
                    format!(
                        "currency {} differs from the deal's {}",
                        li.unit_price.currency, self.amount.currency
                    ),
                ));
            }
        }
        self.line_items_total()?;
        match self.status {
            DealStatus::Open => {
                if self.closed_at.is_some() {
                    return Err(CrmError::validation(
                        "closed_at",
                        "an open deal has no close time",
                    ));
                }
            }
            DealStatus::Won | DealStatus::Lost => {
                let want = if self.status == DealStatus::Won {
                    Percent::HUNDRED
                } else {
                    Percent::ZERO
                };
                if self.probability != want {
                    return Err(CrmError::validation(
                        "probability",
                        format!("a {} deal has probability {want}", self.status),
                    ));
                }
                if self.closed_at.is_none() {
                    return Err(CrmError::validation(
                        "closed_at",
                        "a closed deal has a close time",
                    ));
                }
            }
        }
        check_custom(&self.custom_fields)
    }
    fn references(&self) -> Vec<EntityRef> {
        let mut v = vec![EntityRef::new(
            EntityKind::Pipeline,
            self.pipeline_id.into(),
        )];
        v.extend(opt_ref(EntityKind::Customer, self.customer_id));
        v.extend(opt_ref(EntityKind::Contact, self.contact_id));
        v
    }
}

/// Filter for deals.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DealFilter {
    /// Of this customer.
    pub customer_id: Option<CustomerId>,
    /// In this pipeline.
    pub pipeline_id: Option<PipelineId>,
    /// In this stage.
    pub stage_id: Option<StageId>,
    /// With this status.
    pub status: Option<DealStatus>,
    /// Owned by.
    pub owner: Option<UserId>,
    /// Amount at least (minor units; deals of any currency).
    pub min_amount: Option<i64>,
    /// Expected to close on or before.
    pub expected_close_before: Option<NaiveDate>,
    /// Carries this tag.
    pub tag: Option<TagId>,
    /// Created at or after.
    pub created_from: Option<DateTime<Utc>>,
    /// Created before.
    pub created_to: Option<DateTime<Utc>>,
}

impl EntityFilter<Deal> for DealFilter {
    fn matches(&self, d: &Deal) -> bool {
        opt_eq(self.customer_id, d.customer_id)
            && eq(self.pipeline_id, d.pipeline_id)
            && eq(self.stage_id, d.stage_id)
            && eq(self.status, d.status)
            && opt_eq(self.owner, d.owner)
            && self.min_amount.is_none_or(|m| d.amount.minor >= m)
            && self
                .expected_close_before
                .is_none_or(|t| d.expected_close.is_some_and(|c| c <= t))
            && in_range(d.created_at, self.created_from, self.created_to)
    }
    fn tag(&self) -> Option<TagId> {
        self.tag
    }
    fn parent(&self) -> Option<EntityRef> {
        self.customer_id
            .map(|id| EntityRef::new(EntityKind::Customer, id.into()))
    }
}

/// Orders for deals.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DealSort {
    /// Creation time.
    #[default]
    CreatedAt,
    /// Last update time.
    UpdatedAt,
    /// Amount in minor units.
    Amount,
    /// Expected close date.
    ExpectedClose,
    /// Name, case-insensitive.
    Name,
}

impl SortKey<Deal> for DealSort {
    fn name(&self) -> &'static str {
        match self {
            DealSort::CreatedAt => "created_at",
            DealSort::UpdatedAt => "updated_at",
            DealSort::Amount => "amount",
            DealSort::ExpectedClose => "expected_close",
            DealSort::Name => "name",
        }
    }
    fn value(&self, d: &Deal) -> SortValue {
        match self {
            DealSort::CreatedAt => SortValue::Time(d.created_at),
            DealSort::UpdatedAt => SortValue::Time(d.updated_at),
            DealSort::Amount => SortValue::Int(d.amount.minor),
            DealSort::ExpectedClose => SortValue::time(
                d.expected_close
                    .and_then(|c| c.and_hms_opt(0, 0, 0))
                    .map(|t| t.and_utc()),
            ),
            DealSort::Name => SortValue::text_ci(Some(&d.name)),
        }
    }
}

impl_entity!(Deal, DealId, DealFilter, DealSort);

/// One transition of a deal: a stage move, a win, a loss or a reopen.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StageChange {
    /// Id.
    pub id: StageChangeId,
    /// Owning tenant.
    pub tenant_id: TenantId,
    /// Optimistic-concurrency version.
    pub version: u64,
    /// Creation time (equals `at`).
    pub created_at: DateTime<Utc>,
    /// Last update time.
    pub updated_at: DateTime<Utc>,
    /// The deal.
    pub deal_id: DealId,
    /// The deal's customer at the time (for timelines).
    pub customer_id: Option<CustomerId>,
    /// The pipeline.
    pub pipeline_id: PipelineId,
    /// Stage before (`None` when the deal was created).
    pub from_stage: Option<StageId>,
    /// Stage after.
    pub to_stage: StageId,
    /// Status before.
    pub from_status: Option<DealStatus>,
    /// Status after.
    pub to_status: DealStatus,
    /// When.
    pub at: DateTime<Utc>,
    /// By whom.
    pub by: Option<UserId>,
    /// The deal's amount at that time.
    pub amount: Money,
    /// The deal's probability after the change.
    pub probability: Percent,
}

impl StageChange {
    /// Records that `deal` (already in its new state) came from `from` at `at`.
    pub fn record(
        deal: &Deal,
        from_stage: Option<StageId>,
        from_status: Option<DealStatus>,
        by: Option<UserId>,
        at: DateTime<Utc>,
    ) -> Self {
        Self {
            id: StageChangeId::new(),
            tenant_id: deal.tenant_id,
            version: 1,
            created_at: at,
            updated_at: at,
            deal_id: deal.id,
            customer_id: deal.customer_id,
            pipeline_id: deal.pipeline_id,
            from_stage,
            to_stage: deal.stage_id,
            from_status,
            to_status: deal.status,
            at,
            by,
            amount: deal.amount,
            probability: deal.probability,
        }
    }
}

impl EntityRules for StageChange {
    fn validate(&self) -> Result<()> {
        Ok(())
    }
    fn references(&self) -> Vec<EntityRef> {
        vec![EntityRef::new(EntityKind::Deal, self.deal_id.into())]
    }
}

/// Filter for stage changes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StageChangeFilter {
    /// Of this deal.
    pub deal_id: Option<DealId>,
    /// Of deals of this customer.
    pub customer_id: Option<CustomerId>,
    /// In this pipeline.
    pub pipeline_id: Option<PipelineId>,
    /// At or after.
    pub from: Option<DateTime<Utc>>,
    /// Before.
    pub to: Option<DateTime<Utc>>,
}

impl EntityFilter<StageChange> for StageChangeFilter {
    fn matches(&self, s: &StageChange) -> bool {
        eq(self.deal_id, s.deal_id)
            && opt_eq(self.customer_id, s.customer_id)
            && eq(self.pipeline_id, s.pipeline_id)
            && in_range(s.at, self.from, self.to)
    }
    fn parent(&self) -> Option<EntityRef> {
        self.deal_id
            .map(|id| EntityRef::new(EntityKind::Deal, id.into()))
    }
}

/// Orders for stage changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StageChangeSort {
    /// Time of the change.
    #[default]
    At,
}

impl SortKey<StageChange> for StageChangeSort {
    fn name(&self) -> &'static str {
        "at"
    }
    fn value(&self, s: &StageChange) -> SortValue {
        SortValue::Time(s.at)
    }
}

impl_entity!(
    StageChange,
    StageChangeId,
    StageChangeFilter,
    StageChangeSort
);
