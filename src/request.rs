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

/// How items are read: consistency, and which attributes come back (a ProjectionExpression over
/// placeholders, so any top-level name works, reserved words and dots included).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ReadShape {
  pub consistent: bool,
  /// `#proj0,#proj1…`
  pub projection: Option<String>,
  /// Every ExpressionAttributeName of the request: the caller's (a filter's) and the projection's.
  pub names: Vec<(String, String)>,
}

impl ReadShape {
  /// `attrs`: the top-level attributes to return (each once), or None for whole items. `names`: the caller's
  /// ExpressionAttributeNames; the projection's placeholders are chosen not to collide with them.
  pub fn new(consistent: bool, attrs: Option<&[String]>, mut names: Vec<(String, String)>) -> Self {
    let projection = attrs.map(|attrs| {
      let mut prefix = String::from("#proj");
      while names.iter().any(|(k, _)| k.starts_with(&prefix)) {
        prefix.push('_');
      }
      let mut seen: Vec<&str> = Vec::with_capacity(attrs.len());
      let mut expr = String::new();
      for a in attrs {
        if seen.contains(&a.as_str()) {
          continue;
        }
        let placeholder = format!("{prefix}{}", seen.len());
        if !expr.is_empty() {
          expr.push(',');
        }
        expr.push_str(&placeholder);
        names.push((placeholder, a.clone()));
        seen.push(a);
      }
      expr
    });
    ReadShape {
      consistent,
      projection,
      names,
    }
  }

  fn write(&self, o: &mut Obj<'_>) {
    if self.consistent {
      o.bool("ConsistentRead", true);
    }
    if let Some(p) = &self.projection {
      o.str("ProjectionExpression", p);
    }
    if !self.names.is_empty() {
      string_map_into(o.field("ExpressionAttributeNames"), &self.names);
    }
  }
}

/// The overhead of a BatchGetItem body around its keys, and what each key adds around its JSON.
pub const GET_OVERHEAD: usize = 256;
pub const KEY_OVERHEAD: usize = 1;

/// `{"RequestItems":{"<table>":{"Keys":[…],"ConsistentRead":…,"ProjectionExpression":…}},…}`.
pub fn batch_get<'a>(
  table: &str,
  keys: impl Iterator<Item = &'a [u8]>,
  shape: &ReadShape,
  capacity: usize,
) -> Vec<u8> {
  let mut out = Vec::with_capacity(capacity + GET_OVERHEAD + table.len());
  let mut top = Obj::new(&mut out);
  let mut items = Obj::new(top.field("RequestItems"));
  let mut ka = Obj::new(items.field(table));
  let list = ka.field("Keys");
  list.push(b'[');
  for (i, key) in keys.enumerate() {
    if i > 0 {
      list.push(b',');
    }
    list.extend_from_slice(key);
  }
  list.push(b']');
  shape.write(&mut ka);
  ka.end();
  items.end();
  top.str("ReturnConsumedCapacity", "TOTAL");
  top.end();
  out
}

/// One page of a Scan.
#[derive(Clone, Copy, Debug)]
pub struct ScanPage<'a> {
  pub table: &'a str,
  /// (segment, total segments); no Segment/TotalSegments is sent for a scan of one segment.
  pub segment: (u32, u32),
  pub limit: Option<u32>,
  /// The previous page's LastEvaluatedKey, as DynamoDB JSON.
  pub start_key: Option<&'a [u8]>,
  pub shape: &'a ReadShape,
  pub filter: Option<&'a str>,
  /// DynamoDB JSON of the filter's ExpressionAttributeValues.
  pub values: Option<&'a [u8]>,
}

pub fn scan(p: &ScanPage<'_>) -> Vec<u8> {
  let mut out = Vec::with_capacity(256);
  let mut o = Obj::new(&mut out);
  o.str("TableName", p.table);
  if p.segment.1 > 1 {
    o.num("Segment", p.segment.0 as u64);
    o.num("TotalSegments", p.segment.1 as u64);
  }
  if let Some(l) = p.limit {
    o.num("Limit", l as u64);
  }
  if let Some(k) = p.start_key {
    o.raw("ExclusiveStartKey", k);
  }
  if let Some(f) = p.filter {
    o.str("FilterExpression", f);
  }
  p.shape.write(&mut o);
  if let Some(v) = p.values {
    o.raw("ExpressionAttributeValues", v);
  }
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

  #[test]
  fn projections_use_placeholders_that_do_not_collide() {
    let attrs: Vec<String> = ["name", "a.b", "name", "pk"]
      .iter()
      .map(|s| s.to_string())
      .collect();
    let shape = ReadShape::new(false, Some(&attrs), vec![("#proj1".into(), "x".into())]);
    assert_eq!(shape.projection.as_deref(), Some("#proj_0,#proj_1,#proj_2"));
    assert_eq!(
      shape.names,
      vec![
        ("#proj1".to_string(), "x".to_string()),
        ("#proj_0".into(), "name".into()),
        ("#proj_1".into(), "a.b".into()),
        ("#proj_2".into(), "pk".into())
      ]
    );
    assert_eq!(ReadShape::new(true, None, vec![]).projection, None);
  }

  #[test]
  fn batch_get_body() {
    let shape = ReadShape::new(true, Some(&["v".to_string()]), vec![]);
    let keys: [&[u8]; 2] = [br#"{"pk":{"S":"a"}}"#, br#"{"pk":{"N":"1.50"}}"#];
    let body = batch_get("t\"1", keys.into_iter(), &shape, 64);
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
      v,
      json!({"RequestItems": {"t\"1": {"Keys": [{"pk": {"S": "a"}}, {"pk": {"N": "1.50"}}],
        "ConsistentRead": true, "ProjectionExpression": "#proj0", "ExpressionAttributeNames": {"#proj0": "v"}}},
        "ReturnConsumedCapacity": "TOTAL"})
    );
    assert!(std::str::from_utf8(&body)
      .unwrap()
      .contains(r#"{"N":"1.50"}"#));
  }

  #[test]
  fn scan_bodies() {
    let shape = ReadShape::new(false, None, vec![("#s".into(), "status".into())]);
    let page = ScanPage {
      table: "t",
      segment: (3, 8),
      limit: Some(100),
      start_key: Some(br#"{"pk":{"S":"k"}}"#),
      shape: &shape,
      filter: Some("#s = :s"),
      values: Some(br#"{":s":{"S":"on"}}"#),
    };
    let v: serde_json::Value = serde_json::from_slice(&scan(&page)).unwrap();
    assert_eq!(
      v,
      json!({"TableName": "t", "Segment": 3, "TotalSegments": 8, "Limit": 100,
        "ExclusiveStartKey": {"pk": {"S": "k"}}, "FilterExpression": "#s = :s",
        "ExpressionAttributeNames": {"#s": "status"}, "ExpressionAttributeValues": {":s": {"S": "on"}},
        "ReturnConsumedCapacity": "TOTAL"})
    );
    let plain = ScanPage {
      segment: (0, 1),
      limit: None,
      start_key: None,
      filter: None,
      values: None,
      shape: &ReadShape::default(),
      ..page
    };
    let v: serde_json::Value = serde_json::from_slice(&scan(&plain)).unwrap();
    assert_eq!(
      v,
      json!({"TableName": "t", "ReturnConsumedCapacity": "TOTAL"})
    );
  }
}
