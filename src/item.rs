//! The item rules, once. An item arrives as the JS codec's "wire" (one walk over the JS value on the JS
//! thread, `lib/codec.js`): this module judges every rule that can be judged from the item alone (types,
//! numbers, well-formed strings, Sets, depth, size) and, in the same pass, writes the item's DynamoDB JSON,
//! the form every request body is made of. Nothing else in dynabatch re-implements these rules.
//!
//! The wire is read as UTF-16 code units so string lengths written by JS (`str.length`) are used as they
//! are. Grammar of one value:
//!
//! ```text
//!   s<len>:<units>   a string                 n<text>;   a number from a bigint or a NumberValue
//!   d<text>;         a JS number (String(v))  T F        booleans          z   null
//!   u                undefined                b<index>;  binary data (index into the binaries passed along)
//!   {(<len>:<name> value)*}  a map            [value*]   a list            <value*]  a JS Set
//!   !<code>[<len>:<detail>]  a JS value with no DynamoDB form: f function, y symbol, c circular reference,
//!                            D nesting the walk stopped at, o<class name> an object of another class,
//!                            k<typeof> a Map key that is not a string
//! ```
//!
//! Several items written back to back (`putMany`) are each prefixed by their length: `<len>:<item>`.
//! Messages name the attribute path, the type and the rule, never a value.

use crate::json::{base64_into, push_escape};
use crate::number;
use std::fmt::Write as _;

/// DynamoDB's item size limit: 400 KB.
pub const MAX_ITEM_BYTES: usize = 400 * 1024;
/// DynamoDB's nesting limit for documents.
pub const MAX_DEPTH: usize = 32;
/// Attribute names (and map keys) are 1 to 65,535 bytes of UTF-8.
pub const MAX_NAME_BYTES: usize = 65_535;

/// Write capacity a put of this size consumes: one unit per started KB.
pub fn write_units(size: usize) -> f64 {
  size.div_ceil(1024).max(1) as f64
}

/// Options that change what a valid item is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Rules {
  /// Drop `undefined` in maps, lists and Sets instead of refusing the item.
  pub remove_undefined: bool,
}

/// An item judged valid, as DynamoDB JSON (`{"pk":{"S":"a"},…}`), with its DynamoDB size and where each
/// top-level attribute stands in the JSON (for key extraction and projection without re-parsing).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Encoded {
  pub json: Vec<u8>,
  pub size: usize,
  pub top: Vec<TopAttr>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tag {
  S,
  N,
  B,
  Bool,
  Null,
  M,
  L,
  Ss,
  Ns,
  Bs,
}

impl Tag {
  pub fn as_str(self) -> &'static str {
    match self {
      Tag::S => "S",
      Tag::N => "N",
      Tag::B => "B",
      Tag::Bool => "BOOL",
      Tag::Null => "NULL",
      Tag::M => "M",
      Tag::L => "L",
      Tag::Ss => "SS",
      Tag::Ns => "NS",
      Tag::Bs => "BS",
    }
  }
}

/// A top-level attribute: spans into `Encoded::json` (start, end).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TopAttr {
  /// The escaped name, without quotes.
  pub name: (u32, u32),
  /// The whole typed value: `{"S":"…"}`.
  pub value: (u32, u32),
  /// For S, N and B: the text inside the quotes (escaped string, number text, base64).
  pub payload: (u32, u32),
  pub tag: Tag,
  /// For S and B: the value's length in bytes (UTF-8 or binary), as key limits count it.
  pub raw_len: u32,
}

impl Encoded {
  pub fn slice(&self, span: (u32, u32)) -> &[u8] {
    &self.json[span.0 as usize..span.1 as usize]
  }
  /// The top-level attribute whose escaped name is `escaped_name`.
  pub fn attr(&self, escaped_name: &[u8]) -> Option<&TopAttr> {
    self.top.iter().find(|a| self.slice(a.name) == escaped_name)
  }
}

/// A rule broken at a path: `item.tags[3]`, `item["a b"]`, and what is wrong there.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ItemError {
  pub path: String,
  pub rule: String,
}

impl ItemError {
  pub fn message(&self) -> String {
    format!("{}: {}", self.path, self.rule)
  }
}

impl std::fmt::Display for ItemError {
  fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
    write!(f, "{}: {}", self.path, self.rule)
  }
}

// ---------------------------------------------------------------------------------------------------------
// Paths

#[derive(Clone, Copy, Debug)]
enum Seg {
  /// A name: its units in the wire.
  Name(u32, u32),
  Index(u32),
}

/// Names longer than this are cut in paths (a message names a place, it does not copy the item).
const PATH_NAME_UNITS: usize = 64;

/// Appends one attribute name to a path: `.name` for identifiers, `["…"]` otherwise (lone surrogates shown
/// as `\udXXX`, since they have no other printable form; long names cut, with their length).
pub fn push_name(out: &mut String, name: &[u16]) {
  let long = name.len() > PATH_NAME_UNITS;
  let full = name;
  let name = if long {
    &name[..PATH_NAME_UNITS / 2]
  } else {
    name
  };
  let ident = !long
    && !name.is_empty()
    && name.iter().enumerate().all(|(i, &c)| {
      c < 0x80 && {
        let c = c as u8;
        c.is_ascii_alphabetic() || c == b'_' || c == b'$' || (i > 0 && c.is_ascii_digit())
      }
    });
  if ident {
    out.push('.');
    out.extend(name.iter().map(|&c| c as u8 as char));
    return;
  }
  out.push_str("[\"");
  for r in char::decode_utf16(name.iter().copied()) {
    match r {
      Ok('"') => out.push_str("\\\""),
      Ok('\\') => out.push_str("\\\\"),
      Ok(c) if (c as u32) < 0x20 => {
        let _ = write!(out, "\\u{:04x}", c as u32);
      }
      Ok(c) => out.push(c),
      Err(e) => {
        let _ = write!(out, "\\u{:04x}", e.unpaired_surrogate());
      }
    }
  }
  if long {
    let _ = write!(out, "…({} characters)", full.len());
  }
  out.push_str("\"]");
}

/// `root` + the name of one top-level attribute, for key errors.
pub fn attr_path(root: &str, name: &str) -> String {
  let mut s = String::from(root);
  let units: Vec<u16> = name.encode_utf16().collect();
  push_name(&mut s, &units);
  s
}

// ---------------------------------------------------------------------------------------------------------
// Strings

/// Converts UTF-16 units to JSON-escaped UTF-8, returning the UTF-8 length (the size DynamoDB counts), or
/// the index of a lone surrogate: such a string has no UTF-8 form, so it cannot be stored faithfully.
fn utf16_json(out: &mut Vec<u8>, s: &[u16]) -> Result<usize, usize> {
  let start = out.len();
  let mut escapes = 0usize;
  let mut i = 0;
  while i < s.len() {
    let c = s[i] as u32;
    if c < 0x80 {
      let b = c as u8;
      if b < 0x20 || b == b'"' || b == b'\\' {
        let before = out.len();
        push_escape(out, b);
        escapes += out.len() - before - 1;
      } else {
        out.push(b);
      }
    } else if c < 0x800 {
      out.extend_from_slice(&[0xc0 | (c >> 6) as u8, 0x80 | (c & 0x3f) as u8]);
    } else if (0xd800..0xdc00).contains(&c) {
      let Some(&lo) = s.get(i + 1) else {
        return Err(i);
      };
      let lo = lo as u32;
      if !(0xdc00..0xe000).contains(&lo) {
        return Err(i);
      }
      let cp = 0x10000 + ((c - 0xd800) << 10) + (lo - 0xdc00);
      out.extend_from_slice(&[
        0xf0 | (cp >> 18) as u8,
        0x80 | ((cp >> 12) & 0x3f) as u8,
        0x80 | ((cp >> 6) & 0x3f) as u8,
        0x80 | (cp & 0x3f) as u8,
      ]);
      i += 1;
    } else if (0xdc00..0xe000).contains(&c) {
      return Err(i);
    } else {
      out.extend_from_slice(&[
        0xe0 | (c >> 12) as u8,
        0x80 | ((c >> 6) & 0x3f) as u8,
        0x80 | (c & 0x3f) as u8,
      ]);
    }
    i += 1;
  }
  Ok(out.len() - start - escapes)
}

fn lone_surrogate(what: &str, at: usize) -> String {
  format!(
    "{what} holds a lone surrogate (UTF-16 unit {at}): it has no UTF-8 form, and DynamoDB stores UTF-8"
  )
}

/// A string that crossed from JS as UTF-16 (an expression, a table name), refused when it is not
/// well-formed, since converting it would change it.
pub fn strict_string(units: &[u16], what: &str) -> Result<String, ItemError> {
  String::from_utf16(units).map_err(|_| {
    let at = char::decode_utf16(units.iter().copied())
      .scan(0usize, |i, r| {
        let here = *i;
        *i += r.as_ref().map(|c| c.len_utf16()).unwrap_or(1);
        Some((here, r.is_err()))
      })
      .find(|(_, bad)| *bad)
      .map(|(i, _)| i)
      .unwrap_or(0);
    ItemError {
      path: what.to_string(),
      rule: lone_surrogate("the string", at),
    }
  })
}

// ---------------------------------------------------------------------------------------------------------
// The reader

struct Reader<'a, B: AsRef<[u8]>> {
  w: &'a [u16],
  pos: usize,
  bins: &'a [B],
  out: Vec<u8>,
  path: Vec<Seg>,
  rules: Rules,
}

type Res<T> = Result<T, String>;

const MALFORMED: &str = "malformed item encoding (a bug in dynabatch's codec)";

impl<'a, B: AsRef<[u8]>> Reader<'a, B> {
  fn peek(&self) -> Option<u16> {
    self.w.get(self.pos).copied()
  }
  fn next(&mut self) -> Res<u8> {
    let c = self.peek().ok_or(MALFORMED)?;
    self.pos += 1;
    u8::try_from(c).map_err(|_| MALFORMED.to_string())
  }
  fn uint_until(&mut self, end: u8) -> Res<usize> {
    let mut n: usize = 0;
    let start = self.pos;
    loop {
      let c = self.next()?;
      if c == end && self.pos - 1 > start {
        return Ok(n);
      }
      if !c.is_ascii_digit() {
        return Err(MALFORMED.into());
      }
      n = n.checked_mul(10).ok_or(MALFORMED)? + (c - b'0') as usize;
    }
  }
  /// `<len>:<units>`: the units of a length-prefixed run.
  fn units(&mut self) -> Res<&'a [u16]> {
    let len = self.uint_until(b':')?;
    let end = self.pos.checked_add(len).ok_or(MALFORMED)?;
    let s = self.w.get(self.pos..end).ok_or(MALFORMED)?;
    self.pos = end;
    Ok(s)
  }
  /// The ASCII text up to `;`.
  fn text(&mut self) -> Res<&'a [u16]> {
    let start = self.pos;
    while self.peek().is_some_and(|c| c != b';' as u16) {
      self.pos += 1;
    }
    let t = &self.w[start..self.pos];
    self.next()?;
    Ok(t)
  }

  fn path_string(&self, root: &str) -> String {
    let mut s = String::from(root);
    for seg in &self.path {
      match *seg {
        Seg::Index(i) => {
          let _ = write!(s, "[{i}]");
        }
        Seg::Name(a, b) => push_name(&mut s, &self.w[a as usize..b as usize]),
      }
    }
    s
  }

  /// A string value, written escaped (no quotes); returns its UTF-8 length.
  fn string_body(&mut self) -> Res<usize> {
    let s = self.units()?;
    utf16_json(&mut self.out, s).map_err(|at| lone_surrogate("the string", at))
  }

  /// A number's text, validated (the JS-number rule for `d`), written as given; returns its size.
  fn number_body(&mut self, js: bool) -> Res<usize> {
    let t = self.text()?;
    let text: String = t
      .iter()
      .map(|&c| {
        if c < 0x80 {
          c as u8 as char
        } else {
          '\u{fffd}'
        }
      })
      .collect();
    let parsed = if js {
      number::check_js_number(&text)?
    } else {
      number::parse(text.as_bytes())?
    };
    self.out.extend_from_slice(text.as_bytes());
    Ok(number::size(&parsed))
  }

  fn binary_body(&mut self) -> Res<usize> {
    let t = self.text()?;
    let idx: usize = String::from_utf16_lossy(t).parse().map_err(|_| MALFORMED)?;
    let b = self.bins.get(idx).ok_or(MALFORMED)?.as_ref();
    base64_into(&mut self.out, b);
    Ok(b.len())
  }

  /// `!<code>[<len>:<detail>]`: the rule a JS value with no DynamoDB form breaks.
  fn token_rule(&mut self) -> Res<String> {
    let code = self.next()?;
    let detail = |r: &mut Self| -> Res<String> { Ok(String::from_utf16_lossy(r.units()?)) };
    Ok(match code {
      b'f' => "a function is not a valid DynamoDB value".into(),
      b'y' => "a symbol is not a valid DynamoDB value".into(),
      b'c' => "circular reference".into(),
      b'D' => format!("nesting exceeds DynamoDB's {MAX_DEPTH} levels"),
      b'o' => {
        let name = detail(self)?;
        format!(
          "{} is not supported (only plain objects, arrays, Map, Set, binary data, bigint and NumberValue are)",
          with_article(&name)
        )
      }
      b'k' => format!("Map keys must be strings, got {}", detail(self)?),
      _ => return Err(MALFORMED.into()),
    })
  }

  /// What a value is, for "got …" messages; reads the value's tag (and a token's detail) only.
  fn describe_here(&mut self) -> Res<String> {
    let tag = self.next()?;
    Ok(match tag {
      b's' => "a string".into(),
      b'n' | b'd' => "a number".into(),
      b'T' | b'F' => "a boolean".into(),
      b'z' => "null".into(),
      b'u' => "undefined".into(),
      b'b' => "binary data".into(),
      b'[' => "an array".into(),
      b'<' => "a Set".into(),
      b'{' => "an object".into(),
      b'!' => match self.next()? {
        b'f' => "a function".into(),
        b'y' => "a symbol".into(),
        b'o' => with_article(&String::from_utf16_lossy(self.units()?)),
        _ => "an unsupported value".into(),
      },
      _ => return Err(MALFORMED.into()),
    })
  }

  /// A map's entries after `{`, written as a JSON object; returns the DynamoDB size of its entries
  /// (`nested`: each entry counts one more byte, as inside M). Top-level attributes are recorded.
  fn map_body(&mut self, depth: usize, top: Option<&mut Vec<TopAttr>>) -> Res<usize> {
    let mut top = top;
    self.out.push(b'{');
    let mut size = 0;
    let mut first = true;
    loop {
      match self.peek() {
        Some(c) if c == b'}' as u16 => {
          self.pos += 1;
          break;
        }
        Some(c) if c == b'!' as u16 => {
          self.pos += 1;
          return Err(self.token_rule()?);
        }
        _ => {}
      }
      let len = self.uint_until(b':')?;
      let start = self.pos;
      let end = start.checked_add(len).ok_or(MALFORMED)?;
      if end > self.w.len() {
        return Err(MALFORMED.into());
      }
      self.pos = end;
      self.path.push(Seg::Name(start as u32, end as u32));
      if self.peek() == Some(b'u' as u16) && self.rules.remove_undefined {
        self.pos += 1;
        self.path.pop();
        continue;
      }
      if len == 0 {
        return Err("attribute names must not be empty".into());
      }
      if !first {
        self.out.push(b',');
      }
      first = false;
      self.out.push(b'"');
      let name_start = self.out.len();
      let name_len = utf16_json(&mut self.out, &self.w[start..end])
        .map_err(|at| lone_surrogate("the attribute name", at))?;
      let name_end = self.out.len();
      if name_len > MAX_NAME_BYTES {
        return Err(format!(
          "attribute name is {name_len} bytes; DynamoDB allows at most {MAX_NAME_BYTES}"
        ));
      }
      self.out.extend_from_slice(b"\":");
      let value_start = self.out.len();
      let (vsize, tag, payload, raw_len) = self.value(depth)?;
      if let Some(top) = top.as_deref_mut() {
        top.push(TopAttr {
          name: (name_start as u32, name_end as u32),
          value: (value_start as u32, self.out.len() as u32),
          payload,
          tag,
          raw_len,
        });
      }
      size += name_len + vsize + usize::from(depth > 1);
      self.path.pop();
    }
    self.out.push(b'}');
    Ok(size)
  }

  /// One value, written as a typed DynamoDB JSON value. Returns its size, type, the span of its scalar
  /// payload and its raw length (for key checks).
  fn value(&mut self, depth: usize) -> Res<(usize, Tag, (u32, u32), u32)> {
    let tag = self.next()?;
    let none = (0, 0);
    Ok(match tag {
      b's' => {
        self.out.extend_from_slice(b"{\"S\":\"");
        let a = self.out.len() as u32;
        let n = self.string_body()?;
        let b = self.out.len() as u32;
        self.out.extend_from_slice(b"\"}");
        (n, Tag::S, (a, b), n as u32)
      }
      b'n' | b'd' => {
        self.out.extend_from_slice(b"{\"N\":\"");
        let a = self.out.len() as u32;
        let n = self.number_body(tag == b'd')?;
        let b = self.out.len() as u32;
        self.out.extend_from_slice(b"\"}");
        (n, Tag::N, (a, b), b - a)
      }
      b'T' | b'F' => {
        self.out.extend_from_slice(if tag == b'T' {
          b"{\"BOOL\":true}"
        } else {
          b"{\"BOOL\":false}"
        });
        (1, Tag::Bool, none, 0)
      }
      b'z' => {
        self.out.extend_from_slice(b"{\"NULL\":true}");
        (1, Tag::Null, none, 0)
      }
      b'b' => {
        self.out.extend_from_slice(b"{\"B\":\"");
        let a = self.out.len() as u32;
        let n = self.binary_body()?;
        let b = self.out.len() as u32;
        self.out.extend_from_slice(b"\"}");
        (n, Tag::B, (a, b), n as u32)
      }
      b'{' | b'[' if depth >= MAX_DEPTH => {
        return Err(format!("nesting exceeds DynamoDB's {MAX_DEPTH} levels"))
      }
      b'{' => {
        self.out.extend_from_slice(b"{\"M\":");
        let n = self.map_body(depth + 1, None)?;
        self.out.push(b'}');
        (3 + n, Tag::M, none, 0)
      }
      b'[' => {
        self.out.extend_from_slice(b"{\"L\":[");
        let mut n = 3;
        let mut i = 0u32;
        let mut first = true;
        while self.peek() != Some(b']' as u16) {
          self.path.push(Seg::Index(i));
          i += 1;
          if self.peek() == Some(b'u' as u16) && self.rules.remove_undefined {
            self.pos += 1;
            self.path.pop();
            continue;
          }
          if !first {
            self.out.push(b',');
          }
          first = false;
          n += 1 + self.value(depth + 1)?.0;
          self.path.pop();
        }
        self.pos += 1;
        self.out.extend_from_slice(b"]}");
        (n, Tag::L, none, 0)
      }
      b'<' => self.set()?,
      b'u' => return Err("undefined is not allowed (set removeUndefinedValues to drop it)".into()),
      b'!' => return Err(self.token_rule()?),
      _ => return Err(MALFORMED.into()),
    })
  }

  /// A JS Set: SS, NS or BS by its members, which must all be of one of those kinds, distinct once
  /// marshalled (DynamoDB compares numbers by value), and at least one.
  fn set(&mut self) -> Res<(usize, Tag, (u32, u32), u32)> {
    let mut kind: Option<Tag> = None;
    let mut members: Vec<Vec<u8>> = Vec::new();
    let mut size = 0;
    let mut i = 0u32;
    let start = self.out.len();
    while self.peek() != Some(b']' as u16) {
      self.path.push(Seg::Index(i));
      i += 1;
      let c = self.peek().ok_or(MALFORMED)?;
      let k = match u8::try_from(c).unwrap_or(0) {
        b'u' if self.rules.remove_undefined => {
          self.pos += 1;
          self.path.pop();
          continue;
        }
        b'u' => {
          return Err("undefined is not allowed (set removeUndefinedValues to drop it)".into())
        }
        b's' => Tag::Ss,
        b'n' | b'd' => Tag::Ns,
        b'b' => Tag::Bs,
        _ => {
          let what = self.describe_here()?;
          return Err(format!(
            "{what} cannot be a Set member (only strings, numbers or binaries)"
          ));
        }
      };
      match kind {
        None => {
          self.out.extend_from_slice(match k {
            Tag::Ss => b"{\"SS\":[",
            Tag::Ns => b"{\"NS\":[",
            _ => b"{\"BS\":[",
          });
          kind = Some(k);
        }
        Some(prev) if prev != k => return Err(
          "a Set must hold only strings, only numbers/bigints/NumberValues, or only binary values"
            .into(),
        ),
        Some(_) => self.out.push(b','),
      }
      let tag = self.next()?;
      self.out.push(b'"');
      let a = self.out.len();
      size += match tag {
        b's' => self.string_body()?,
        b'b' => self.binary_body()?,
        _ => self.number_body(tag == b'd')?,
      };
      let member = &self.out[a..];
      members.push(if k == Tag::Ns {
        let p = number::parse(member).map_err(|_| MALFORMED)?;
        let mut c = Vec::new();
        number::canonical(&p, &mut c);
        c
      } else {
        member.to_vec()
      });
      self.out.push(b'"');
      self.path.pop();
    }
    self.pos += 1;
    let Some(kind) = kind else {
      self.out.truncate(start);
      return Err("an empty Set cannot be stored (DynamoDB has no empty sets)".into());
    };
    members.sort_unstable();
    if members.windows(2).any(|w| w[0] == w[1]) {
      return Err(
        "the Set holds duplicate values once marshalled (DynamoDB rejects duplicate set members)"
          .into(),
      );
    }
    self.out.extend_from_slice(b"]}");
    Ok((size, kind, (0, 0), 0))
  }

  /// One top-level item: a map, within the size limit when `sized`.
  fn item(&mut self, root: &str, sized: bool) -> Result<Encoded, ItemError> {
    let mut top = Vec::with_capacity(16);
    let res = (|| -> Res<usize> {
      if self.peek() != Some(b'{' as u16) {
        let what = self.describe_here()?;
        return Err(format!(
          "must be an object (a plain object or a Map), got {what}"
        ));
      }
      self.pos += 1;
      self.map_body(1, Some(&mut top))
    })();
    let size = res.map_err(|rule| ItemError {
      path: self.path_string(root),
      rule,
    })?;
    if sized && size > MAX_ITEM_BYTES {
      return Err(ItemError {
        path: root.to_string(),
        rule: format!(
          "{size} bytes exceeds DynamoDB's item size limit of {MAX_ITEM_BYTES} bytes (400 KB)"
        ),
      });
    }
    Ok(Encoded {
      json: std::mem::take(&mut self.out),
      size,
      top,
    })
  }
}

fn with_article(name: &str) -> String {
  let vowel = name
    .chars()
    .next()
    .is_some_and(|c| "AEIOUaeiou".contains(c));
  format!("{} {name}", if vowel { "an" } else { "a" })
}

/// Judges one item (or key, or map of expression values: `root` names it in messages) and writes its
/// DynamoDB JSON. `sized`: apply the 400 KB item limit.
pub fn encode<B: AsRef<[u8]>>(
  wire: &[u16],
  bins: &[B],
  root: &str,
  rules: Rules,
  sized: bool,
) -> Result<Encoded, ItemError> {
  let mut r = Reader {
    w: wire,
    pos: 0,
    bins,
    // the JSON of a typical item is under twice its wire (each value adds `{"S":""}`)
    out: Vec::with_capacity(wire.len() * 2 + 32),
    path: Vec::new(),
    rules,
  };
  let e = r.item(root, sized)?;
  if r.pos != wire.len() {
    return Err(ItemError {
      path: root.to_string(),
      rule: MALFORMED.into(),
    });
  }
  Ok(e)
}

/// Judges a run of length-prefixed items (`putMany`): one result per item, in order. A malformed run is
/// one error for the whole call.
pub fn encode_many<B: AsRef<[u8]>>(
  wire: &[u16],
  bins: &[B],
  root: &str,
  rules: Rules,
) -> Result<Vec<Result<Encoded, ItemError>>, ItemError> {
  let malformed = || ItemError {
    path: root.to_string(),
    rule: MALFORMED.into(),
  };
  let mut out = Vec::new();
  let mut pos = 0;
  while pos < wire.len() {
    let colon = wire[pos..]
      .iter()
      .position(|&c| c == b':' as u16)
      .ok_or_else(malformed)?;
    let len: usize = String::from_utf16_lossy(&wire[pos..pos + colon])
      .parse()
      .map_err(|_| malformed())?;
    let start = pos + colon + 1;
    let end = start
      .checked_add(len)
      .filter(|&e| e <= wire.len())
      .ok_or_else(malformed)?;
    out.push(encode(&wire[start..end], bins, root, rules, true));
    pos = end;
  }
  Ok(out)
}

/// A map of strings (ExpressionAttributeNames), each name and value well-formed.
pub fn string_map(wire: &[u16], root: &str) -> Result<Vec<(String, String)>, ItemError> {
  let e = encode::<&[u8]>(wire, &[], root, Rules::default(), false)?;
  let mut out = Vec::with_capacity(e.top.len());
  for a in &e.top {
    let name = unescape(e.slice(a.name));
    if a.tag != Tag::S {
      return Err(ItemError {
        path: attr_path(root, &name),
        rule: format!("must be a string, got {}", a.tag.as_str()),
      });
    }
    out.push((name, unescape(e.slice(a.payload))));
  }
  Ok(out)
}

/// Reverses `json::escape_into` (for names read back out of an encoded item).
pub fn unescape(escaped: &[u8]) -> String {
  let mut out = Vec::with_capacity(escaped.len());
  let mut i = 0;
  while i < escaped.len() {
    let b = escaped[i];
    i += 1;
    if b != b'\\' {
      out.push(b);
      continue;
    }
    let e = escaped.get(i).copied().unwrap_or(b'\\');
    i += 1;
    out.push(match e {
      b'n' => b'\n',
      b'r' => b'\r',
      b't' => b'\t',
      b'b' => 0x08,
      b'f' => 0x0c,
      b'u' => {
        let hex = std::str::from_utf8(escaped.get(i..i + 4).unwrap_or(b"0000")).unwrap_or("0000");
        i += 4;
        u8::from_str_radix(&hex[2..], 16).unwrap_or(b'?')
      }
      other => other,
    });
  }
  String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

#[cfg(test)]
mod tests;
