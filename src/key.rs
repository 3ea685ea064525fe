//! Keys, once: a table's key schema, the key checks (presence, type, empty values, length limits), the
//! projection of a whole item onto its key, and the one normalized form of a key that per-key ordering,
//! duplicate detection, UnprocessedItems/UnprocessedKeys matching and sharding all use. Numbers in keys
//! are compared by value (`7`, `7.0` and `0.7E1` are one key, as in DynamoDB), binaries by their bytes.

use crate::item::{attr_path, Encoded, ItemError, Tag};
use crate::json::{base64_into, escape_into};
use crate::number;
use aws_sdk_dynamodb::types::AttributeValue;
use std::collections::HashMap;
use std::fmt::Write as _;

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
  /// The name as it stands, escaped, in an item's JSON.
  escaped: Vec<u8>,
}

impl KeyAttr {
  pub fn new(name: impl Into<String>, ty: KeyType) -> Self {
    let name = name.into();
    let mut escaped = Vec::with_capacity(name.len());
    escape_into(&mut escaped, &name);
    KeyAttr { name, ty, escaped }
  }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeySchema {
  pub partition: KeyAttr,
  pub sort: Option<KeyAttr>,
}

/// A key in its one normalized form: for each key attribute, a type byte, a length and the value (a
/// string's escaped UTF-8, a number's canonical form, a binary's base64).
pub type NormKey = Vec<u8>;

impl KeySchema {
  pub fn new(partition: KeyAttr, sort: Option<KeyAttr>) -> Self {
    KeySchema { partition, sort }
  }

  pub fn attrs(&self) -> impl Iterator<Item = (&KeyAttr, usize, &'static str)> {
    std::iter::once((&self.partition, MAX_PARTITION_KEY_BYTES, "partition"))
      .chain(self.sort.iter().map(|s| (s, MAX_SORT_KEY_BYTES, "sort")))
  }

  pub fn describe(&self) -> String {
    let mut s = String::new();
    for (i, (a, _, _)) in self.attrs().enumerate() {
      if i > 0 {
        s.push_str(", ");
      }
      s.push_str(&a.name);
      if a.ty != KeyType::Any {
        let _ = write!(s, " {}", a.ty.as_str());
      }
    }
    s
  }

  /// Checks an encoded item's (or key's) key attributes and returns its normalized key.
  pub fn check(&self, e: &Encoded, root: &str) -> Result<NormKey, ItemError> {
    // Sized once: a number's canonical form is at most its text plus a few bytes.
    let cap: usize = self
      .attrs()
      .filter_map(|(a, _, _)| e.attr(&a.escaped))
      .map(|a| 5 + (a.payload.1 - a.payload.0) as usize + 8)
      .sum();
    let mut key = Vec::with_capacity(cap);
    for (attr, limit, which) in self.attrs() {
      let err = |rule: String| ItemError {
        path: attr_path(root, &attr.name),
        rule,
      };
      let Some(a) = e.attr(&attr.escaped) else {
        return Err(err(format!(
          "missing key attribute (table key schema: {})",
          self.describe()
        )));
      };
      let ok = matches!(
        (attr.ty, a.tag),
        (KeyType::S | KeyType::Any, Tag::S)
          | (KeyType::N | KeyType::Any, Tag::N)
          | (KeyType::B | KeyType::Any, Tag::B)
      );
      if !ok {
        return Err(err(format!(
          "key attribute must be of type {}, got {}",
          attr.ty.as_str(),
          a.tag.as_str()
        )));
      }
      let len = a.raw_len as usize;
      if len == 0 && a.tag != Tag::N {
        let what = if a.tag == Tag::S { "string" } else { "binary" };
        return Err(err(format!("key attribute must not be an empty {what}")));
      }
      if len > limit && a.tag != Tag::N {
        return Err(err(format!(
          "{which} key value is {len} bytes; DynamoDB allows at most {limit}"
        )));
      }
      let payload = e.slice(a.payload);
      match a.tag {
        Tag::N => {
          let p = number::parse(payload).map_err(err)?;
          key.push(b'n');
          let at = key.len();
          key.extend_from_slice(&[0; 4]);
          number::canonical(&p, &mut key);
          let len = (key.len() - at - 4) as u32;
          key[at..at + 4].copy_from_slice(&len.to_le_bytes());
        }
        Tag::S => push_part(&mut key, b's', payload),
        _ => push_part(&mut key, b'b', payload),
      }
    }
    Ok(key)
  }

  /// The JSON of the key alone (a delete accepts a whole item; DynamoDB wants the key).
  pub fn project(&self, e: &Encoded) -> Vec<u8> {
    let mut out = Vec::with_capacity(64);
    out.push(b'{');
    for (i, (attr, _, _)) in self.attrs().enumerate() {
      if let Some(a) = e.attr(&attr.escaped) {
        if i > 0 {
          out.push(b',');
        }
        out.push(b'"');
        out.extend_from_slice(e.slice(a.name));
        out.extend_from_slice(b"\":");
        out.extend_from_slice(e.slice(a.value));
      }
    }
    out.push(b'}');
    out
  }

  /// The normalized key of an item DynamoDB sent back (UnprocessedItems, UnprocessedKeys, read items), or
  /// None when it has no valid key: the caller must then not take the entry for any operation's.
  pub fn key_of(&self, item: &HashMap<String, AttributeValue>) -> Option<NormKey> {
    let mut key = Vec::with_capacity(32);
    let mut buf = Vec::new();
    for (attr, _, _) in self.attrs() {
      buf.clear();
      match item.get(&attr.name)? {
        AttributeValue::S(s) => {
          escape_into(&mut buf, s);
          push_part(&mut key, b's', &buf);
        }
        AttributeValue::N(n) => {
          let p = number::parse(n.as_bytes()).ok()?;
          number::canonical(&p, &mut buf);
          push_part(&mut key, b'n', &buf);
        }
        AttributeValue::B(b) => {
          base64_into(&mut buf, b.as_ref());
          push_part(&mut key, b'b', &buf);
        }
        _ => return None,
      }
    }
    Some(key)
  }
}

fn push_part(out: &mut Vec<u8>, tag: u8, bytes: &[u8]) {
  out.push(tag);
  out.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
  out.extend_from_slice(bytes);
}

/// FNV-1a (64 bits) of a normalized key: stable across processes, machines and versions.
pub fn hash(key: &[u8]) -> u64 {
  let mut h: u64 = 0xcbf29ce484222325;
  for &b in key {
    h ^= b as u64;
    h = h.wrapping_mul(0x100000001b3);
  }
  h
}

/// The shard (0..count) a normalized key belongs to: its hash modulo `count`, so N processes given
/// `index`/`count` split keys disjointly.
pub fn shard_of(key: &[u8], count: u32) -> u32 {
  (hash(key) % count.max(1) as u64) as u32
}

#[cfg(test)]
mod tests {
  use super::*;
  use crate::item::{encode, Rules};
  use aws_sdk_dynamodb::primitives::Blob;

  fn enc(w: &str, bins: &[Vec<u8>]) -> Encoded {
    let units: Vec<u16> = w.encode_utf16().collect();
    encode(&units, bins, "item", Rules::default(), true).unwrap()
  }

  fn schema() -> KeySchema {
    KeySchema::new(
      KeyAttr::new("pk", KeyType::S),
      Some(KeyAttr::new("sk", KeyType::N)),
    )
  }

  #[test]
  fn checks_name_the_path_and_the_rule() {
    let s = schema();
    let e = |w: &str| s.check(&enc(w, &[]), "item").unwrap_err().message();
    assert_eq!(
      e("{2:pks1:a}"),
      "item.sk: missing key attribute (table key schema: pk S, sk N)"
    );
    assert_eq!(
      e("{2:pks1:a2:sks1:1}"),
      "item.sk: key attribute must be of type N, got S"
    );
    assert_eq!(
      e("{2:pks0:2:skn1;}"),
      "item.pk: key attribute must not be an empty string"
    );
    let long = format!("{{2:pks2049:{}2:skn1;}}", "x".repeat(2049));
    assert_eq!(
      e(&long),
      "item.pk: partition key value is 2049 bytes; DynamoDB allows at most 2048"
    );
    let ok = format!("{{2:pks2048:{}2:skn1;}}", "x".repeat(2048));
    assert!(s.check(&enc(&ok, &[]), "item").is_ok());
    let by_name = KeySchema::new(KeyAttr::new("pk", KeyType::Any), None);
    assert!(by_name.check(&enc("{2:pkb0;}", &[vec![1]]), "item").is_ok());
    assert_eq!(
      by_name
        .check(&enc("{2:pkT}", &[]), "item")
        .unwrap_err()
        .message(),
      "item.pk: key attribute must be of type S, N or B, got BOOL"
    );
  }

  #[test]
  fn numbers_in_keys_compare_by_value_and_match_returned_entries() {
    let s = schema();
    let a = s.check(&enc("{2:pks1:a2:skd7;}", &[]), "item").unwrap();
    let b = s.check(&enc("{2:skn7.0;2:pks1:a}", &[]), "item").unwrap();
    let c = s.check(&enc("{2:pks1:a2:skn0.7E1;}", &[]), "item").unwrap();
    assert_eq!(a, b);
    assert_eq!(a, c);
    let returned = HashMap::from([
      ("pk".to_string(), AttributeValue::S("a".into())),
      ("sk".to_string(), AttributeValue::N("7.000".into())),
    ]);
    assert_eq!(s.key_of(&returned).unwrap(), a);
    let hundred = s.check(&enc("{2:pks1:a2:skd100;}", &[]), "item").unwrap();
    let returned = HashMap::from([
      ("pk".to_string(), AttributeValue::S("a".into())),
      ("sk".to_string(), AttributeValue::N("1E+2".into())),
    ]);
    assert_eq!(s.key_of(&returned).unwrap(), hundred);
    let bin = KeySchema::new(KeyAttr::new("k", KeyType::B), None);
    let k = bin
      .check(&enc("{1:kb0;}", &[vec![0, 255, 7]]), "item")
      .unwrap();
    let returned = HashMap::from([(
      "k".to_string(),
      AttributeValue::B(Blob::new(vec![0, 255, 7])),
    )]);
    assert_eq!(bin.key_of(&returned).unwrap(), k);
    let quoted = KeySchema::new(KeyAttr::new("k", KeyType::S), None);
    let k = quoted.check(&enc("{1:ks3:a\"\n}", &[]), "item").unwrap();
    let returned = HashMap::from([("k".to_string(), AttributeValue::S("a\"\n".into()))]);
    assert_eq!(quoted.key_of(&returned).unwrap(), k);
    assert!(s.key_of(&HashMap::new()).is_none());
  }

  #[test]
  fn projection_keeps_only_the_key() {
    let s = schema();
    let e = enc("{1:xT2:skn1;3:tag[s1:a]2:pks2:a\"}", &[]);
    let key = s.project(&e);
    let v: serde_json::Value = serde_json::from_slice(&key).unwrap();
    assert_eq!(v, serde_json::json!({"pk": {"S": "a\""}, "sk": {"N": "1"}}));
  }

  #[test]
  fn shards_are_stable_and_spread() {
    let s = KeySchema::new(KeyAttr::new("pk", KeyType::N), None);
    let mut counts = [0u32; 3];
    for i in 0..3000 {
      let k = s
        .check(&enc(&format!("{{2:pkd{i};}}"), &[]), "item")
        .unwrap();
      counts[shard_of(&k, 3) as usize] += 1;
    }
    assert!(counts.iter().all(|&c| c > 900), "{counts:?}");
    let k = s.check(&enc("{2:pkn7.0;}", &[]), "item").unwrap();
    let k2 = s.check(&enc("{2:pkd7;}", &[]), "item").unwrap();
    assert_eq!(shard_of(&k, 5), shard_of(&k2, 5));
    assert_eq!(shard_of(b"", 1), 0);
  }
}
