//! The generated record, the ways a duplicate can differ from its original, and the
//! hard-negative relations between distinct people.

use std::fmt;

/// Column names of `people.csv`, in order; [`SynthRecord::fields`] returns values in this order.
pub const FIELD_NAMES: [&str; 15] = [
    "id",
    "first_name",
    "last_name",
    "full_name",
    "email",
    "phone",
    "street",
    "address_line2",
    "city",
    "postcode",
    "region",
    "country",
    "birth_date",
    "company",
    "national_id",
];

/// One generated person record: the fields a CRM holds about a contact, the true entity it
/// belongs to, and how it was made.
///
/// Text fields are empty when the value is missing; `national_id` is `None` instead. The field
/// names match `crm_core::dedupe::PersonRecord`, so converting is a field-by-field move; use
/// [`SynthRecord::fields`] to read every column generically.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SynthRecord {
    /// Record id, unique in the data set (`r0000042`); it says nothing about the entity.
    pub id: String,
    /// The real person this record describes: records with equal `entity_id` are duplicates.
    pub entity_id: u64,
    /// Given name (possibly a nickname, a typo, or the surname when the names were swapped).
    pub first_name: String,
    /// Family name.
    pub last_name: String,
    /// The whole name as one string, in one of several layouts (`Jane Smith`, `Smith, Jane`,
    /// `Jane A. Smith`).
    pub full_name: String,
    /// E-mail address.
    pub email: String,
    /// Telephone number in one of several national or international layouts.
    pub phone: String,
    /// House number and street.
    pub street: String,
    /// Flat, apartment, suite or floor.
    pub address_line2: String,
    /// Town or city.
    pub city: String,
    /// Postcode or ZIP code.
    pub postcode: String,
    /// County or state.
    pub region: String,
    /// Country, as a code or a name.
    pub country: String,
    /// Date of birth, `YYYY-MM-DD` or `YYYYMMDD`.
    pub birth_date: String,
    /// Employer, with a legal suffix in one of its spellings.
    pub company: String,
    /// National Insurance number (GB) or Social Security number (US), when the source had it.
    pub national_id: Option<String>,
    /// How this record came about; not written to `people.csv`.
    pub provenance: Provenance,
}

impl SynthRecord {
    /// Every column of `people.csv` in [`FIELD_NAMES`] order; a missing national id is `""`.
    #[must_use]
    pub fn fields(&self) -> [&str; 15] {
        [
            &self.id,
            &self.first_name,
            &self.last_name,
            &self.full_name,
            &self.email,
            &self.phone,
            &self.street,
            &self.address_line2,
            &self.city,
            &self.postcode,
            &self.region,
            &self.country,
            &self.birth_date,
            &self.company,
            self.national_id.as_deref().unwrap_or(""),
        ]
    }

    /// Every column in [`FIELD_NAMES`] order with missing values as `None`: the shape of
    /// `crm_core::dedupe::PersonRecord`, whose fields are all optional but the id.
    #[must_use]
    pub fn optional_fields(&self) -> [Option<&str>; 15] {
        self.fields().map(|v| (!v.is_empty()).then_some(v))
    }

    /// The value of the column called `name` (one of [`FIELD_NAMES`]), or `None` for an
    /// unknown name.
    #[must_use]
    pub fn field(&self, name: &str) -> Option<&str> {
        let i = FIELD_NAMES.iter().position(|n| *n == name)?;
        Some(self.fields()[i])
    }

    /// Mutable access to a text column by its index in [`FIELD_NAMES`] (1..=13); the id and
    /// the national id are not reachable here.
    pub(crate) fn text_field_mut(&mut self, index: usize) -> Option<&mut String> {
        Some(match index {
            1 => &mut self.first_name,
            2 => &mut self.last_name,
            3 => &mut self.full_name,
            4 => &mut self.email,
            5 => &mut self.phone,
            6 => &mut self.street,
            7 => &mut self.address_line2,
            8 => &mut self.city,
            9 => &mut self.postcode,
            10 => &mut self.region,
            11 => &mut self.country,
            12 => &mut self.birth_date,
            13 => &mut self.company,
            _ => return None,
        })
    }

    /// `true` for the first record made for its entity, `false` for a duplicate of it.
    #[must_use]
    pub fn is_original(&self) -> bool {
        self.provenance.duplicate_of.is_none()
    }
}

/// How a record was made: from scratch or as a corrupted copy, and how its entity relates to
/// another entity it could be confused with.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Provenance {
    /// For a duplicate, the id of the entity's original record.
    pub duplicate_of: Option<String>,
    /// The corruptions applied to make this duplicate (empty for originals and for exact
    /// copies).
    pub corruptions: Corruptions,
    /// The hard-negative relation this record's entity was created with.
    pub relation: Relation,
    /// The entity this one was derived from, for every relation but [`Relation::None`].
    pub related_entity: Option<u64>,
}

/// A way in which a duplicate differs from its original.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Corruption {
    /// A keyboard typo in one field: an inserted, deleted, substituted or transposed character.
    Typo,
    /// First and last name swapped.
    SwapNames,
    /// Nickname instead of the formal given name (Robert -> Bob), or the reverse.
    Nickname,
    /// One or two fields left empty that the original had.
    MissingField,
    /// The same telephone number written in another layout (`+44 20 7946 0958`,
    /// `020 7946 0958`, `02079460958`, ...).
    PhoneFormat,
    /// The same mailbox written differently: letter case, dots in a Gmail local part, a `+tag`,
    /// or googlemail.com for gmail.com.
    EmailVariant,
    /// Street or flat abbreviated or expanded (Street <-> St, Apartment <-> Apt).
    AddressAbbreviation,
    /// The birth date written as `YYYYMMDD` instead of `YYYY-MM-DD`, or the reverse.
    DateFormat,
    /// Day and month of the birth date swapped.
    DateSwap,
    /// Birth year off by one.
    YearOffByOne,
    /// Another spelling of the company's legal suffix (Ltd <-> Limited, Inc <-> Incorporated).
    CompanySuffix,
    /// Names in upper or lower case.
    NameCase,
    /// The full name laid out differently (`Smith, Jane`, with a middle initial, ...).
    FullNameFormat,
    /// Postcode without its space or in lower case; ZIP+4 for a ZIP code.
    PostcodeFormat,
    /// State written as a code or a name, or the country written differently (GB, UK,
    /// United Kingdom).
    RegionFormat,
    /// National id written with or without separators.
    NationalIdFormat,
    /// The person moved: another address (and landline).
    Moved,
    /// Another e-mail address altogether (a work or a new personal address).
    NewEmail,
    /// Another surname (marriage), possibly double-barrelled.
    SurnameChange,
}

impl Corruption {
    /// Every corruption kind, in declaration order.
    pub const ALL: [Corruption; 19] = [
        Corruption::Typo,
        Corruption::SwapNames,
        Corruption::Nickname,
        Corruption::MissingField,
        Corruption::PhoneFormat,
        Corruption::EmailVariant,
        Corruption::AddressAbbreviation,
        Corruption::DateFormat,
        Corruption::DateSwap,
        Corruption::YearOffByOne,
        Corruption::CompanySuffix,
        Corruption::NameCase,
        Corruption::FullNameFormat,
        Corruption::PostcodeFormat,
        Corruption::RegionFormat,
        Corruption::NationalIdFormat,
        Corruption::Moved,
        Corruption::NewEmail,
        Corruption::SurnameChange,
    ];

    /// A short snake_case name for reports.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Corruption::Typo => "typo",
            Corruption::SwapNames => "swap_names",
            Corruption::Nickname => "nickname",
            Corruption::MissingField => "missing_field",
            Corruption::PhoneFormat => "phone_format",
            Corruption::EmailVariant => "email_variant",
            Corruption::AddressAbbreviation => "address_abbreviation",
            Corruption::DateFormat => "date_format",
            Corruption::DateSwap => "date_day_month_swap",
            Corruption::YearOffByOne => "year_off_by_one",
            Corruption::CompanySuffix => "company_suffix",
            Corruption::NameCase => "name_case",
            Corruption::FullNameFormat => "full_name_format",
            Corruption::PostcodeFormat => "postcode_format",
            Corruption::RegionFormat => "region_format",
            Corruption::NationalIdFormat => "national_id_format",
            Corruption::Moved => "moved",
            Corruption::NewEmail => "new_email",
            Corruption::SurnameChange => "surname_change",
        }
    }

    /// The kind called `name` (as printed by [`Corruption::name`]).
    #[must_use]
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.name() == name)
    }

    /// The position of this kind in [`Corruption::ALL`].
    #[must_use]
    pub fn index(self) -> usize {
        self as usize
    }

    fn bit(self) -> u32 {
        1 << (self as u32)
    }
}

impl fmt::Display for Corruption {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A set of [`Corruption`]s, as a bit set.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Corruptions(u32);

impl Corruptions {
    /// Whether `c` is in the set.
    #[must_use]
    pub fn contains(self, c: Corruption) -> bool {
        self.0 & c.bit() != 0
    }

    /// Adds `c` to the set.
    pub fn insert(&mut self, c: Corruption) {
        self.0 |= c.bit();
    }

    /// Whether the set is empty (an original, or an exact copy).
    #[must_use]
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// How many kinds are in the set.
    #[must_use]
    pub fn len(self) -> usize {
        self.0.count_ones() as usize
    }

    /// The kinds in the set, in declaration order.
    pub fn iter(self) -> impl Iterator<Item = Corruption> {
        Corruption::ALL
            .into_iter()
            .filter(move |c| self.contains(*c))
    }
}

impl Corruptions {
    /// Parses the `+`-joined names written by `Display` (empty text: the empty set).
    #[must_use]
    pub fn parse(text: &str) -> Option<Self> {
        let mut set = Self::default();
        for name in text.split('+').filter(|n| !n.is_empty()) {
            set.insert(Corruption::from_name(name)?);
        }
        Some(set)
    }
}

impl fmt::Display for Corruptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for c in self.iter() {
            if !first {
                f.write_str("+")?;
            }
            first = false;
            f.write_str(c.name())?;
        }
        Ok(())
    }
}

/// How an entity was made relative to an earlier one: the hard negatives, distinct people
/// that look alike.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum Relation {
    /// An independent person.
    #[default]
    None,
    /// Lives with the related entity: same address (often the same surname and landline),
    /// different given name and birth date.
    Household,
    /// Twin of the related entity: same surname, address and birth date, different given name.
    Twin,
    /// Son or father of the related entity with the same given name and surname, at the same
    /// address; birth dates decades apart.
    Junior,
    /// Shares given name and surname with the related entity; otherwise unrelated.
    Namesake,
}

impl Relation {
    /// Every relation, in declaration order.
    pub const ALL: [Relation; 5] = [
        Relation::None,
        Relation::Household,
        Relation::Twin,
        Relation::Junior,
        Relation::Namesake,
    ];

    /// A short snake_case name for reports.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Relation::None => "none",
            Relation::Household => "household",
            Relation::Twin => "twin",
            Relation::Junior => "junior",
            Relation::Namesake => "namesake",
        }
    }

    /// The relation called `name` (as printed by [`Relation::name`]).
    #[must_use]
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.name() == name)
    }

    /// The position of this relation in [`Relation::ALL`].
    #[must_use]
    pub fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for Relation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
