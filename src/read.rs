//! Items read back from DynamoDB, encoded for the JS decoder (`lib/codec.js`'s `decodeItem`). The read rules
//! are decided here: a number becomes a JS number only when that is exact (`number::reads_as_js_number`),
//! or never with `wrapNumbers`; B becomes a Buffer (passed beside the text), Sets become Sets.
//!
//! Grammar (UTF-16 units): `s<len>:<units>` S · `d<text>;` N as a JS number · `n<text>;` N as a NumberValue ·
//! `T` `F` BOOL · `z` NULL · `b<index>;` B · `{(<len>:<name> value)*}` M · `[value*]` L · `$`/`#`/`%` members
//! `]` SS/NS/BS.
//!
//! Many items at once (a scan page, a batchGet answer) go as a `JsonPage`: JSON text that `JSON.parse`
//! turns into the items (the fastest way to make many JS objects), with the values JSON has no form for
//! (B, SS, NS, BS, numbers that stay NumberValues) left null in it and sent beside as patches: for each,
//! `<item>;` the path (`.<len>:<name>` a map key, `[<index>;` a list index), `=` and the value in the
//! grammar above. The same read rules, applied once, here.

use aws_sdk_dynamodb::types::AttributeValue;
use std::collections::HashMap;

pub type AvMap = HashMap<String, AttributeValue>;

/// How numbers are read.
#[derive(Clone, Copy, Debug, Default)]
pub struct ReadRules {
  pub wrap_numbers: bool,
}

/// An item on its way to JS: the text and the binaries it refers to.
#[derive(Debug, Default)]
pub struct ReadWire {
  pub text: Vec<u16>,
  pub bins: Vec<Vec<u8>>,
}

impl ReadWire {
  pub fn item(&mut self, item: &AvMap, rules: ReadRules) {
    self.text.push(b'{' as u16);
    for (k, v) in item {
      self.chars(k);
      self.value(v, rules);
    }
    self.text.push(b'}' as u16);
  }

  fn ascii(&mut self, s: &str) {
    self.text.extend(s.bytes().map(|b| b as u16));
  }

  fn chars(&mut self, s: &str) {
    let len = s.encode_utf16().count();
    self.ascii(&len.to_string());
    self.text.push(b':' as u16);
    self.text.extend(s.encode_utf16());
  }

  fn number(&mut self, n: &str, rules: ReadRules) {
    let tag = if !rules.wrap_numbers && crate::number::reads_as_js_number(n) {
      b'd'
    } else {
      b'n'
    };
    self.text.push(tag as u16);
    self.ascii(n);
    self.text.push(b';' as u16);
  }

  fn binary(&mut self, b: &[u8]) {
    self.text.push(b'b' as u16);
    self.ascii(&self.bins.len().to_string());
    self.text.push(b';' as u16);
    self.bins.push(b.to_vec());
  }

  fn value(&mut self, v: &AttributeValue, rules: ReadRules) {
    match v {
      AttributeValue::S(s) => {
        self.text.push(b's' as u16);
        self.chars(s);
      }
      AttributeValue::N(n) => self.number(n, rules),
      AttributeValue::Bool(b) => self.text.push(if *b { b'T' } else { b'F' } as u16),
      AttributeValue::Null(_) => self.text.push(b'z' as u16),
      AttributeValue::B(b) => self.binary(b.as_ref()),
      AttributeValue::M(m) => self.item(m, rules),
      AttributeValue::L(l) => {
        self.text.push(b'[' as u16);
        for v in l {
          self.value(v, rules);
        }
        self.text.push(b']' as u16);
      }
      AttributeValue::Ss(ss) => {
        self.text.push(b'$' as u16);
        for s in ss {
          self.text.push(b's' as u16);
          self.chars(s);
        }
        self.text.push(b']' as u16);
      }
      AttributeValue::Ns(ns) => {
        self.text.push(b'#' as u16);
        for n in ns {
          self.number(n, rules);
        }
        self.text.push(b']' as u16);
      }
      AttributeValue::Bs(bs) => {
        self.text.push(b'%' as u16);
        for b in bs {
          self.binary(b.as_ref());
        }
        self.text.push(b']' as u16);
      }
      // A type this SDK version does not know: refuse rather than guess.
      _ => {
        self.text.push(b'?' as u16);
      }
    }
  }
}

/// A place in an item, for a patch.
enum Seg<'a> {
  Name(&'a str),
  Index(usize),
}

/// Items for JS: JSON for `JSON.parse`, and patches for what JSON cannot carry (see the module's doc).
#[derive(Debug, Default)]
pub struct JsonPage {
  /// `[item,item,…]`
  pub json: Vec<u8>,
  /// Where each item's JSON starts and ends in `json`, in UTF-16 units (as JS slices the string), to make
  /// a second, independent copy of one.
  pub spans: Vec<u32>,
  pub patches: ReadWire,
  pub count: u32,
}

/// The UTF-16 length of UTF-8 text: one unit per character, two for those beyond the BMP.
fn utf16_units(utf8: &[u8]) -> u32 {
  utf8
    .iter()
    .map(|&b| match b {
      0x80..=0xBF => 0,
      0xF0..=0xFF => 2,
      _ => 1,
    })
    .sum()
}

/// Whether DynamoDB's number text is also a JSON number (so it can be written as it is).
fn json_number(t: &[u8]) -> bool {
  let digits = |i: &mut usize| {
    let start = *i;
    while *i < t.len() && t[*i].is_ascii_digit() {
      *i += 1;
    }
    *i > start
  };
  let mut i = 0;
  if t.first() == Some(&b'-') {
    i += 1;
  }
  let int_start = i;
  if !digits(&mut i) || (t[int_start] == b'0' && i - int_start > 1) {
    return false;
  }
  if t.get(i) == Some(&b'.') {
    i += 1;
    if !digits(&mut i) {
      return false;
    }
  }
  if matches!(t.get(i), Some(b'e' | b'E')) {
    i += 1;
    if matches!(t.get(i), Some(b'+' | b'-')) {
      i += 1;
    }
    if !digits(&mut i) {
      return false;
    }
  }
  i == t.len()
}

impl JsonPage {
  pub fn new<'a>(items: impl IntoIterator<Item = &'a AvMap>, rules: ReadRules) -> Self {
    let mut page = JsonPage::default();
    page.json.push(b'[');
    let mut path = Vec::new();
    let mut units = 1;
    for item in items {
      if page.count > 0 {
        page.json.push(b',');
        units += 1;
      }
      let start = page.json.len();
      page.map(item, rules, page.count, &mut path);
      page.spans.push(units);
      units += utf16_units(&page.json[start..]);
      page.spans.push(units);
      page.count += 1;
    }
    page.json.push(b']');
    page
  }

  fn map<'a>(&mut self, m: &'a AvMap, rules: ReadRules, item: u32, path: &mut Vec<Seg<'a>>) {
    self.json.push(b'{');
    for (i, (k, v)) in m.iter().enumerate() {
      if i > 0 {
        self.json.push(b',');
      }
      crate::json::string_into(&mut self.json, k);
      self.json.push(b':');
      path.push(Seg::Name(k));
      self.value(v, rules, item, path);
      path.pop();
    }
    self.json.push(b'}');
  }

  fn value<'a>(
    &mut self,
    v: &'a AttributeValue,
    rules: ReadRules,
    item: u32,
    path: &mut Vec<Seg<'a>>,
  ) {
    match v {
      AttributeValue::S(s) => crate::json::string_into(&mut self.json, s),
      AttributeValue::N(n) if !rules.wrap_numbers && crate::number::reads_as_js_number(n) => {
        if json_number(n.as_bytes()) {
          self.json.extend_from_slice(n.as_bytes());
        } else {
          // "+7", ".5", "007": the same value in the shortest form JSON takes
          let v: f64 = n.parse().unwrap_or(0.0);
          self.json.extend_from_slice(format!("{v:e}").as_bytes());
        }
      }
      AttributeValue::Bool(b) => self
        .json
        .extend_from_slice(if *b { b"true" } else { b"false" }),
      AttributeValue::Null(_) => self.json.extend_from_slice(b"null"),
      AttributeValue::M(m) => self.map(m, rules, item, path),
      AttributeValue::L(l) => {
        self.json.push(b'[');
        for (i, v) in l.iter().enumerate() {
          if i > 0 {
            self.json.push(b',');
          }
          path.push(Seg::Index(i));
          self.value(v, rules, item, path);
          path.pop();
        }
        self.json.push(b']');
      }
      // B, sets, numbers kept exact, and types this version does not know: a patch.
      _ => {
        self.json.extend_from_slice(b"null");
        let w = &mut self.patches;
        w.ascii(&item.to_string());
        w.text.push(b';' as u16);
        for seg in path.iter() {
          match seg {
            Seg::Name(n) => {
              w.text.push(b'.' as u16);
              w.chars(n);
            }
            Seg::Index(i) => {
              w.text.push(b'[' as u16);
              w.ascii(&i.to_string());
              w.text.push(b';' as u16);
            }
          }
        }
        w.text.push(b'=' as u16);
        w.value(v, rules);
      }
    }
  }
}

/// Encodes one item read from DynamoDB.
pub fn encode(item: &AvMap, rules: ReadRules) -> ReadWire {
  let mut w = ReadWire::default();
  w.item(item, rules);
  w
}

#[cfg(test)]
mod tests {
  use super::*;
  use aws_sdk_dynamodb::primitives::Blob;

  #[test]
  fn numbers_are_marked_by_the_read_rule() {
    let item = HashMap::from([("a".to_string(), AttributeValue::N("42".into()))]);
    let w = encode(&item, ReadRules::default());
    assert_eq!(String::from_utf16(&w.text).unwrap(), "{1:ad42;}");
    let w = encode(&item, ReadRules { wrap_numbers: true });
    assert_eq!(String::from_utf16(&w.text).unwrap(), "{1:an42;}");
    let big = HashMap::from([(
      "a".to_string(),
      AttributeValue::N("12345678901234567890".into()),
    )]);
    assert_eq!(
      String::from_utf16(&encode(&big, ReadRules::default()).text).unwrap(),
      "{1:an12345678901234567890;}"
    );
  }

  #[test]
  fn pages_are_json_with_patches_for_what_json_cannot_carry() {
    let items = [
      HashMap::from([(
        "a\"".to_string(),
        AttributeValue::L(vec![
          AttributeValue::N("1.50".into()),
          AttributeValue::N("+7".into()),
          AttributeValue::N("12345678901234567890".into()),
          AttributeValue::M(HashMap::from([(
            "b".to_string(),
            AttributeValue::Ss(vec!["x".into()]),
          )])),
        ]),
      )]),
      HashMap::from([
        ("__proto__".to_string(), AttributeValue::Bool(true)),
        ("bin".to_string(), AttributeValue::B(Blob::new(vec![9]))),
      ]),
    ];
    let p = JsonPage::new(&items, ReadRules::default());
    assert_eq!(p.count, 2);
    let v: serde_json::Value = serde_json::from_slice(&p.json).unwrap();
    assert_eq!(
      v[0],
      serde_json::json!({"a\"": [1.5, 7.0, null, {"b": null}]})
    );
    assert_eq!(v[1], serde_json::json!({"__proto__": true, "bin": null}));
    assert_eq!(
      &p.json[p.spans[0] as usize..p.spans[1] as usize],
      br#"{"a\"":[1.50,7e0,null,{"b":null}]}"#
    );
    assert_eq!(
      String::from_utf16(&p.patches.text).unwrap(),
      "0;.2:a\"[2;=n12345678901234567890;0;.2:a\"[3;.1:b=$s1:x]1;.3:bin=b0;"
    );
    assert_eq!(p.patches.bins, vec![vec![9]]);
    let text = HashMap::from([("k".to_string(), AttributeValue::S("é😀".into()))]);
    let two = JsonPage::new([&text, &text], ReadRules::default());
    let js: Vec<u16> = String::from_utf8(two.json.clone())
      .unwrap()
      .encode_utf16()
      .collect();
    let second = &js[two.spans[2] as usize..two.spans[3] as usize];
    assert_eq!(String::from_utf16(second).unwrap(), r#"{"k":"é😀"}"#);
    let wrapped = JsonPage::new(&items[..1], ReadRules { wrap_numbers: true });
    assert_eq!(
      String::from_utf16(&wrapped.patches.text).unwrap(),
      "0;.2:a\"[0;=n1.50;0;.2:a\"[1;=n+7;0;.2:a\"[2;=n12345678901234567890;0;.2:a\"[3;.1:b=$s1:x]"
    );
    for (t, ok) in [
      ("0", true),
      ("-0", true),
      ("1.5e-3", true),
      ("007", false),
      (".5", false),
      ("1.", false),
      ("+1", false),
      ("1e", false),
    ] {
      assert_eq!(json_number(t.as_bytes()), ok, "{t}");
    }
  }

  #[test]
  fn every_type() {
    let item = HashMap::from([(
      "l".to_string(),
      AttributeValue::L(vec![
        AttributeValue::S("é😀".into()),
        AttributeValue::Bool(true),
        AttributeValue::Null(true),
        AttributeValue::B(Blob::new(vec![1, 2])),
        AttributeValue::Ss(vec!["x".into()]),
        AttributeValue::Ns(vec!["1.5".into()]),
        AttributeValue::Bs(vec![Blob::new(vec![3])]),
        AttributeValue::M(HashMap::from([(
          "__proto__".to_string(),
          AttributeValue::Bool(false),
        )])),
      ]),
    )]);
    let w = encode(&item, ReadRules::default());
    assert_eq!(
      String::from_utf16(&w.text).unwrap(),
      "{1:l[s3:é😀Tzb0;$s1:x]#d1.5;]%b1;]{9:__proto__F}]}"
    );
    assert_eq!(w.bins, vec![vec![1, 2], vec![3]]);
  }
}
