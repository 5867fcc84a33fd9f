//! What every store can keep: the storage rules decided once, here, for all backends.
//!
//! Two kinds of value are representable in one store and not in another, so each is ruled
//! on here and every store calls [`Change::check_storable`] before writing:
//!
//! - **Text never holds a NUL character** (`U+0000`). PostgreSQL cannot store one in a
//!   `text` value; SQLite and memory could, so a NUL is refused everywhere, in every string
//!   of a record (custom-field keys and values, stage names, before-images of a merge
//!   record, event payloads included).
//! - **Times lie in the years [`MIN_YEAR`]..=[`MAX_YEAR`]** (1678-01-01 to 2261-12-31,
//!   UTC), dates likewise: the SQL stores index times as nanoseconds since the Unix epoch
//!   in a 64-bit integer, which reaches from 1677-09-21 to 2262-04-11.
//! - **Values nest at most [`MAX_DEPTH`] levels deep** (a custom field's JSON, say), so
//!   nothing that walks a record recurses without bound.
//! - **Versions are at most [`MAX_VERSION`]** (`i64::MAX`), what a signed 64-bit column holds.
//!
//! A breach is a [`CrmError::Validation`] whose field is the path of the value inside the
//! record (`name`, `custom_fields.colour`, `stages[2].name`, `touched[0].before.body`), so
//! every store gives the same answer and a host can point at the field. The check walks the
//! record with a [`serde::Serializer`] that writes nothing: text arrives through
//! `serialize_str`, times and dates through `collect_str` (chrono's serde form), so the two
//! are told apart without a list of each entity's time fields.

use std::fmt::{self, Display, Write as _};

use chrono::{DateTime, Datelike, Utc};
use serde::ser::{self, Serialize};

use super::changeset::Change;
use crate::error::{CrmError, Result};

/// Earliest calendar year of a time or date any store keeps.
pub const MIN_YEAR: i32 = 1678;
/// Latest calendar year of a time or date any store keeps.
pub const MAX_YEAR: i32 = 2261;

/// Deepest nesting of values in a record (custom-field JSON included) any store keeps:
/// deeper values are refused before anything recurses over them (serialising, indexing,
/// reading back, which stops at 128 levels).
pub const MAX_DEPTH: usize = 64;

/// Largest row version any store keeps (the SQL stores hold versions in a signed 64-bit
/// column). Versions only grow by one per update, so a store never reaches it; a record
/// carrying a larger one is refused, so that no arithmetic on stored versions overflows.
pub const MAX_VERSION: u64 = i64::MAX as u64;

/// Fails unless `t` lies in the years [`MIN_YEAR`]..=[`MAX_YEAR`].
pub fn check_time(field: &str, t: DateTime<Utc>) -> Result<()> {
    check_year(field, t.year())
}

fn check_year(field: &str, year: i32) -> Result<()> {
    if (MIN_YEAR..=MAX_YEAR).contains(&year) {
        Ok(())
    } else {
        Err(CrmError::validation(
            field,
            format!("year {year} is outside {MIN_YEAR}..={MAX_YEAR}, the range every store keeps"),
        ))
    }
}

/// Checks that every string of `value` is free of NUL characters and every time or date
/// lies in the kept years (see the module docs); the error's field is the value's path,
/// prefixed with `prefix.` when `prefix` is not empty.
pub fn check_storable<T: Serialize + ?Sized>(value: &T, prefix: &str) -> Result<()> {
    let mut walker = Walker {
        path: Vec::new(),
        failure: None,
    };
    match value.serialize(&mut walker) {
        Ok(()) => Ok(()),
        Err(Stop) => {
            let (path, reason) = walker
                .failure
                .unwrap_or_else(|| (String::new(), "cannot be stored".to_string()));
            let field = match (prefix.is_empty(), path.is_empty()) {
                (true, _) => path,
                (false, true) => prefix.to_string(),
                (false, false) => format!("{prefix}.{path}"),
            };
            Err(CrmError::validation(field, reason))
        }
    }
}

impl Change {
    /// Checks what this change writes against the storage rules of this module: the record
    /// of an insert or update, the event of an emit (fields prefixed `event.`).
    pub fn check_storable(&self) -> Result<()> {
        match self {
            Change::Insert(r) | Change::Update { record: r, .. } => {
                if r.version() > MAX_VERSION {
                    return Err(CrmError::validation(
                        "version",
                        format!(
                            "{} is above {MAX_VERSION}, the largest version every store keeps",
                            r.version()
                        ),
                    ));
                }
                check_storable(r, "")
            }
            Change::Delete { .. } => Ok(()),
            Change::Emit(e) => check_storable(e, "event"),
        }
    }
}

/// One step of the path to the value being checked.
enum Seg {
    Field(&'static str),
    Key(String),
    Index(usize),
}

struct Walker {
    path: Vec<Seg>,
    failure: Option<(String, String)>,
}

/// The walk stopped at a value that cannot be stored (the reason is in the walker).
#[derive(Debug)]
struct Stop;

impl Display for Stop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("value cannot be stored")
    }
}

impl std::error::Error for Stop {}

impl ser::Error for Stop {
    fn custom<T: Display>(_: T) -> Self {
        Stop
    }
}

impl Walker {
    fn path_string(&self) -> String {
        let mut out = String::new();
        for seg in &self.path {
            match seg {
                Seg::Field(f) => {
                    if !out.is_empty() {
                        out.push('.');
                    }
                    out.push_str(f);
                }
                Seg::Key(k) => {
                    if !out.is_empty() {
                        out.push('.');
                    }
                    out.push_str(k);
                }
                Seg::Index(i) => {
                    let _ = write!(out, "[{i}]");
                }
            }
        }
        out
    }

    fn fail(&mut self, reason: impl Into<String>) -> Stop {
        self.failure = Some((self.path_string(), reason.into()));
        Stop
    }

    fn text(&mut self, s: &str) -> Result<(), Stop> {
        if s.as_bytes().contains(&0) {
            Err(self.fail("contains a NUL character"))
        } else {
            Ok(())
        }
    }

    fn nested<T: Serialize + ?Sized>(&mut self, seg: Seg, value: &T) -> Result<(), Stop> {
        if self.path.len() >= MAX_DEPTH {
            return Err(self.fail(format!("nested deeper than {MAX_DEPTH} levels")));
        }
        self.path.push(seg);
        let r = value.serialize(&mut *self);
        self.path.pop();
        r
    }
}

/// Captures what `collect_str` displays: NUL characters, and the leading calendar year of
/// an ISO-8601 time or date (`[+-]YYYY…-MM-DD…`).
#[derive(Default)]
struct Capture {
    nul: bool,
    head: String,
}

impl fmt::Write for Capture {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        if s.as_bytes().contains(&0) {
            self.nul = true;
        }
        let room = 24usize.saturating_sub(self.head.len());
        if room > 0 {
            let mut end = s.len().min(room);
            while !s.is_char_boundary(end) {
                end -= 1;
            }
            self.head.push_str(&s[..end]);
        }
        Ok(())
    }
}

/// The year of an ISO-8601 date or time (`2024-01-31`, `+10000-01-01T00:00:00Z`,
/// `-0001-12-31`), if the text is one.
fn iso_year(head: &str) -> Option<i64> {
    let (sign, rest) = match head.as_bytes().first()? {
        b'+' => (1, &head[1..]),
        b'-' => (-1, &head[1..]),
        _ => (1, head),
    };
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    if digits < 4 {
        return None;
    }
    let after = &rest[digits..];
    let b = after.as_bytes();
    let date_like = b.len() >= 6
        && b[0] == b'-'
        && b[1].is_ascii_digit()
        && b[2].is_ascii_digit()
        && b[3] == b'-'
        && b[4].is_ascii_digit()
        && b[5].is_ascii_digit();
    if !date_like {
        return None;
    }
    rest[..digits.min(12)].parse::<i64>().ok().map(|y| sign * y)
}

type Res = Result<(), Stop>;

impl<'a> ser::Serializer for &'a mut Walker {
    type Ok = ();
    type Error = Stop;
    type SerializeSeq = Seq<'a>;
    type SerializeTuple = Seq<'a>;
    type SerializeTupleStruct = Seq<'a>;
    type SerializeTupleVariant = Seq<'a>;
    type SerializeMap = Map<'a>;
    type SerializeStruct = Self;
    type SerializeStructVariant = Self;

    fn serialize_bool(self, _: bool) -> Res {
        Ok(())
    }
    fn serialize_i8(self, _: i8) -> Res {
        Ok(())
    }
    fn serialize_i16(self, _: i16) -> Res {
        Ok(())
    }
    fn serialize_i32(self, _: i32) -> Res {
        Ok(())
    }
    fn serialize_i64(self, _: i64) -> Res {
        Ok(())
    }
    fn serialize_u8(self, _: u8) -> Res {
        Ok(())
    }
    fn serialize_u16(self, _: u16) -> Res {
        Ok(())
    }
    fn serialize_u32(self, _: u32) -> Res {
        Ok(())
    }
    fn serialize_u64(self, _: u64) -> Res {
        Ok(())
    }
    fn serialize_f32(self, _: f32) -> Res {
        Ok(())
    }
    fn serialize_f64(self, _: f64) -> Res {
        Ok(())
    }
    fn serialize_char(self, v: char) -> Res {
        if v == '\0' {
            Err(self.fail("contains a NUL character"))
        } else {
            Ok(())
        }
    }
    fn serialize_str(self, v: &str) -> Res {
        self.text(v)
    }
    fn serialize_bytes(self, _: &[u8]) -> Res {
        Ok(())
    }
    fn serialize_none(self) -> Res {
        Ok(())
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Res {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Res {
        Ok(())
    }
    fn serialize_unit_struct(self, _: &'static str) -> Res {
        Ok(())
    }
    fn serialize_unit_variant(self, _: &'static str, _: u32, _: &'static str) -> Res {
        Ok(())
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, _: &'static str, value: &T) -> Res {
        value.serialize(self)
    }
    /// A `Record::Customer(..)` and the like: the variant is a wrapper, not a field.
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        value: &T,
    ) -> Res {
        value.serialize(self)
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Seq<'a>, Stop> {
        Ok(Seq {
            walker: self,
            next: 0,
        })
    }
    fn serialize_tuple(self, _: usize) -> Result<Seq<'a>, Stop> {
        self.serialize_seq(None)
    }
    fn serialize_tuple_struct(self, _: &'static str, _: usize) -> Result<Seq<'a>, Stop> {
        self.serialize_seq(None)
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Seq<'a>, Stop> {
        self.serialize_seq(None)
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Map<'a>, Stop> {
        Ok(Map {
            walker: self,
            key: None,
        })
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self, Stop> {
        Ok(self)
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self, Stop> {
        Ok(self)
    }
    /// Times and dates (chrono serialises them through `collect_str`), and anything else
    /// written through its `Display`.
    fn collect_str<T: Display + ?Sized>(self, value: &T) -> Res {
        let mut capture = Capture::default();
        let _ = write!(capture, "{value}");
        if capture.nul {
            return Err(self.fail("contains a NUL character"));
        }
        if let Some(year) = iso_year(&capture.head) {
            let year = i32::try_from(year).unwrap_or(i32::MAX);
            if let Err(CrmError::Validation { reason, .. }) = check_year("", year) {
                return Err(self.fail(reason));
            }
        }
        Ok(())
    }
}

/// Elements of a sequence, tuple or tuple variant, numbered in the path.
struct Seq<'a> {
    walker: &'a mut Walker,
    next: usize,
}

impl Seq<'_> {
    fn element<T: Serialize + ?Sized>(&mut self, value: &T) -> Res {
        let i = self.next;
        self.next += 1;
        self.walker.nested(Seg::Index(i), value)
    }
}

impl ser::SerializeSeq for Seq<'_> {
    type Ok = ();
    type Error = Stop;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Res {
        self.element(value)
    }
    fn end(self) -> Res {
        Ok(())
    }
}

impl ser::SerializeTuple for Seq<'_> {
    type Ok = ();
    type Error = Stop;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Res {
        self.element(value)
    }
    fn end(self) -> Res {
        Ok(())
    }
}

impl ser::SerializeTupleStruct for Seq<'_> {
    type Ok = ();
    type Error = Stop;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Res {
        self.element(value)
    }
    fn end(self) -> Res {
        Ok(())
    }
}

impl ser::SerializeTupleVariant for Seq<'_> {
    type Ok = ();
    type Error = Stop;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Res {
        self.element(value)
    }
    fn end(self) -> Res {
        Ok(())
    }
}

/// Entries of a map: each key is checked itself and names its value in the path.
struct Map<'a> {
    walker: &'a mut Walker,
    key: Option<String>,
}

impl ser::SerializeMap for Map<'_> {
    type Ok = ();
    type Error = Stop;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Res {
        let mut text = KeyText(String::new());
        // Keys that are not text (numbers, ids) are named by their position instead.
        let name = match key.serialize(&mut text) {
            Ok(()) => text.0,
            Err(_) => String::new(),
        };
        if name.contains('\0') {
            self.walker.path.push(Seg::Key(name.replace('\0', "\\0")));
            let stop = self.walker.fail("the key contains a NUL character");
            self.walker.path.pop();
            return Err(stop);
        }
        self.key = Some(name);
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Res {
        let key = self.key.take().unwrap_or_default();
        self.walker.nested(Seg::Key(key), value)
    }
    fn end(self) -> Res {
        Ok(())
    }
}

impl ser::SerializeStruct for &mut Walker {
    type Ok = ();
    type Error = Stop;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, key: &'static str, value: &T) -> Res {
        self.nested(Seg::Field(key), value)
    }
    fn end(self) -> Res {
        Ok(())
    }
}

impl ser::SerializeStructVariant for &mut Walker {
    type Ok = ();
    type Error = Stop;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, key: &'static str, value: &T) -> Res {
        self.nested(Seg::Field(key), value)
    }
    fn end(self) -> Res {
        Ok(())
    }
}

/// Reads a map key as text (strings and `Display` values; anything else is refused and
/// named by position).
struct KeyText(String);

impl ser::Serializer for &mut KeyText {
    type Ok = ();
    type Error = Stop;
    type SerializeSeq = ser::Impossible<(), Stop>;
    type SerializeTuple = ser::Impossible<(), Stop>;
    type SerializeTupleStruct = ser::Impossible<(), Stop>;
    type SerializeTupleVariant = ser::Impossible<(), Stop>;
    type SerializeMap = ser::Impossible<(), Stop>;
    type SerializeStruct = ser::Impossible<(), Stop>;
    type SerializeStructVariant = ser::Impossible<(), Stop>;

    fn serialize_str(self, v: &str) -> Res {
        self.0.push_str(v);
        Ok(())
    }
    fn collect_str<T: Display + ?Sized>(self, value: &T) -> Res {
        let _ = write!(self.0, "{value}");
        Ok(())
    }
    fn serialize_bool(self, v: bool) -> Res {
        self.collect_str(&v)
    }
    fn serialize_i8(self, v: i8) -> Res {
        self.collect_str(&v)
    }
    fn serialize_i16(self, v: i16) -> Res {
        self.collect_str(&v)
    }
    fn serialize_i32(self, v: i32) -> Res {
        self.collect_str(&v)
    }
    fn serialize_i64(self, v: i64) -> Res {
        self.collect_str(&v)
    }
    fn serialize_u8(self, v: u8) -> Res {
        self.collect_str(&v)
    }
    fn serialize_u16(self, v: u16) -> Res {
        self.collect_str(&v)
    }
    fn serialize_u32(self, v: u32) -> Res {
        self.collect_str(&v)
    }
    fn serialize_u64(self, v: u64) -> Res {
        self.collect_str(&v)
    }
    fn serialize_f32(self, v: f32) -> Res {
        self.collect_str(&v)
    }
    fn serialize_f64(self, v: f64) -> Res {
        self.collect_str(&v)
    }
    fn serialize_char(self, v: char) -> Res {
        self.0.push(v);
        Ok(())
    }
    fn serialize_bytes(self, _: &[u8]) -> Res {
        Err(Stop)
    }
    fn serialize_none(self) -> Res {
        Err(Stop)
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Res {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Res {
        Err(Stop)
    }
    fn serialize_unit_struct(self, _: &'static str) -> Res {
        Err(Stop)
    }
    fn serialize_unit_variant(self, _: &'static str, _: u32, variant: &'static str) -> Res {
        self.0.push_str(variant);
        Ok(())
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, _: &'static str, value: &T) -> Res {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Res {
        Err(Stop)
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, Stop> {
        Err(Stop)
    }
    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, Stop> {
        Err(Stop)
    }
    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleStruct, Stop> {
        Err(Stop)
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, Stop> {
        Err(Stop)
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, Stop> {
        Err(Stop)
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self::SerializeStruct, Stop> {
        Err(Stop)
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, Stop> {
        Err(Stop)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Customer, Pipeline, Stage};
    use crate::store::Entity;
    use crate::TenantId;
    use chrono::TimeZone;
    use proptest::prelude::*;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).single().unwrap()
    }

    fn field_of(r: Result<()>) -> String {
        match r {
            Err(CrmError::Validation { field, .. }) => field,
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    #[test]
    fn names_the_path_of_a_nul() {
        let t = TenantId::new();
        let mut c = Customer::company(t, "Acme", now()).unwrap();
        assert!(check_storable(&c.clone().into_record(), "").is_ok());
        c.name = "Ac\0me".into();
        assert_eq!(
            field_of(check_storable(&c.clone().into_record(), "")),
            "name"
        );
        c.name = "Acme".into();
        c.custom_fields
            .insert("colour".into(), serde_json::json!(["red", "bl\0ue"]));
        assert_eq!(
            field_of(check_storable(&c.clone().into_record(), "")),
            "custom_fields.colour[1]"
        );
        let mut d = Customer::company(t, "Acme", now()).unwrap();
        d.custom_fields.insert("k\0".into(), serde_json::json!(1));
        assert_eq!(field_of(check_storable(&d, "x")), "x.custom_fields.k\\0");
        let mut p = Pipeline::standard(t, now()).unwrap();
        p.stages[2] = Stage::open("Pro\0posal", 40).unwrap();
        assert_eq!(field_of(check_storable(&p, "")), "stages[2].name");
    }

    #[test]
    fn times_outside_the_kept_years_are_refused() {
        let t = TenantId::new();
        let mut c = Customer::company(t, "Acme", now()).unwrap();
        for (y, ok) in [
            (1677, false),
            (1678, true),
            (1970, true),
            (2261, true),
            (2262, false),
            (9999, false),
        ] {
            c.last_contact_at = Some(Utc.with_ymd_and_hms(y, 6, 1, 0, 0, 0).single().unwrap());
            let r = check_storable(&c, "");
            if ok {
                assert!(r.is_ok(), "{y}: {r:?}");
            } else {
                assert_eq!(field_of(r), "last_contact_at", "{y}");
            }
        }
        c.last_contact_at = Some(DateTime::<Utc>::MAX_UTC);
        assert_eq!(field_of(check_storable(&c, "")), "last_contact_at");
        c.last_contact_at = Some(DateTime::<Utc>::MIN_UTC);
        assert_eq!(field_of(check_storable(&c, "")), "last_contact_at");
        // Text that merely looks like a date is text.
        c.last_contact_at = None;
        c.name = "3000-01-01T00:00:00Z".into();
        assert!(check_storable(&c, "").is_ok());
    }

    #[test]
    fn deep_values_are_refused_not_walked() {
        let mut v = serde_json::json!("leaf");
        for _ in 0..200 {
            v = serde_json::json!([v]);
        }
        let mut c = Customer::company(TenantId::new(), "Acme", now()).unwrap();
        c.custom_fields.insert("deep".into(), v);
        match check_storable(&c, "") {
            Err(CrmError::Validation { field, reason }) => {
                assert!(field.starts_with("custom_fields.deep[0]"), "{field}");
                assert!(reason.contains("nested deeper"), "{reason}");
            }
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    #[test]
    fn iso_years() {
        assert_eq!(iso_year("2024-01-31"), Some(2024));
        assert_eq!(iso_year("+10000-01-01T00:00:00Z"), Some(10000));
        assert_eq!(iso_year("-0001-12-31"), Some(-1));
        assert_eq!(iso_year("12345"), None);
        assert_eq!(iso_year("abc"), None);
    }

    proptest! {
        /// A customer named by any text is storable exactly when the text has no NUL.
        #[test]
        fn nul_decides(name in "\\PC{0,20}", nul in any::<bool>(), at in 0usize..20) {
            let mut name = name;
            if nul {
                let mut cut = at.min(name.len());
                while !name.is_char_boundary(cut) { cut -= 1; }
                name.insert(cut, '\0');
            }
            let mut c = Customer::company(TenantId::new(), "x", now()).unwrap();
            c.name = name.clone();
            prop_assert_eq!(check_storable(&c, "").is_ok(), !name.contains('\0'));
        }

        /// Any time is storable exactly when its year is in the kept range.
        #[test]
        fn year_decides(secs in -200_000_000_000i64..200_000_000_000i64) {
            let t = DateTime::<Utc>::from_timestamp(secs, 0).unwrap();
            let mut c = Customer::company(TenantId::new(), "x", now()).unwrap();
            c.first_contact_at = Some(t);
            prop_assert_eq!(
                check_storable(&c, "").is_ok(),
                (MIN_YEAR..=MAX_YEAR).contains(&t.year())
            );
        }
    }
}
