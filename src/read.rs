//! Items read back from DynamoDB, encoded for the JS decoder (`lib/codec.js`'s `decodeItem`). The read rules
//! are decided here: a number becomes a JS number only when that is exact (`number::reads_as_js_number`),
//! or never with `wrapNumbers`; B becomes a Buffer (passed beside the text), Sets become Sets.
//!
//! Grammar (UTF-16 units): `s<len>:<units>` S · `d<text>;` N as a JS number · `n<text>;` N as a NumberValue ·
//! `T` `F` BOOL · `z` NULL · `b<index>;` B · `{(<len>:<name> value)*}` M · `[value*]` L · `$`/`#`/`%` members
//! `]` SS/NS/BS.

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
