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

/// The kind of one action of a TransactWriteItems request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TransactOp {
  Put,
  Delete,
  Update,
  ConditionCheck,
}

impl TransactOp {
  /// The name of the action in dynabatch's API (`actions[3].put`).
  pub fn as_str(self) -> &'static str {
    match self {
      TransactOp::Put => "put",
      TransactOp::Delete => "delete",
      TransactOp::Update => "update",
      TransactOp::ConditionCheck => "conditionCheck",
    }
  }
  fn wire(self) -> &'static str {
    match self {
      TransactOp::Put => "Put",
      TransactOp::Delete => "Delete",
      TransactOp::Update => "Update",
      TransactOp::ConditionCheck => "ConditionCheck",
    }
  }
}

/// One action of a TransactWriteItems body: its item (put) or key (the others), already judged.
#[derive(Clone, Copy)]
pub struct TransactEntry<'a> {
  pub op: TransactOp,
  pub table: &'a str,
  pub json: &'a [u8],
  pub update: Option<&'a str>,
  pub cond: &'a Condition,
}

/// `{"TransactItems":[{"Put":{"TableName":…,"Item":…,…}},…],"ClientRequestToken":…,…}`.
/// `return_old`: ask for the item of an action whose condition failed (ALL_OLD).
pub fn transact_write<'a>(
  entries: impl Iterator<Item = TransactEntry<'a>>,
  token: &str,
  return_old: bool,
) -> Vec<u8> {
  let mut out = Vec::with_capacity(256);
  let mut o = Obj::new(&mut out);
  let list = o.field("TransactItems");
  list.push(b'[');
  for (i, e) in entries.enumerate() {
    if i > 0 {
      list.push(b',');
    }
    let mut action = Obj::new(list);
    let mut a = Obj::new(action.field(e.op.wire()));
    a.str("TableName", e.table);
    a.raw(
      if e.op == TransactOp::Put {
        "Item"
      } else {
        "Key"
      },
      e.json,
    );
    if let Some(u) = e.update {
      a.str("UpdateExpression", u);
    }
    e.cond.write(&mut a);
    if return_old {
      a.str("ReturnValuesOnConditionCheckFailure", "ALL_OLD");
    }
    a.end();
    action.end();
  }
  list.push(b']');
  o.str("ClientRequestToken", token);
  o.str("ReturnConsumedCapacity", "TOTAL");
  o.end();
  out
}

/// `{"TransactItems":[{"Get":{"TableName":…,"Key":…,"ProjectionExpression":"#p0,#p1",…}}…],…}`: a
/// projection's names are sent as placeholders, so any attribute name can be asked for.
pub fn transact_get<'a>(
  entries: impl Iterator<Item = (&'a str, &'a [u8], Option<&'a [String]>)>,
) -> Vec<u8> {
  let mut out = Vec::with_capacity(256);
  let mut o = Obj::new(&mut out);
  let list = o.field("TransactItems");
  list.push(b'[');
  for (i, (table, key, projection)) in entries.enumerate() {
    if i > 0 {
      list.push(b',');
    }
    let mut get = Obj::new(list);
    let mut g = Obj::new(get.field("Get"));
    g.str("TableName", table);
    g.raw("Key", key);
    if let Some(names) = projection {
      let placeholders: Vec<String> = (0..names.len()).map(|n| format!("#p{n}")).collect();
      g.str("ProjectionExpression", &placeholders.join(","));
      let map: Vec<(String, String)> = placeholders
        .into_iter()
        .zip(names.iter().cloned())
        .collect();
      string_map_into(g.field("ExpressionAttributeNames"), &map);
    }
    g.end();
    get.end();
  }
  list.push(b']');
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

  #[test]
  fn transaction_bodies() {
    let cond = Condition {
      expression: Some("#v < :v".into()),
      names: Some(vec![("#v".into(), "v".into())]),
      values: Some(br#"{":v":{"N":"3"}}"#.to_vec()),
    };
    let none = Condition::default();
    let entries = [
      TransactEntry {
        op: TransactOp::Put,
        table: "a",
        json: br#"{"pk":{"S":"1"},"n":{"N":"1.50"}}"#,
        update: None,
        cond: &cond,
      },
      TransactEntry {
        op: TransactOp::Update,
        table: "b",
        json: br#"{"pk":{"S":"2"}}"#,
        update: Some("SET #v = :v"),
        cond: &cond,
      },
      TransactEntry {
        op: TransactOp::Delete,
        table: "a",
        json: br#"{"pk":{"S":"3"}}"#,
        update: None,
        cond: &none,
      },
      TransactEntry {
        op: TransactOp::ConditionCheck,
        table: "b",
        json: br#"{"pk":{"S":"4"}}"#,
        update: None,
        cond: &cond,
      },
    ];
    let body = transact_write(entries.into_iter(), "tok-1", true);
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    let old = "ALL_OLD";
    assert_eq!(
      v,
      json!({"TransactItems": [
        {"Put": {"TableName": "a", "Item": {"pk": {"S": "1"}, "n": {"N": "1.50"}}, "ConditionExpression": "#v < :v",
          "ExpressionAttributeNames": {"#v": "v"}, "ExpressionAttributeValues": {":v": {"N": "3"}},
          "ReturnValuesOnConditionCheckFailure": old}},
        {"Update": {"TableName": "b", "Key": {"pk": {"S": "2"}}, "UpdateExpression": "SET #v = :v",
          "ConditionExpression": "#v < :v", "ExpressionAttributeNames": {"#v": "v"},
          "ExpressionAttributeValues": {":v": {"N": "3"}}, "ReturnValuesOnConditionCheckFailure": old}},
        {"Delete": {"TableName": "a", "Key": {"pk": {"S": "3"}}, "ReturnValuesOnConditionCheckFailure": old}},
        {"ConditionCheck": {"TableName": "b", "Key": {"pk": {"S": "4"}}, "ConditionExpression": "#v < :v",
          "ExpressionAttributeNames": {"#v": "v"}, "ExpressionAttributeValues": {":v": {"N": "3"}},
          "ReturnValuesOnConditionCheckFailure": old}}
      ], "ClientRequestToken": "tok-1", "ReturnConsumedCapacity": "TOTAL"})
    );
    assert!(std::str::from_utf8(&body)
      .unwrap()
      .contains(r#"{"N":"1.50"}"#));
    let plain = transact_write(entries[2..3].iter().copied(), "t", false);
    assert!(!std::str::from_utf8(&plain)
      .unwrap()
      .contains("ReturnValues"));

    let names = ["a.b".to_string(), "#x".to_string()];
    let body = transact_get(
      [
        ("t\"1", &br#"{"pk":{"S":"1"}}"#[..], Some(&names[..])),
        ("t2", &br#"{"pk":{"N":"2"}}"#[..], None),
      ]
      .into_iter(),
    );
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
      v,
      json!({"TransactItems": [
        {"Get": {"TableName": "t\"1", "Key": {"pk": {"S": "1"}}, "ProjectionExpression": "#p0,#p1",
          "ExpressionAttributeNames": {"#p0": "a.b", "#p1": "#x"}}},
        {"Get": {"TableName": "t2", "Key": {"pk": {"N": "2"}}}}
      ], "ReturnConsumedCapacity": "TOTAL"})
    );
  }
}
