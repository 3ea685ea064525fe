//! The JSON bodies of the requests dynabatch writes itself, straight from items' DynamoDB JSON (no
//! `AttributeValue` model, no second serialization). The SDK still resolves the endpoint, signs and sends
//! them (`dynamo.rs` swaps the body in before signing).

use crate::json::{string_into, string_map_into, Obj};

/// An operation's kind in a BatchWriteItem request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OpKind {
  Put,
  Delete,
}

impl OpKind {
  pub fn as_str(self) -> &'static str {
    match self {
      OpKind::Put => "put",
      OpKind::Delete => "delete",
    }
  }
}

/// A condition (putItem/deleteItem): the expression and its names and values, already judged.
#[derive(Clone, Debug, Default)]
pub struct Condition {
  pub expression: Option<String>,
  pub names: Option<Vec<(String, String)>>,
  /// DynamoDB JSON of the values map.
  pub values: Option<Vec<u8>>,
}

impl Condition {
  fn write(&self, o: &mut Obj<'_>) {
    if let Some(e) = &self.expression {
      o.str("ConditionExpression", e);
    }
    if let Some(n) = &self.names {
      string_map_into(o.field("ExpressionAttributeNames"), n);
    }
    if let Some(v) = &self.values {
      o.raw("ExpressionAttributeValues", v);
    }
  }
}

/// The overhead of a BatchWriteItem body around its entries, for sizing requests under 16 MB.
pub const BATCH_OVERHEAD: usize = 128;
/// Bytes an entry adds around its item or key JSON.
pub const ENTRY_OVERHEAD: usize = 32;

/// `{"RequestItems":{"<table>":[{"PutRequest":{"Item":…}},{"DeleteRequest":{"Key":…}}…]},…}`.
pub fn batch_write<'a>(
  table: &str,
  entries: impl Iterator<Item = (OpKind, &'a [u8])>,
  capacity: usize,
) -> Vec<u8> {
  let mut out = Vec::with_capacity(capacity + BATCH_OVERHEAD + table.len());
  out.extend_from_slice(b"{\"RequestItems\":{");
  string_into(&mut out, table);
  out.extend_from_slice(b":[");
  for (i, (kind, json)) in entries.enumerate() {
    if i > 0 {
      out.push(b',');
    }
    out.extend_from_slice(match kind {
      OpKind::Put => b"{\"PutRequest\":{\"Item\":",
      OpKind::Delete => b"{\"DeleteRequest\":{\"Key\":",
    });
    out.extend_from_slice(json);
    out.extend_from_slice(b"}}");
  }
  out.extend_from_slice(b"]},\"ReturnConsumedCapacity\":\"TOTAL\"}");
  out
}

pub fn put_item(table: &str, item: &[u8], cond: &Condition) -> Vec<u8> {
  let mut out = Vec::with_capacity(item.len() + 128);
  let mut o = Obj::new(&mut out);
  o.str("TableName", table);
  o.raw("Item", item);
  cond.write(&mut o);
  o.str("ReturnConsumedCapacity", "TOTAL");
  o.end();
  out
}

pub fn delete_item(table: &str, key: &[u8], cond: &Condition) -> Vec<u8> {
  let mut out = Vec::with_capacity(key.len() + 128);
  let mut o = Obj::new(&mut out);
  o.str("TableName", table);
  o.raw("Key", key);
  cond.write(&mut o);
  o.str("ReturnConsumedCapacity", "TOTAL");
  o.end();
  out
}

pub fn get_item(table: &str, key: &[u8], consistent: bool) -> Vec<u8> {
  let mut out = Vec::with_capacity(key.len() + 96);
  let mut o = Obj::new(&mut out);
  o.str("TableName", table);
  o.raw("Key", key);
  if consistent {
    o.bool("ConsistentRead", true);
  }
  o.str("ReturnConsumedCapacity", "TOTAL");
  o.end();
  out
}

#[cfg(test)]
mod tests {
  use super::*;
  use serde_json::json;

  #[test]
  fn batch_write_body() {
    let body = batch_write(
      "t\"1",
      [
        (OpKind::Put, &br#"{"pk":{"S":"a"},"n":{"N":"1.50"}}"#[..]),
        (OpKind::Delete, &br#"{"pk":{"S":"b"}}"#[..]),
      ]
      .into_iter(),
      64,
    );
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
      v,
      json!({"RequestItems": {"t\"1": [
        {"PutRequest": {"Item": {"pk": {"S": "a"}, "n": {"N": "1.50"}}}},
        {"DeleteRequest": {"Key": {"pk": {"S": "b"}}}}
      ]}, "ReturnConsumedCapacity": "TOTAL"})
    );
    // numbers exactly as given: the text is not re-rendered
    assert!(std::str::from_utf8(&body)
      .unwrap()
      .contains(r#"{"N":"1.50"}"#));
  }

  #[test]
  fn single_item_bodies() {
    let cond = Condition {
      expression: Some("attribute_not_exists(#p) OR #v < :v".into()),
      names: Some(vec![("#p".into(), "pk".into()), ("#v".into(), "v".into())]),
      values: Some(br#"{":v":{"N":"3"}}"#.to_vec()),
    };
    let v: serde_json::Value =
      serde_json::from_slice(&put_item("t", br#"{"pk":{"S":"a"}}"#, &cond)).unwrap();
    assert_eq!(
      v,
      json!({"TableName": "t", "Item": {"pk": {"S": "a"}}, "ConditionExpression": "attribute_not_exists(#p) OR #v < :v",
        "ExpressionAttributeNames": {"#p": "pk", "#v": "v"}, "ExpressionAttributeValues": {":v": {"N": "3"}},
        "ReturnConsumedCapacity": "TOTAL"})
    );
    let v: serde_json::Value = serde_json::from_slice(&delete_item(
      "t",
      br#"{"pk":{"S":"a"}}"#,
      &Condition::default(),
    ))
    .unwrap();
    assert_eq!(
      v,
      json!({"TableName": "t", "Key": {"pk": {"S": "a"}}, "ReturnConsumedCapacity": "TOTAL"})
    );
    let v: serde_json::Value =
      serde_json::from_slice(&get_item("t", br#"{"pk":{"S":"a"}}"#, true)).unwrap();
    assert_eq!(v["ConsistentRead"], true);
  }
}
