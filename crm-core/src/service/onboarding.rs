//! Atomic nested create: a customer with its contacts, contact points, locations, tags and
//! consent in one call and one change set.

use chrono::{DateTime, Utc};

use crate::error::{CrmError, Result};
use crate::id::Actor;
use crate::model::*;
use crate::store::{ChangeSet, CrmStore, Entity, EntityRules};

use super::{Crm, Customers, MAX_RETRIES};

/// A contact point to create: its kind and value as typed (normalised on create, phones
/// read in the customer's country).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPoint {
    /// What kind of point.
    pub kind: ContactPointKind,
    /// The value as typed.
    pub value: String,
    /// Whether it is its owner's primary point of its kind. When no point of a kind is
    /// marked, the first one is.
    pub primary: bool,
}

impl NewPoint {
    /// A point of `kind` with `value` (primary if it is its owner's first of that kind).
    pub fn new(kind: ContactPointKind, value: impl Into<String>) -> Self {
        Self {
            kind,
            value: value.into(),
            primary: false,
        }
    }
}

/// A contact to create with its own points and consent.
#[derive(Debug, Clone, PartialEq)]
pub struct NewContact {
    /// The contact (its customer is set to the new customer). When no contact is marked
    /// [`Contact::is_primary`], the first one is the customer's primary contact.
    pub contact: Contact,
    /// Its e-mail addresses, phones and other points.
    pub points: Vec<NewPoint>,
    /// Its consent record (customer and contact are set).
    pub consent: Option<Consent>,
}

impl NewContact {
    /// A contact without points or consent.
    pub fn new(contact: Contact) -> Self {
        Self {
            contact,
            points: Vec::new(),
            consent: None,
        }
    }
}

/// A customer with everything that belongs to it, for [`crate::Customers::create_with`].
#[derive(Debug, Clone, PartialEq)]
pub struct NewCustomer {
    /// The customer.
    pub customer: Customer,
    /// Its contacts.
    pub contacts: Vec<NewContact>,
    /// Its own (customer-level) points: switchboard, info address, ...
    pub points: Vec<NewPoint>,
    /// Its addresses (the customer is set). When none is marked [`Location::primary`], the
    /// first one is.
    pub locations: Vec<Location>,
    /// Names of tags to put on the customer; missing tags are created (case-insensitive
    /// names, repeats folded).
    pub tags: Vec<String>,
    /// The customer's consent record (the customer is set).
    pub consent: Option<Consent>,
}

impl NewCustomer {
    /// Just the customer; add the rest with the public fields.
    pub fn new(customer: Customer) -> Self {
        Self {
            customer,
            contacts: Vec::new(),
            points: Vec::new(),
            locations: Vec::new(),
            tags: Vec::new(),
            consent: None,
        }
    }
}

/// What [`crate::Customers::create_with`] stored.
#[derive(Debug, Clone, PartialEq)]
pub struct CreatedCustomer {
    /// The customer.
    pub customer: Customer,
    /// Its contacts, in the order given.
    pub contacts: Vec<Contact>,
    /// Its points: the customer's own first, then each contact's, in the order given.
    pub contact_points: Vec<ContactPoint>,
    /// Its locations, in the order given.
    pub locations: Vec<Location>,
    /// The tags on it (existing or created), in the order given.
    pub tags: Vec<Tag>,
    /// The consent records: the customer's first, then the contacts'.
    pub consent: Vec<Consent>,
}

/// Which of `flags` is primary: the one marked, else the first; `Err(i)` for a second mark.
fn primary_index(flags: impl Iterator<Item = bool>) -> std::result::Result<Option<usize>, usize> {
    let mut marked = None;
    let mut any = false;
    for (i, f) in flags.enumerate() {
        any = true;
        if f {
            if marked.is_some() {
                return Err(i);
            }
            marked = Some(i);
        }
    }
    Ok(marked.or(any.then_some(0)))
}

/// A record's own validation, its errors prefixed with `path`.
fn checked<E: EntityRules>(e: &E, path: &str) -> Result<()> {
    e.validate().map_err(|err| err.in_field(path))
}

impl<S: CrmStore + ?Sized> Crm<S> {
    /// The change set of [`crate::Customers::create_with`] and what it creates.
    async fn plan_customer_with(
        &self,
        actor: &Actor,
        new: NewCustomer,
        now: DateTime<Utc>,
    ) -> Result<(ChangeSet, CreatedCustomer)> {
        let tenant = actor.tenant;
        let mut customer = new.customer;
        if customer.tenant_id != tenant {
            return Err(CrmError::validation(
                "customer.tenant_id",
                "the customer belongs to another tenant than the actor",
            ));
        }
        customer.version = 1;
        customer.touch(now);
        checked(&customer, "customer")?;
        let cid = customer.id;

        // Locations and the phone region they give.
        let primary = primary_index(new.locations.iter().map(|l| l.primary)).map_err(|i| {
            CrmError::validation(
                format!("locations[{i}].primary"),
                "a second primary location",
            )
        })?;
        let mut locations = new.locations;
        for (i, l) in locations.iter_mut().enumerate() {
            l.tenant_id = tenant;
            l.customer_id = cid;
            l.version = 1;
            l.primary = Some(i) == primary;
            l.touch(now);
            checked(l, &format!("locations[{i}]"))?;
        }
        let region =
            phone_region_of(&locations).or_else(|| self.config().default_phone_region.clone());

        // Contacts and their points; the customer's own points first.
        let primary =
            primary_index(new.contacts.iter().map(|c| c.contact.is_primary)).map_err(|i| {
                CrmError::validation(
                    format!("contacts[{i}].is_primary"),
                    "a second primary contact",
                )
            })?;
        let points_of = |owner: Option<crate::id::ContactId>,
                         points: &[NewPoint],
                         path: &str|
         -> Result<Vec<ContactPoint>> {
            let mut out: Vec<ContactPoint> = Vec::new();
            for (i, np) in points.iter().enumerate() {
                let field = format!("{path}points[{i}]");
                let mut p = ContactPoint::new(
                    tenant,
                    cid,
                    owner,
                    np.kind,
                    &np.value,
                    if np.kind.is_phone() {
                        region.as_deref()
                    } else {
                        None
                    },
                    now,
                )
                .map_err(|e| e.in_field(&field))?;
                if np.primary && out.iter().any(|o| o.kind == np.kind && o.primary) {
                    return Err(CrmError::validation(
                        format!("{field}.primary"),
                        format!("a second primary {:?} point", np.kind),
                    ));
                }
                if out.iter().any(|o| o.kind == np.kind && o.value == p.value) {
                    return Err(CrmError::validation(
                        format!("{field}.value"),
                        "given twice for the same owner",
                    ));
                }
                p.primary = np.primary;
                checked(&p, &field)?;
                out.push(p);
            }
            // The first of each kind is primary when none of that kind is marked.
            for i in 0..out.len() {
                let kind = out[i].kind;
                if !out.iter().any(|o| o.kind == kind && o.primary) {
                    out[i].primary = true;
                }
            }
            Ok(out)
        };
        let mut contact_points = points_of(None, &new.points, "")?;
        let mut contacts = Vec::with_capacity(new.contacts.len());
        let mut consent = Vec::new();
        if let Some(mut c) = new.consent {
            c.tenant_id = tenant;
            c.customer_id = cid;
            c.contact_id = None;
            c.version = 1;
            c.touch(now);
            checked(&c, "consent")?;
            consent.push(c);
        }
        for (i, nc) in new.contacts.into_iter().enumerate() {
            let path = format!("contacts[{i}]");
            let mut ct = nc.contact;
            ct.tenant_id = tenant;
            ct.customer_id = cid;
            ct.version = 1;
            ct.is_primary = Some(i) == primary;
            ct.touch(now);
            checked(&ct, &path)?;
            contact_points.extend(points_of(Some(ct.id), &nc.points, &format!("{path}."))?);
            if let Some(mut c) = nc.consent {
                c.tenant_id = tenant;
                c.customer_id = cid;
                c.contact_id = Some(ct.id);
                c.version = 1;
                c.touch(now);
                checked(&c, &format!("{path}.consent"))?;
                consent.push(c);
            }
            contacts.push(ct);
        }

        // Tags: existing ones by name, else new.
        let mut tags: Vec<Tag> = Vec::new();
        let mut new_tags = Vec::new();
        for (i, name) in new.tags.iter().enumerate() {
            let name = name.trim();
            if tags.iter().any(|t| t.name.eq_ignore_ascii_case(name)) {
                continue;
            }
            let tag = match self.tags().find(actor, name).await? {
                Some(t) => t,
                None => {
                    let t = Tag::new(tenant, name, None, now)
                        .map_err(|e| e.in_field(&format!("tags[{i}]")))?;
                    new_tags.push(t.clone());
                    t
                }
            };
            tags.push(tag);
        }

        let mut cs = ChangeSet::new().insert(customer.clone());
        for l in &locations {
            cs.push_insert(l.clone());
        }
        for c in &contacts {
            cs.push_insert(c.clone());
        }
        for p in &contact_points {
            cs.push_insert(p.clone());
        }
        for c in &consent {
            cs.push_insert(c.clone());
        }
        for t in new_tags {
            cs.push_insert(t);
        }
        for t in &tags {
            cs.push_insert(TagAssignment::new(
                tenant,
                t.id,
                customer.entity_ref(),
                now,
            )?);
        }
        Ok((
            cs,
            CreatedCustomer {
                customer,
                contacts,
                contact_points,
                locations,
                tags,
                consent,
            },
        ))
    }
}

impl<S: CrmStore + ?Sized> Customers<'_, S> {
    /// Creates a customer with its contacts, contact points, locations, tags and consent
    /// in one change set: validated as a whole (a `Validation` error names the path from
    /// the root, e.g. `contacts[1].points[0].value` or `locations[0].country`), primaries
    /// set (the marked contact, location and point of each kind per owner, else the first;
    /// marking two is a `Validation` error of the second), phone numbers without a country
    /// prefix read in the country of the primary location (else the service default), and
    /// missing tags created. A failure anywhere writes nothing. Concurrent creation of the
    /// same new tag is planned again (up to [`MAX_RETRIES`] times) and uses the other's.
    #[tracing::instrument(name = "customers.create_with", level = "debug", skip_all, fields(tenant = %actor.tenant), err(level = "debug"))]
    pub async fn create_with(
        self,
        actor: &Actor,
        new: NewCustomer,
        now: DateTime<Utc>,
    ) -> Result<CreatedCustomer> {
        let mut attempt = 0;
        loop {
            let (cs, created) = self.crm.plan_customer_with(actor, new.clone(), now).await?;
            match self.crm.apply(actor, cs).await {
                Err(CrmError::AlreadyExists { entity, .. })
                    if entity == crate::store::EntityKind::Tag && attempt < MAX_RETRIES =>
                {
                    attempt += 1
                }
                Err(e) => return Err(e),
                Ok(_) => {
                    self.crm
                        .reindex_customers(actor, &[created.customer.id])
                        .await?;
                    return Ok(created);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_marked_or_the_first_is_primary() {
        assert_eq!(primary_index([].into_iter()), Ok(None));
        assert_eq!(primary_index([false, false].into_iter()), Ok(Some(0)));
        assert_eq!(primary_index([false, true].into_iter()), Ok(Some(1)));
        assert_eq!(primary_index([true, false, true].into_iter()), Err(2));
    }
}
