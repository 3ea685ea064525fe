//! Writing JSON: the escaping of strings and the base64 of binaries that every request body uses, and the
//! bodies of the requests dynabatch writes itself (the SDK still signs and sends them; see `dynamo.rs`).
//!
//! One escaping rule: `"` `\` and the control characters are escaped, everything else is written as its
//! UTF-8 bytes. It is deterministic, so two equal strings always have the same escaped bytes (keys are
//! compared in this form).

/// Appends `s` as the inside of a JSON string (no quotes).
pub fn escape_into(out: &mut Vec<u8>, s: &str) {
  let bytes = s.as_bytes();
  let mut start = 0;
  for (i, &b) in bytes.iter().enumerate() {
    if b >= 0x20 && b != b'"' && b != b'\\' {
      continue;
    }
    out.extend_from_slice(&bytes[start..i]);
    push_escape(out, b);
    start = i + 1;
  }
  out.extend_from_slice(&bytes[start..]);
}

/// The escape of one ASCII byte that JSON does not allow raw in a string.
pub fn push_escape(out: &mut Vec<u8>, b: u8) {
  match b {
    b'"' => out.extend_from_slice(b"\\\""),
    b'\\' => out.extend_from_slice(b"\\\\"),
    b'\n' => out.extend_from_slice(b"\\n"),
    b'\r' => out.extend_from_slice(b"\\r"),
    b'\t' => out.extend_from_slice(b"\\t"),
    0x08 => out.extend_from_slice(b"\\b"),
    0x0c => out.extend_from_slice(b"\\f"),
    c => {
      const HEX: &[u8; 16] = b"0123456789abcdef";
      out.extend_from_slice(b"\\u00");
      out.push(HEX[(c >> 4) as usize]);
      out.push(HEX[(c & 15) as usize]);
    }
  }
}

/// Appends `"s"`.
pub fn string_into(out: &mut Vec<u8>, s: &str) {
  out.push(b'"');
  escape_into(out, s);
  out.push(b'"');
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Appends the standard (padded) base64 of `data`, the form DynamoDB's JSON protocol uses for B.
pub fn base64_into(out: &mut Vec<u8>, data: &[u8]) {
  out.reserve(data.len().div_ceil(3) * 4);
  let mut chunks = data.chunks_exact(3);
  for c in &mut chunks {
    let n = (c[0] as u32) << 16 | (c[1] as u32) << 8 | c[2] as u32;
    out.extend_from_slice(&[
      B64[(n >> 18) as usize & 63],
      B64[(n >> 12) as usize & 63],
      B64[(n >> 6) as usize & 63],
      B64[n as usize & 63],
    ]);
  }
  match chunks.remainder() {
    [a] => {
      let n = (*a as u32) << 16;
      out.extend_from_slice(&[
        B64[(n >> 18) as usize & 63],
        B64[(n >> 12) as usize & 63],
        b'=',
        b'=',
      ]);
    }
    [a, b] => {
      let n = (*a as u32) << 16 | (*b as u32) << 8;
      out.extend_from_slice(&[
        B64[(n >> 18) as usize & 63],
        B64[(n >> 12) as usize & 63],
        B64[(n >> 6) as usize & 63],
        b'=',
      ]);
    }
    _ => {}
  }
}

/// A JSON object written field by field: `{"a":…,"b":…}`.
pub struct Obj<'a> {
  out: &'a mut Vec<u8>,
  first: bool,
}

impl<'a> Obj<'a> {
  pub fn new(out: &'a mut Vec<u8>) -> Self {
    out.push(b'{');
    Obj { out, first: true }
  }
  /// Writes the field name and returns the buffer for its value.
  pub fn field(&mut self, name: &str) -> &mut Vec<u8> {
    if !self.first {
      self.out.push(b',');
    }
    self.first = false;
    string_into(self.out, name);
    self.out.push(b':');
    self.out
  }
  pub fn str(&mut self, name: &str, value: &str) {
    let out = self.field(name);
    string_into(out, value);
  }
  /// A field whose value is already JSON.
  pub fn raw(&mut self, name: &str, json: &[u8]) {
    self.field(name).extend_from_slice(json);
  }
  pub fn bool(&mut self, name: &str, v: bool) {
    self
      .field(name)
      .extend_from_slice(if v { b"true" } else { b"false" });
  }
  pub fn num(&mut self, name: &str, v: u64) {
    self.field(name).extend_from_slice(v.to_string().as_bytes());
  }
  pub fn end(self) {
    self.out.push(b'}');
  }
  /// `{"name":<value>}`, the value written by `value`.
  pub fn single(out: &mut Vec<u8>, name: &str, value: impl FnOnce(&mut Vec<u8>)) {
    let mut o = Obj::new(out);
    value(o.field(name));
    o.end();
  }
}

/// Appends an item (or key) DynamoDB returned as DynamoDB JSON, e.g. a Scan's LastEvaluatedKey sent back
/// as the next page's ExclusiveStartKey. False when it holds a type this SDK version does not know.
pub fn av_map_into(out: &mut Vec<u8>, m: &crate::read::AvMap) -> bool {
  let mut o = Obj::new(out);
  for (k, v) in m {
    if !av_into(o.field(k), v) {
      return false;
    }
  }
  o.end();
  true
}

fn av_into(out: &mut Vec<u8>, v: &aws_sdk_dynamodb::types::AttributeValue) -> bool {
  use aws_sdk_dynamodb::types::AttributeValue as Av;
  let list = |out: &mut Vec<u8>, tag: &str, n: usize, each: &mut dyn FnMut(&mut Vec<u8>, usize)| {
    let mut o = Obj::new(out);
    let l = o.field(tag);
    l.push(b'[');
    for i in 0..n {
      if i > 0 {
        l.push(b',');
      }
      each(l, i);
    }
    l.push(b']');
    o.end();
  };
  let mut ok = true;
  match v {
    Av::S(s) => Obj::single(out, "S", |o| string_into(o, s)),
    Av::N(n) => Obj::single(out, "N", |o| string_into(o, n)),
    Av::B(b) => Obj::single(out, "B", |o| {
      o.push(b'"');
      base64_into(o, b.as_ref());
      o.push(b'"');
    }),
    Av::Bool(b) => Obj::single(out, "BOOL", |o| {
      o.extend_from_slice(if *b { b"true" } else { b"false" })
    }),
    Av::Null(_) => Obj::single(out, "NULL", |o| o.extend_from_slice(b"true")),
    Av::M(m) => Obj::single(out, "M", |o| ok = av_map_into(o, m)),
    Av::L(l) => list(out, "L", l.len(), &mut |o, i| ok &= av_into(o, &l[i])),
    Av::Ss(l) => list(out, "SS", l.len(), &mut |o, i| string_into(o, &l[i])),
    Av::Ns(l) => list(out, "NS", l.len(), &mut |o, i| string_into(o, &l[i])),
    Av::Bs(l) => list(out, "BS", l.len(), &mut |o, i| {
      o.push(b'"');
      base64_into(o, l[i].as_ref());
      o.push(b'"');
    }),
    _ => return false,
  }
  ok
}

/// `{"k":"v",…}` for a map of strings (ExpressionAttributeNames).
pub fn string_map_into(out: &mut Vec<u8>, map: &[(String, String)]) {
  let mut o = Obj::new(out);
  for (k, v) in map {
    o.str(k, v);
  }
  o.end();
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn escapes_what_json_requires_and_nothing_else() {
    let s = "a\"b\\c\n\r\t\u{8}\u{c}\u{1}\u{1f}\u{7f}é😀/";
    let mut out = Vec::new();
    string_into(&mut out, s);
    assert_eq!(
      std::str::from_utf8(&out).unwrap(),
      "\"a\\\"b\\\\c\\n\\r\\t\\b\\f\\u0001\\u001f\u{7f}é😀/\""
    );
    let back: String = serde_json::from_slice(&out).unwrap();
    assert_eq!(back, s);
    for c in 0u32..0x80 {
      let s = char::from_u32(c).unwrap().to_string();
      let mut out = Vec::new();
      string_into(&mut out, &s);
      assert_eq!(serde_json::from_slice::<String>(&out).unwrap(), s, "{c}");
    }
  }

  #[test]
  fn base64_is_standard_and_padded() {
    let cases: [(&[u8], &str); 6] = [
      (b"", ""),
      (b"f", "Zg=="),
      (b"fo", "Zm8="),
      (b"foo", "Zm9v"),
      (b"foob", "Zm9vYg=="),
      (&[0xfb, 0xff, 0xfe], "+//+"),
    ];
    for (data, want) in cases {
      let mut out = Vec::new();
      base64_into(&mut out, data);
      assert_eq!(std::str::from_utf8(&out).unwrap(), want);
    }
  }

  #[test]
  fn items_read_back_are_written_as_dynamodb_json() {
    use aws_sdk_dynamodb::primitives::Blob;
    use aws_sdk_dynamodb::types::AttributeValue as Av;
    let m = crate::read::AvMap::from([(
      "k\"".to_string(),
      Av::L(vec![
        Av::S("a\n".into()),
        Av::N("1.50".into()),
        Av::B(Blob::new(vec![0, 255])),
        Av::Bool(false),
        Av::Null(true),
        Av::M(crate::read::AvMap::from([(
          "x".to_string(),
          Av::Ss(vec!["s".into()]),
        )])),
        Av::Ns(vec!["1".into(), "2".into()]),
        Av::Bs(vec![Blob::new(vec![1])]),
      ]),
    )]);
    let mut out = Vec::new();
    assert!(av_map_into(&mut out, &m));
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(
      v,
      serde_json::json!({"k\"": {"L": [{"S": "a\n"}, {"N": "1.50"}, {"B": "AP8="}, {"BOOL": false}, {"NULL": true},
        {"M": {"x": {"SS": ["s"]}}}, {"NS": ["1", "2"]}, {"BS": ["AQ=="]}]}})
    );
  }

  #[test]
  fn objects() {
    let mut out = Vec::new();
    let mut o = Obj::new(&mut out);
    o.str("TableName", "t\"1");
    o.raw("Item", b"{}");
    o.bool("ConsistentRead", true);
    o.num("Limit", 25);
    o.end();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v["TableName"], "t\"1");
    assert_eq!(v["Limit"], 25);
    let mut out = Vec::new();
    string_map_into(&mut out, &[("#n".into(), "name".into())]);
    assert_eq!(out, br##"{"#n":"name"}"##);
  }
}
