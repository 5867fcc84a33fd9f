//! Locations: billing and service addresses of a customer.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::eq;
use crate::error::{CrmError, Result};
use crate::id::{CustomerId, LocationId, TenantId};
use crate::store::{
    impl_entity, EntityFilter, EntityKind, EntityRef, EntityRules, SortKey, SortValue,
};
use crate::values::{optional_text, Country};

/// What an address is used for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LocationUsage {
    /// Invoices go here.
    Billing,
    /// Service and deliveries go here.
    Service,
    /// Both.
    #[default]
    Both,
}

/// A postal address of a customer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Location {
    /// Id.
    pub id: LocationId,
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
    /// Label ("HQ", "Warehouse").
    pub label: Option<String>,
    /// Billing, service or both.
    pub usage: LocationUsage,
    /// Street and number.
    pub line1: Option<String>,
    /// Second address line.
    pub line2: Option<String>,
    /// Third address line.
    pub line3: Option<String>,
    /// City.
    pub city: Option<String>,
    /// State, province or region.
    pub region: Option<String>,
    /// Postal code.
    pub postal_code: Option<String>,
    /// Country.
    pub country: Option<Country>,
    /// Latitude in degrees (-90..=90).
    pub latitude: Option<f64>,
    /// Longitude in degrees (-180..=180).
    pub longitude: Option<f64>,
    /// The customer's primary address (at most one per customer).
    pub primary: bool,
}

/// The parts of an address given to [`Location::new`], by name (four adjacent optional
/// strings are too easy to swap). Parts left out are `None`:
/// `AddressParts { city: Some("Berlin"), country: Some("DE"), ..Default::default() }`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AddressParts<'a> {
    /// Street and number.
    pub line1: Option<&'a str>,
    /// Postal code.
    pub postal_code: Option<&'a str>,
    /// City.
    pub city: Option<&'a str>,
    /// Country (ISO-3166 alpha-2 code or English name).
    pub country: Option<&'a str>,
}

/// The country code phone numbers without `+` are read in for a customer with these
/// addresses: the country of its primary one, else of the first that has a country.
pub fn phone_region_of(locations: &[Location]) -> Option<String> {
    let located = |primary: bool| {
        locations
            .iter()
            .filter(|l| !primary || l.primary)
            .find_map(|l| l.country.as_ref().map(|c| c.code().to_string()))
    };
    located(true).or_else(|| located(false))
}

impl Location {
    /// An address of `customer`; at least a street line or a city is required.
    pub fn new(
        tenant: TenantId,
        customer: CustomerId,
        address: AddressParts<'_>,
        now: DateTime<Utc>,
    ) -> Result<Self> {
        let AddressParts {
            line1,
            postal_code,
            city,
            country,
        } = address;
        let own = |s: Option<&str>| {
            s.map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
        };
        let l = Self {
            id: LocationId::new(),
            tenant_id: tenant,
            version: 1,
            created_at: now,
            updated_at: now,
            customer_id: customer,
            label: None,
            usage: LocationUsage::Both,
            line1: own(line1),
            line2: None,
            line3: None,
            city: own(city),
            region: None,
            postal_code: own(postal_code),
            country: country.map(Country::parse).transpose()?,
            latitude: None,
            longitude: None,
            primary: false,
        };
        l.validate()?;
        Ok(l)
    }

    /// One-line rendering of the address.
    pub fn one_line(&self) -> String {
        [
            self.line1.as_deref(),
            self.line2.as_deref(),
            self.line3.as_deref(),
            self.postal_code.as_deref(),
            self.city.as_deref(),
            self.region.as_deref(),
            self.country.as_ref().map(|c| c.code()),
        ]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(", ")
    }
}

impl EntityRules for Location {
    fn validate(&self) -> Result<()> {
        for (f, v) in [
            ("label", &self.label),
            ("line1", &self.line1),
            ("line2", &self.line2),
            ("line3", &self.line3),
            ("city", &self.city),
            ("region", &self.region),
            ("postal_code", &self.postal_code),
        ] {
            optional_text(f, v.as_deref())?;
        }
        if self.line1.is_none() && self.city.is_none() {
            return Err(CrmError::validation(
                "line1",
                "an address needs a street line or a city",
            ));
        }
        if let Some(lat) = self.latitude {
            if !(-90.0..=90.0).contains(&lat) {
                return Err(CrmError::validation("latitude", "outside -90..=90"));
            }
        }
        if let Some(lon) = self.longitude {
            if !(-180.0..=180.0).contains(&lon) {
                return Err(CrmError::validation("longitude", "outside -180..=180"));
            }
        }
        if self.latitude.is_some() != self.longitude.is_some() {
            return Err(CrmError::validation(
                "longitude",
                "latitude and longitude go together",
            ));
        }
        Ok(())
    }
    fn references(&self) -> Vec<EntityRef> {
        vec![EntityRef::new(
            EntityKind::Customer,
            self.customer_id.into(),
        )]
    }
    fn unique_keys(&self) -> Vec<crate::store::UniqueKey> {
        if self.primary {
            vec![crate::store::UniqueKey::new(
                crate::store::keys::LOCATION_PRIMARY,
                self.customer_id.to_string(),
            )]
        } else {
            Vec::new()
        }
    }
}

/// Filter for locations.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LocationFilter {
    /// Of this customer.
    pub customer_id: Option<CustomerId>,
    /// With this usage.
    pub usage: Option<LocationUsage>,
    /// In this country.
    pub country: Option<Country>,
    /// With this postal code (exact).
    pub postal_code: Option<String>,
    /// Primary or not.
    pub primary: Option<bool>,
}

impl EntityFilter<Location> for LocationFilter {
    fn validate(&self) -> crate::error::Result<()> {
        crate::values::check_filter_text("postal_code", self.postal_code.as_deref())
    }

    fn matches(&self, l: &Location) -> bool {
        eq(self.customer_id, l.customer_id)
            && eq(self.usage, l.usage)
            && self.country.is_none_or(|c| l.country == Some(c))
            && self
                .postal_code
                .as_deref()
                .is_none_or(|p| l.postal_code.as_deref() == Some(p))
            && eq(self.primary, l.primary)
    }
    fn parent(&self) -> Option<EntityRef> {
        self.customer_id
            .map(|id| EntityRef::new(EntityKind::Customer, id.into()))
    }
}

/// Orders for locations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LocationSort {
    /// Creation time.
    #[default]
    CreatedAt,
    /// City, case-insensitive.
    City,
}

impl SortKey<Location> for LocationSort {
    fn name(&self) -> &'static str {
        match self {
            LocationSort::CreatedAt => "created_at",
            LocationSort::City => "city",
        }
    }
    fn value(&self, l: &Location) -> SortValue {
        match self {
            LocationSort::CreatedAt => SortValue::Time(l.created_at),
            LocationSort::City => SortValue::text_ci(l.city.as_deref()),
        }
    }
}

impl_entity!(Location, LocationId, LocationFilter, LocationSort);
