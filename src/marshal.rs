//! Item marshalling between the JS facade and DynamoDB `AttributeValue`s, without napi.
//!
//! The JS side walks each item once and writes a compact "wire" string (see `lib/codec.js`); this module
//! decodes it into `AttributeValue`s and encodes `AttributeValue`s back for reads. The wire is read as UTF-16
//! code units so that string lengths written by JS (`str.length`) can be used directly without escaping.
//!
//! Grammar (one value):
//!   `s<len>:<chars>` S · `n<text>;` N · `T` / `F` BOOL · `z` NULL · `b<index>;` B (index into the binaries)
//!   `{` (`<len>:<name>` value)* `}` M · `[` value* `]` L · `$` S-values `]` SS · `#` N-values `]` NS
//!   `%` B-values `]` BS
//!
//! This module also owns DynamoDB's item rules: number syntax and range, nesting depth, item size, and key
//! checks against a table's key schema.

use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::AttributeValue;
use std::collections::HashMap;
use std::fmt::Write as _;

pub type Item = HashMap<String, AttributeValue>;

/// DynamoDB's item size limit: 400 KB.
pub const MAX_ITEM_BYTES: usize = 400 * 1024;
/// DynamoDB's nesting limit for documents.
pub const MAX_DEPTH: usize = 32;
pub const MAX_PARTITION_KEY_BYTES: usize = 2048;
pub const MAX_SORT_KEY_BYTES: usize = 1024;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyType {
  S,
  N,
  B,
  /// A key given by name only (`keySchema: { partitionKey: 'pk' }`): any key type is accepted.
  Any,
}

impl KeyType {
  pub fn parse(s: &str) -> Option<KeyType> {
    match s {
      "S" => Some(KeyType::S),
      "N" => Some(KeyType::N),
      "B" => Some(KeyType::B),
      _ => None,
    }
  }
  pub fn as_str(self) -> &'static str {
    match self {
      KeyType::S => "S",
      KeyType::N => "N",
      KeyType::B => "B",
      KeyType::Any => "S, N or B",
    }
  }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyAttr {
  pub name: String,
  pub ty: KeyType,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeySchema {
  pub partition: KeyAttr,
  pub sort: Option<KeyAttr>,
}

impl KeySchema {
  pub fn describe(&self) -> String {
    let attr = |a: &KeyAttr| match a.ty {
      KeyType::Any => a.name.clone(),
      t => format!("{} {}", a.name, t.as_str()),
    };
    let mut s = attr(&self.partition);
    if let Some(sk) = &self.sort {
      let _ = write!(s, ", {}", attr(sk));
    }
    s
  }
}

/// Formats an attribute path the way error messages show it: `item.a.b`, `item.tags[3]`, `item["a b"]`.
#[derive(Clone, Debug)]
enum Seg {
  Name(String),
  Index(usize),
}

fn format_path(root: &str, segs: &[Seg]) -> String {
  let mut out = String::from(root);
  for seg in segs {
    match seg {
      Seg::Index(i) => {
        let _ = write!(out, "[{i}]");
      }
      Seg::Name(n) => push_name(&mut out, n),
    }
  }
  out
}

fn push_name(out: &mut String, n: &str) {
  let plain = !n.is_empty()
    && n
      .chars()
      .next()
      .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == '$')
    && n
      .chars()
      .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$');
  if plain {
    out.push('.');
    out.push_str(n);
  } else {
    out.push('[');
    out.push_str(&json_quote(n));
    out.push(']');
  }
}

pub fn json_quote(s: &str) -> String {
  let mut out = String::with_capacity(s.len() + 2);
  out.push('"');
  for c in s.chars() {
    match c {
      '"' => out.push_str("\\\""),
      '\\' => out.push_str("\\\\"),
      '\n' => out.push_str("\\n"),
      c if (c as u32) < 0x20 => {
        let _ = write!(out, "\\u{:04x}", c as u32);
      }
      c => out.push(c),
    }
  }
  out.push('"');
  out
}

/// Path of a top-level attribute, for key errors.
pub fn attr_path(root: &str, name: &str) -> String {
  let mut s = String::from(root);
  push_name(&mut s, name);
  s
}

// ---------------------------------------------------------------------------------------------------------
// Numbers

/// Validates a DynamoDB number and returns it normalized (no leading `+`, no redundant zeros in the
/// mantissa's integer part). DynamoDB allows 38 significant digits and magnitudes from 1E-130 to 9.9…9E+125.
pub fn normalize_number(text: &str) -> Result<String, String> {
  let bad = || format!("{text:?} is not a valid DynamoDB number");
  let b = text.as_bytes();
  let mut i = 0;
  let neg = b.first() == Some(&b'-');
  if neg || b.first() == Some(&b'+') {
    i += 1;
  }
  let mut digits: Vec<u8> = Vec::with_capacity(b.len());
  let mut int_digits = 0i64;
  let mut seen_dot = false;
  let mut any = false;
  while i < b.len() {
    match b[i] {
      d @ b'0'..=b'9' => {
        digits.push(d - b'0');
        if !seen_dot {
          int_digits += 1;
        }
        any = true;
      }
      b'.' if !seen_dot => seen_dot = true,
      _ => break,
    }
    i += 1;
  }
  if !any {
    return Err(bad());
  }
  let mut exp: i64 = 0;
  if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
    i += 1;
    let eneg = b.get(i) == Some(&b'-');
    if eneg || b.get(i) == Some(&b'+') {
      i += 1;
    }
    let start = i;
    while i < b.len() && b[i].is_ascii_digit() {
      exp = exp.saturating_mul(10).saturating_add((b[i] - b'0') as i64);
      i += 1;
    }
    if i == start {
      return Err(bad());
    }
    if eneg {
      exp = -exp;
    }
  }
  if i != b.len() {
    return Err(bad());
  }
  // Significant digits: strip leading and trailing zeros.
  let first = digits.iter().position(|&d| d != 0);
  let Some(first) = first else {
    return Ok("0".to_string());
  };
  let last = digits.iter().rposition(|&d| d != 0).unwrap_or(first);
  let sig = &digits[first..=last];
  if sig.len() > 38 {
    return Err(format!(
      "{text} has {} significant digits; DynamoDB numbers hold at most 38",
      sig.len()
    ));
  }
  // Decimal exponent of the first significant digit (value = 0.d1d2… × 10^point).
  let point = int_digits - first as i64 + exp;
  // Magnitude: value in [1E-130, 1E+126).
  if point > 126 {
    return Err(format!(
      "{text} is too large: DynamoDB numbers must be below 1E+126"
    ));
  }
  if point < -129 {
    return Err(format!(
      "{text} is too small: DynamoDB numbers must be 0 or at least 1E-130 in magnitude"
    ));
  }
  // Re-render in plain or exponent notation, whichever DynamoDB would accept; keep it short and exact.
  let mut out = String::with_capacity(sig.len() + 8);
  if neg {
    out.push('-');
  }
  let n = sig.len() as i64;
  if point > 0 && point <= 40 {
    // integer part present
    if n <= point {
      for &d in sig {
        out.push((b'0' + d) as char);
      }
      for _ in 0..(point - n) {
        out.push('0');
      }
    } else {
      for (k, &d) in sig.iter().enumerate() {
        if k as i64 == point {
          out.push('.');
        }
        out.push((b'0' + d) as char);
      }
    }
  } else if point <= 0 && point > -20 {
    out.push_str("0.");
    for _ in 0..(-point) {
      out.push('0');
    }
    for &d in sig {
      out.push((b'0' + d) as char);
    }
  } else {
    out.push((b'0' + sig[0]) as char);
    if n > 1 {
      out.push('.');
      for &d in &sig[1..] {
        out.push((b'0' + d) as char);
      }
    }
    let _ = write!(out, "E{}", point - 1);
  }
  Ok(out)
}

/// Size of a number as DynamoDB counts it: about one byte per two significant digits, plus one.
pub fn number_size(text: &str) -> usize {
  let b = text.as_bytes();
  let neg = b.first() == Some(&b'-');
  let mut digits = Vec::with_capacity(b.len());
  let mut int_digits = 0i64;
  let mut seen_dot = false;
  let mut exp = 0i64;
  let mut i = 0;
  while i < b.len() {
    match b[i] {
      d @ b'0'..=b'9' => {
        digits.push(d - b'0');
        if !seen_dot {
          int_digits += 1;
        }
      }
      b'.' => seen_dot = true,
      b'e' | b'E' => {
        exp = text[i + 1..].parse::<i64>().unwrap_or(0);
        break;
      }
      _ => {}
    }
    i += 1;
  }
  let Some(first) = digits.iter().position(|&d| d != 0) else {
    return 1;
  };
  let last = digits.iter().rposition(|&d| d != 0).unwrap_or(first);
  let n = (last - first + 1) as i64;
  // exponent of the least significant digit, as in a decimal with an integer coefficient
  let e = int_digits - first as i64 + exp - 1;
  let odd = n % 2 != 0 || e.rem_euclid(2) != 0;
  (1 + (n + 1) / 2 + if odd { 0 } else { 1 } + if neg { 1 } else { 0 }) as usize
}

// ---------------------------------------------------------------------------------------------------------
// Decoding the wire

/// Decodes one item (a top-level map) written by the JS codec. `binaries` holds the B values the wire refers
/// to by index; they are moved out. `root` names the item in error messages ("item", "key").
pub fn decode_item(wire: &[u16], binaries: &mut [Vec<u8>], root: &str) -> Result<Item, String> {
  let mut d = Decoder {
    w: wire,
    pos: 0,
    bins: binaries,
    path: Vec::new(),
  };
  if d.peek() != Some(b'{' as u16) {
    return Err(format!("{root}: must be an object"));
  }
  d.pos += 1;
  let map = d.map_body(1).map_err(|m| d.err(root, m))?;
  if d.pos != wire.len() {
    return Err(format!("{root}: malformed item encoding"));
  }
  Ok(map)
}

/// Decodes only the named top-level attributes of an item (its key), skipping the rest without
/// allocating: the cheap synchronous check `put` makes before the whole item is decoded off the JS thread.
pub fn extract_attrs(
  wire: &[u16],
  binaries: &[Vec<u8>],
  root: &str,
  names: &[&str],
) -> Result<Item, String> {
  // Binary keys are rare; copy the binaries only when there are any, since decoding moves them out.
  let mut bins = binaries.to_vec();
  let mut d = Decoder {
    w: wire,
    pos: 0,
    bins: &mut bins,
    path: Vec::new(),
  };
  if d.peek() != Some(b'{' as u16) {
    return Err(format!("{root}: must be an object"));
  }
  d.pos += 1;
  let mut out = Item::new();
  let res: Result<(), String> = (|| {
    while d.peek() != Some(b'}' as u16) {
      // Compare names in place: only the key attributes are turned into Strings.
      let len = d.uint_until(b':')?;
      let name = d
        .w
        .get(d.pos..d.pos + len)
        .ok_or("truncated item encoding")?;
      d.pos += len;
      if names
        .iter()
        .any(|n| n.len() == name.len() && n.encode_utf16().eq(name.iter().copied()))
      {
        d.path.push(Seg::Name(String::from_utf16_lossy(name)));
        let v = d.value(1)?;
        let Some(Seg::Name(name)) = d.path.pop() else {
          unreachable!()
        };
        out.insert(name, v);
      } else {
        d.skip_value()?;
      }
    }
    Ok(())
  })();
  res.map_err(|m| d.err(root, m))?;
  Ok(out)
}

/// Where each item of a run written back to back starts and ends (the `putMany` path).
pub fn item_ranges(wire: &[u16]) -> Result<Vec<std::ops::Range<usize>>, String> {
  let mut bins: [Vec<u8>; 0] = [];
  let mut d = Decoder {
    w: wire,
    pos: 0,
    bins: &mut bins,
    path: Vec::new(),
  };
  let mut out = Vec::new();
  while d.pos < wire.len() {
    let start = d.pos;
    if d.peek() != Some(b'{' as u16) {
      return Err("malformed item encoding".into());
    }
    d.skip_value()?;
    out.push(start..d.pos);
  }
  Ok(out)
}

/// An upper bound of an item's DynamoDB size from its wire: a UTF-16 unit is at most 3 UTF-8 bytes and
/// the structure characters only add to the bound. When it is under the limit the exact size can wait.
pub fn size_upper_bound(wire: &[u16], binaries: &[Vec<u8>]) -> usize {
  wire.len() * 3 + binaries.iter().map(Vec::len).sum::<usize>()
}

/// Decodes a run of items written back to back (the `putMany` path): one result per item, in order.
pub fn decode_items(
  wire: &[u16],
  binaries: &mut [Vec<u8>],
  root: &str,
) -> Vec<Result<Item, String>> {
  let mut d = Decoder {
    w: wire,
    pos: 0,
    bins: binaries,
    path: Vec::new(),
  };
  let mut out = Vec::new();
  while d.pos < wire.len() {
    if d.peek() != Some(b'{' as u16) {
      out.push(Err(format!("{root}: malformed item encoding")));
      break;
    }
    d.pos += 1;
    d.path.clear();
    match d.map_body(1) {
      Ok(m) => out.push(Ok(m)),
      Err(m) => {
        out.push(Err(d.err(root, m)));
        // Resynchronise: the JS codec ends every item at depth 0 with '}' followed by '{' or the end.
        if !d.skip_to_next_item() {
          break;
        }
      }
    }
  }
  out
}

struct Decoder<'a> {
  w: &'a [u16],
  pos: usize,
  bins: &'a mut [Vec<u8>],
  path: Vec<Seg>,
}

impl Decoder<'_> {
  /// Skips one value without building it.
  fn skip_value(&mut self) -> Result<(), String> {
    let tag = u8::try_from(self.next()?).map_err(|_| "malformed item encoding".to_string())?;
    match tag {
      b's' => {
        let len = self.uint_until(b':')?;
        self.pos += len;
      }
      b'n' | b'b' => {
        while self.peek().is_some_and(|c| c != b';' as u16) {
          self.pos += 1;
        }
        self.pos += 1;
      }
      b'T' | b'F' | b'z' => {}
      b'{' => {
        while self.peek() != Some(b'}' as u16) {
          let len = self.uint_until(b':')?;
          self.pos += len;
          self.skip_value()?;
        }
        self.pos += 1;
      }
      b'[' | b'$' | b'#' | b'%' => {
        while self.peek() != Some(b']' as u16) {
          self.skip_value()?;
        }
        self.pos += 1;
      }
      _ => return Err("malformed item encoding".into()),
    }
    if self.pos > self.w.len() {
      return Err("truncated item encoding".into());
    }
    Ok(())
  }

  /// After an error inside an item, moves to the start of the next one by re-scanning the structure.
  fn skip_to_next_item(&mut self) -> bool {
    // Restart from the beginning of the failed item is not possible; instead scan forward tracking
    // nesting and skipping string payloads by their length prefixes.
    let mut depth: i32 = self.path.len() as i32; // one path segment per open container
    while let Some(c) = self.peek() {
      self.pos += 1;
      match u8::try_from(c).unwrap_or(0) {
        b'{' | b'[' | b'$' | b'#' | b'%' => depth += 1,
        b'}' | b']' => {
          depth -= 1;
          if depth == 0 {
            return true;
          }
        }
        b's' if self.chars().is_err() => return false,
        b's' => {}
        b'n' | b'b' => {
          while self.peek().is_some_and(|c| c != b';' as u16) {
            self.pos += 1;
          }
          self.pos += 1;
        }
        b'0'..=b'9' => {
          // a map entry name: digits then ':' then chars
          self.pos -= 1;
          if self.chars().is_err() {
            return false;
          }
        }
        _ => {}
      }
    }
    false
  }

  fn err(&self, root: &str, msg: String) -> String {
    format!("{}: {msg}", format_path(root, &self.path))
  }
  fn peek(&self) -> Option<u16> {
    self.w.get(self.pos).copied()
  }
  fn next(&mut self) -> Result<u16, String> {
    let c = self
      .peek()
      .ok_or_else(|| "truncated item encoding".to_string())?;
    self.pos += 1;
    Ok(c)
  }
  fn uint_until(&mut self, end: u8) -> Result<usize, String> {
    let mut n: usize = 0;
    loop {
      let c = self.next()?;
      if c == end as u16 {
        return Ok(n);
      }
      if !(b'0' as u16..=b'9' as u16).contains(&c) {
        return Err("malformed item encoding".into());
      }
      n = n * 10 + (c - b'0' as u16) as usize;
    }
  }
  fn chars(&mut self) -> Result<String, String> {
    let len = self.uint_until(b':')?;
    let end = self.pos + len;
    if end > self.w.len() {
      return Err("truncated item encoding".into());
    }
    let s = String::from_utf16_lossy(&self.w[self.pos..end]);
    self.pos = end;
    Ok(s)
  }
  fn number(&mut self) -> Result<String, String> {
    let start = self.pos;
    while self.peek().is_some_and(|c| c != b';' as u16) {
      self.pos += 1;
    }
    let text: String = self.w[start..self.pos]
      .iter()
      .map(|&c| char::from_u32(c as u32).unwrap_or('?'))
      .collect();
    self.pos += 1;
    normalize_number(&text)
  }
  fn binary(&mut self) -> Result<Blob, String> {
    let idx = self.uint_until(b';')?;
    let b = self
      .bins
      .get_mut(idx)
      .ok_or_else(|| "malformed item encoding (binary index)".to_string())?;
    Ok(Blob::new(std::mem::take(b)))
  }
  fn map_body(&mut self, depth: usize) -> Result<Item, String> {
    let mut map = HashMap::with_capacity(if depth == 1 { 12 } else { 4 });
    while self.peek() != Some(b'}' as u16) {
      let name = self.chars()?;
      self.path.push(Seg::Name(name));
      let v = self.value(depth)?;
      let Some(Seg::Name(name)) = self.path.pop() else {
        unreachable!()
      };
      map.insert(name, v);
    }
    self.pos += 1;
    Ok(map)
  }
  fn value(&mut self, depth: usize) -> Result<AttributeValue, String> {
    let tag = self.next()?;
    let tag = u8::try_from(tag).map_err(|_| "malformed item encoding".to_string())?;
    Ok(match tag {
      b's' => AttributeValue::S(self.chars()?),
      b'n' => AttributeValue::N(self.number()?),
      b'T' => AttributeValue::Bool(true),
      b'F' => AttributeValue::Bool(false),
      b'z' => AttributeValue::Null(true),
      b'b' => AttributeValue::B(self.binary()?),
      b'{' | b'[' if depth >= MAX_DEPTH => {
        self.pos -= 1; // leave the container unread so decode_items can skip it whole
        return Err(format!("nesting exceeds DynamoDB's {MAX_DEPTH} levels"));
      }
      b'{' => AttributeValue::M(self.map_body(depth + 1)?),
      b'[' => {
        let mut list = Vec::new();
        while self.peek() != Some(b']' as u16) {
          self.path.push(Seg::Index(list.len()));
          list.push(self.value(depth + 1)?);
          self.path.pop();
        }
        self.pos += 1;
        AttributeValue::L(list)
      }
      b'$' | b'#' | b'%' => {
        let mut ss = Vec::new();
        let mut ns = Vec::new();
        let mut bs = Vec::new();
        let mut i = 0;
        while self.peek() != Some(b']' as u16) {
          self.path.push(Seg::Index(i));
          match (tag, self.next()?) {
            (b'$', c) if c == b's' as u16 => ss.push(self.chars()?),
            (b'#', c) if c == b'n' as u16 => ns.push(self.number()?),
            (b'%', c) if c == b'b' as u16 => bs.push(self.binary()?),
            _ => return Err("a Set must hold values of one type".into()),
          }
          self.path.pop();
          i += 1;
        }
        self.pos += 1;
        if i == 0 {
          return Err("an empty Set cannot be stored (DynamoDB has no empty sets)".into());
        }
        match tag {
          b'$' => {
            dedup_check(&ss, |s| s.clone())?;
            AttributeValue::Ss(ss)
          }
          b'#' => {
            dedup_check(&ns, |s| s.clone())?;
            AttributeValue::Ns(ns)
          }
          _ => {
            dedup_check(&bs, |b| b.as_ref().to_vec())?;
            AttributeValue::Bs(bs)
          }
        }
      }
      _ => return Err("malformed item encoding".into()),
    })
  }
}

/// DynamoDB rejects sets with duplicate members; JS sets of numbers can hold 1 and 1n, or two equal
/// buffers, which become duplicates once marshalled.
fn dedup_check<T, K: Ord>(v: &[T], key: impl Fn(&T) -> K) -> Result<(), String> {
  if v.len() < 2 {
    return Ok(());
  }
  let mut keys: Vec<K> = v.iter().map(key).collect();
  keys.sort();
  if keys.windows(2).any(|w| w[0] == w[1]) {
    return Err(
      "the Set holds duplicate values once marshalled (DynamoDB rejects duplicate set members)"
        .into(),
    );
  }
  Ok(())
}

// ---------------------------------------------------------------------------------------------------------
// Encoding for reads

/// Encodes an item for the JS codec to decode; binaries go to `bins` and are referred to by index.
pub fn encode_item(item: &Item, out: &mut Vec<u16>, bins: &mut Vec<Vec<u8>>) {
  out.push(b'{' as u16);
  for (k, v) in item {
    push_chars(out, k);
    encode_value(v, out, bins);
  }
  out.push(b'}' as u16);
}

fn push_ascii(out: &mut Vec<u16>, s: &str) {
  out.extend(s.bytes().map(|b| b as u16));
}

fn push_chars(out: &mut Vec<u16>, s: &str) {
  let start = out.len();
  // reserve room for the length prefix after counting the UTF-16 units
  out.extend(s.encode_utf16());
  let len = out.len() - start;
  let prefix: Vec<u16> = format!("{len}:").bytes().map(|b| b as u16).collect();
  out.splice(start..start, prefix);
}

fn encode_value(v: &AttributeValue, out: &mut Vec<u16>, bins: &mut Vec<Vec<u8>>) {
  match v {
    AttributeValue::S(s) => {
      out.push(b's' as u16);
      push_chars(out, s);
    }
    AttributeValue::N(n) => {
      out.push(b'n' as u16);
      push_ascii(out, n);
      out.push(b';' as u16);
    }
    AttributeValue::Bool(b) => out.push(if *b { b'T' } else { b'F' } as u16),
    AttributeValue::Null(_) => out.push(b'z' as u16),
    AttributeValue::B(b) => {
      out.push(b'b' as u16);
      push_ascii(out, &bins.len().to_string());
      out.push(b';' as u16);
      bins.push(b.as_ref().to_vec());
    }
    AttributeValue::M(m) => encode_item(m, out, bins),
    AttributeValue::L(l) => {
      out.push(b'[' as u16);
      for v in l {
        encode_value(v, out, bins);
      }
      out.push(b']' as u16);
    }
    AttributeValue::Ss(ss) => {
      out.push(b'$' as u16);
      for s in ss {
        out.push(b's' as u16);
        push_chars(out, s);
      }
      out.push(b']' as u16);
    }
    AttributeValue::Ns(ns) => {
      out.push(b'#' as u16);
      for n in ns {
        out.push(b'n' as u16);
        push_ascii(out, n);
        out.push(b';' as u16);
      }
      out.push(b']' as u16);
    }
    AttributeValue::Bs(bs) => {
      out.push(b'%' as u16);
      for b in bs {
        out.push(b'b' as u16);
        push_ascii(out, &bins.len().to_string());
        out.push(b';' as u16);
        bins.push(b.as_ref().to_vec());
      }
      out.push(b']' as u16);
    }
    // Unknown future variants are surfaced as NULL rather than crashing a read.
    _ => out.push(b'z' as u16),
  }
}

// ---------------------------------------------------------------------------------------------------------
// Sizes

/// An item's size by DynamoDB's rules: attribute names (UTF-8 bytes) plus values.
pub fn item_size(item: &Item) -> usize {
  item.iter().map(|(k, v)| k.len() + value_size(v)).sum()
}

pub fn value_size(v: &AttributeValue) -> usize {
  match v {
    AttributeValue::S(s) => s.len(),
    AttributeValue::N(n) => number_size(n),
    AttributeValue::B(b) => b.as_ref().len(),
    AttributeValue::Bool(_) | AttributeValue::Null(_) => 1,
    AttributeValue::Ss(ss) => ss.iter().map(|s| s.len()).sum(),
    AttributeValue::Ns(ns) => ns.iter().map(|n| number_size(n)).sum(),
    AttributeValue::Bs(bs) => bs.iter().map(|b| b.as_ref().len()).sum(),
    AttributeValue::L(l) => 3 + l.iter().map(|v| 1 + value_size(v)).sum::<usize>(),
    AttributeValue::M(m) => 3 + m.len() + item_size(m),
    _ => 0,
  }
}

/// Write capacity a put of this size consumes: one unit per started KB.
pub fn write_units(size: usize) -> f64 {
  size.div_ceil(1024).max(1) as f64
}

pub fn check_item_size(size: usize, root: &str) -> Result<(), String> {
  if size > MAX_ITEM_BYTES {
    return Err(format!(
      "{root}: {size} bytes exceeds DynamoDB's item size limit of {MAX_ITEM_BYTES} bytes (400 KB)"
    ));
  }
  Ok(())
}

// ---------------------------------------------------------------------------------------------------------
// Keys

fn type_name(v: &AttributeValue) -> &'static str {
  match v {
    AttributeValue::S(_) => "S",
    AttributeValue::N(_) => "N",
    AttributeValue::B(_) => "B",
    AttributeValue::Bool(_) => "BOOL",
    AttributeValue::Null(_) => "NULL",
    AttributeValue::M(_) => "M",
    AttributeValue::L(_) => "L",
    AttributeValue::Ss(_) => "SS",
    AttributeValue::Ns(_) => "NS",
    AttributeValue::Bs(_) => "BS",
    _ => "unknown",
  }
}

fn check_key_attr(
  item: &Item,
  attr: &KeyAttr,
  limit: usize,
  which: &str,
  schema: &KeySchema,
  root: &str,
) -> Result<(), String> {
  // Built only for a message: this runs for every operation.
  let path = || attr_path(root, &attr.name);
  let Some(v) = item.get(&attr.name) else {
    return Err(format!(
      "{}: missing key attribute (table key schema: {})",
      path(),
      schema.describe()
    ));
  };
  let len = match (attr.ty, v) {
    (KeyType::S | KeyType::Any, AttributeValue::S(s)) => s.len(),
    (KeyType::N | KeyType::Any, AttributeValue::N(n)) => n.len().min(limit),
    (KeyType::B | KeyType::Any, AttributeValue::B(b)) => b.as_ref().len(),
    _ => {
      return Err(format!(
        "{}: key attribute must be of type {}, got {}",
        path(),
        attr.ty.as_str(),
        type_name(v)
      ))
    }
  };
  if len == 0 {
    let what = if matches!(v, AttributeValue::S(_)) {
      "string"
    } else {
      "binary"
    };
    return Err(format!(
      "{}: key attribute must not be an empty {what}",
      path()
    ));
  }
  if len > limit {
    return Err(format!(
      "{}: {which} key value is {len} bytes; DynamoDB allows at most {limit}",
      path()
    ));
  }
  Ok(())
}

/// Checks the key attributes of an item (or key) against the table's key schema.
pub fn check_key(item: &Item, schema: &KeySchema, root: &str) -> Result<(), String> {
  check_key_attr(
    item,
    &schema.partition,
    MAX_PARTITION_KEY_BYTES,
    "partition",
    schema,
    root,
  )?;
  if let Some(sk) = &schema.sort {
    check_key_attr(item, sk, MAX_SORT_KEY_BYTES, "sort", schema, root)?;
  }
  Ok(())
}

/// Keeps only the key attributes (delete accepts a whole item; DynamoDB wants the key alone).
pub fn project_key(mut item: Item, schema: &KeySchema) -> Item {
  item.retain(|k, _| {
    *k == schema.partition.name || schema.sort.as_ref().is_some_and(|s| *k == s.name)
  });
  item
}

/// A canonical byte string identifying an item's key, for duplicate detection and per-key ordering.
/// Numbers are normalized already, so `1` and `1.0` map to the same key, as in DynamoDB.
pub fn key_bytes(item: &Item, schema: &KeySchema) -> Vec<u8> {
  let mut out = Vec::with_capacity(32);
  push_key_part(&mut out, item.get(&schema.partition.name));
  if let Some(sk) = &schema.sort {
    out.push(0xff);
    push_key_part(&mut out, item.get(&sk.name));
  }
  out
}

fn push_key_part(out: &mut Vec<u8>, v: Option<&AttributeValue>) {
  let (tag, bytes): (u8, &[u8]) = match v {
    Some(AttributeValue::S(s)) => (b's', s.as_bytes()),
    Some(AttributeValue::N(n)) => (b'n', n.as_bytes()),
    Some(AttributeValue::B(b)) => (b'b', b.as_ref()),
    _ => (b'?', &[]),
  };
  out.push(tag);
  out.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
  out.extend_from_slice(bytes);
}

#[cfg(test)]
mod tests {
  use super::*;

  fn w(s: &str) -> Vec<u16> {
    s.encode_utf16().collect()
  }

  #[test]
  fn decodes_every_type() {
    let mut bins = vec![vec![1u8, 2, 3], vec![9u8], vec![8u8]];
    let item = decode_item(
      &w("{2:pks3:a\u{e9}b1:nn42;1:tT1:fF1:zz1:bb0;1:m{1:xs0:}1:l[n1.50;s1:q]2:ss$s1:as1:b]2:ns#n1;n2;]2:bs%b1;b2;]}"),
      &mut bins,
      "item",
    )
    .unwrap();
    assert_eq!(item["pk"], AttributeValue::S("a\u{e9}b".into()));
    assert_eq!(item["n"], AttributeValue::N("42".into()));
    assert_eq!(item["t"], AttributeValue::Bool(true));
    assert_eq!(item["f"], AttributeValue::Bool(false));
    assert_eq!(item["z"], AttributeValue::Null(true));
    assert_eq!(item["b"], AttributeValue::B(Blob::new(vec![1, 2, 3])));
    assert_eq!(
      item["m"],
      AttributeValue::M(HashMap::from([(
        "x".to_string(),
        AttributeValue::S(String::new())
      )]))
    );
    assert_eq!(
      item["l"],
      AttributeValue::L(vec![
        AttributeValue::N("1.5".into()),
        AttributeValue::S("q".into())
      ])
    );
    assert_eq!(item["ss"], AttributeValue::Ss(vec!["a".into(), "b".into()]));
    assert_eq!(item["ns"], AttributeValue::Ns(vec!["1".into(), "2".into()]));
    assert_eq!(
      item["bs"],
      AttributeValue::Bs(vec![Blob::new(vec![9]), Blob::new(vec![8])])
    );
  }

  #[test]
  fn round_trips_through_encode() {
    let mut bins = vec![vec![0u8; 5]];
    let src = "{1:as4:\u{1f600}\u{3b1}\u{3b2}1:bb0;1:c[{1:dn-3;}]}";
    let item = decode_item(&w(src), &mut bins, "item").unwrap();
    let mut out = Vec::new();
    let mut obins = Vec::new();
    encode_item(&item, &mut out, &mut obins);
    let again = decode_item(&out, &mut obins, "item").unwrap();
    assert_eq!(item, again);
  }

  #[test]
  fn error_paths_name_the_attribute() {
    let e = decode_item(&w("{4:tags[s1:an1.2.3;]}"), &mut [], "item").unwrap_err();
    assert_eq!(e, "item.tags[1]: \"1.2.3\" is not a valid DynamoDB number");
    let e = decode_item(&w("{3:a b{1:xns;}}"), &mut [], "item").unwrap_err();
    assert_eq!(e, "item[\"a b\"].x: \"s\" is not a valid DynamoDB number");
    let e = decode_item(&w("{1:s$]}"), &mut [], "item").unwrap_err();
    assert_eq!(
      e,
      "item.s: an empty Set cannot be stored (DynamoDB has no empty sets)"
    );
    let e = decode_item(&w("{1:s#n1;n1.0;]}"), &mut [], "item").unwrap_err();
    assert!(
      e.starts_with("item.s: the Set holds duplicate values"),
      "{e}"
    );
  }

  #[test]
  fn decode_items_skips_a_bad_item_and_keeps_the_rest() {
    let deep = format!("{{1:a{}{}}}", "[".repeat(32), "]".repeat(32));
    let src = format!("{{1:as1:x}}{{1:b[s2:ok{{1:cnx;}}]1:ds0:}}{deep}{{1:bb0;}}");
    let mut bins = vec![vec![7u8]];
    let out = decode_items(&w(&src), &mut bins, "item");
    assert_eq!(out.len(), 4);
    assert!(out[0].is_ok());
    assert_eq!(
      out[1].as_ref().unwrap_err(),
      "item.b[1].c: \"x\" is not a valid DynamoDB number"
    );
    assert!(out[2].as_ref().unwrap_err().contains("32 levels"));
    assert_eq!(
      out[3].as_ref().unwrap()["b"],
      AttributeValue::B(Blob::new(vec![7]))
    );
  }

  #[test]
  fn extracts_key_attributes_only() {
    let src = "{4:tags[s1:an1;{1:xs2:yy}]2:pks3:abc1:bb0;2:sk#n1;]}";
    let key = extract_attrs(&w(src), &[vec![1]], "item", &["pk", "b"]).unwrap();
    assert_eq!(key.len(), 2);
    assert_eq!(key["pk"], AttributeValue::S("abc".into()));
    assert_eq!(key["b"], AttributeValue::B(Blob::new(vec![1])));
    assert!(size_upper_bound(&w(src), &[vec![1]]) >= 3 * src.len());
    let two = format!("{src}{{1:as0:}}");
    let ranges = item_ranges(&w(&two)).unwrap();
    assert_eq!(ranges, vec![0..src.len(), src.len()..two.len()]);
  }

  #[test]
  fn depth_limit() {
    let ok = format!("{{1:a{}{}}}", "[".repeat(31), "]".repeat(31));
    assert!(decode_item(&w(&ok), &mut [], "item").is_ok());
    let deep = format!("{{1:a{}{}}}", "[".repeat(32), "]".repeat(32));
    let e = decode_item(&w(&deep), &mut [], "item").unwrap_err();
    assert!(e.ends_with("nesting exceeds DynamoDB's 32 levels"), "{e}");
  }

  #[test]
  fn numbers() {
    assert_eq!(normalize_number("42").unwrap(), "42");
    assert_eq!(normalize_number("-0").unwrap(), "0");
    assert_eq!(normalize_number("1.50").unwrap(), "1.5");
    assert_eq!(normalize_number("007").unwrap(), "7");
    assert_eq!(normalize_number("1e+21").unwrap(), "1000000000000000000000");
    assert_eq!(normalize_number("1e-7").unwrap(), "0.0000001");
    assert_eq!(normalize_number("-1.5e100").unwrap(), "-1.5E100");
    assert_eq!(normalize_number("1E-130").unwrap(), "1E-130");
    let n38 = "12345678901234567890123456789012345678";
    assert_eq!(normalize_number(n38).unwrap(), n38);
    assert!(normalize_number(&format!("{n38}9"))
      .unwrap_err()
      .contains("39 significant digits"));
    assert!(normalize_number("1e126").unwrap_err().contains("too large"));
    assert!(normalize_number("9.99e125").is_ok());
    assert!(normalize_number("1e-131")
      .unwrap_err()
      .contains("too small"));
    for bad in [
      "", "-", "1.2.3", "abc", "1e", "NaN", "Infinity", "0x10", " 1",
    ] {
      assert!(normalize_number(bad).is_err(), "{bad}");
    }
  }

  #[test]
  fn sizes_follow_dynamodb_rules() {
    assert_eq!(number_size("0"), 1);
    assert_eq!(number_size("1"), 2);
    assert_eq!(number_size("12"), 2);
    assert_eq!(number_size("1234"), 3);
    assert_eq!(number_size("123"), 3);
    assert_eq!(number_size("-1"), 3);
    let mut item = Item::new();
    item.insert("pk".into(), AttributeValue::S("é".into())); // 2 + 2 bytes
    item.insert(
      "l".into(),
      AttributeValue::L(vec![AttributeValue::Bool(true)]),
    ); // 1 + 3 + (1 + 1)
    item.insert(
      "m".into(),
      AttributeValue::M(HashMap::from([("ab".into(), AttributeValue::Null(true))])),
    ); // 1 + 3 + 1 + (2 + 1)
    assert_eq!(item_size(&item), 4 + 6 + 8);
    assert!(check_item_size(MAX_ITEM_BYTES, "item").is_ok());
    assert_eq!(
      check_item_size(MAX_ITEM_BYTES + 1, "item").unwrap_err(),
      "item: 409601 bytes exceeds DynamoDB's item size limit of 409600 bytes (400 KB)"
    );
    assert_eq!(write_units(1), 1.0);
    assert_eq!(write_units(1025), 2.0);
  }

  #[test]
  fn key_checks() {
    let schema = KeySchema {
      partition: KeyAttr {
        name: "pk".into(),
        ty: KeyType::S,
      },
      sort: Some(KeyAttr {
        name: "sk".into(),
        ty: KeyType::N,
      }),
    };
    let mut item = Item::new();
    item.insert("pk".into(), AttributeValue::S("a".into()));
    assert_eq!(
      check_key(&item, &schema, "item").unwrap_err(),
      "item.sk: missing key attribute (table key schema: pk S, sk N)"
    );
    item.insert("sk".into(), AttributeValue::S("1".into()));
    assert_eq!(
      check_key(&item, &schema, "item").unwrap_err(),
      "item.sk: key attribute must be of type N, got S"
    );
    item.insert("sk".into(), AttributeValue::N("1".into()));
    item.insert("pk".into(), AttributeValue::S(String::new()));
    assert_eq!(
      check_key(&item, &schema, "item").unwrap_err(),
      "item.pk: key attribute must not be an empty string"
    );
    item.insert("pk".into(), AttributeValue::S("x".repeat(2049)));
    assert_eq!(
      check_key(&item, &schema, "item").unwrap_err(),
      "item.pk: partition key value is 2049 bytes; DynamoDB allows at most 2048"
    );
    item.insert("pk".into(), AttributeValue::S("x".repeat(2048)));
    assert!(check_key(&item, &schema, "item").is_ok());
    let by_name = KeySchema {
      partition: KeyAttr {
        name: "pk".into(),
        ty: KeyType::Any,
      },
      sort: None,
    };
    assert!(check_key(&item, &by_name, "item").is_ok());
    let mut m = Item::new();
    m.insert("pk".into(), AttributeValue::Bool(true));
    assert_eq!(
      check_key(&m, &by_name, "item").unwrap_err(),
      "item.pk: key attribute must be of type S, N or B, got BOOL"
    );
    assert_eq!(
      check_key(&Item::new(), &by_name, "item").unwrap_err(),
      "item.pk: missing key attribute (table key schema: pk)"
    );
    item.insert("other".into(), AttributeValue::Bool(true));
    let key = project_key(item.clone(), &schema);
    assert_eq!(key.len(), 2);
    assert_eq!(key_bytes(&key, &schema), key_bytes(&item, &schema));
  }
}
