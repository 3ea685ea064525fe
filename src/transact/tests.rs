use super::*;
use crate::item::{encode, Rules};
use crate::key::{KeyAttr, KeyType};

fn enc(w: &str) -> Encoded {
  let units: Vec<u16> = w.encode_utf16().collect();
  encode::<&[u8]>(&units, &[], "item", Rules::default(), true).unwrap()
}

fn action(op: TransactOp, table: &str, w: &str) -> WriteAction {
  WriteAction {
    op,
    table: table.into(),
    item: enc(w),
    update: None,
    cond: Condition::default(),
  }
}

fn schemas() -> Schemas {
  HashMap::from([
    (
      "a".to_string(),
      Some(Arc::new(KeySchema::new(
        KeyAttr::new("pk", KeyType::S),
        Some(KeyAttr::new("sk", KeyType::N)),
      ))),
    ),
    (
      "b".to_string(),
      Some(Arc::new(KeySchema::new(
        KeyAttr::new("pk", KeyType::S),
        None,
      ))),
    ),
    ("unknown".to_string(), None),
  ])
}

#[test]
fn counts_follow_dynamodb_limits() {
  assert!(check_count("actions", 1).is_ok());
  assert!(check_count("actions", 100).is_ok());
  let e = check_count("actions", 101).unwrap_err();
  assert_eq!(e.code, error::INVALID_ARGUMENT);
  assert_eq!(
    e.message,
    "actions must be an array of 1 to 100 actions, got 101 actions"
  );
  assert_eq!(
    check_count("gets", 0).unwrap_err().message,
    "gets must be an array of 1 to 100 gets, got 0 gets"
  );
}

#[test]
fn tokens_are_uuids_and_callers_tokens_are_checked() {
  let a = new_token();
  let b = new_token();
  assert_ne!(a, b);
  assert_eq!(a.len(), 36);
  let parts: Vec<&str> = a.split('-').collect();
  assert_eq!(
    parts.iter().map(|p| p.len()).collect::<Vec<_>>(),
    [8, 4, 4, 4, 12]
  );
  assert!(parts[2].starts_with('4'), "{a}");
  assert!("89ab".contains(&parts[3][..1]), "{a}");
  assert!(check_token(&a).is_ok());
  assert!(check_token("x").is_ok());
  assert_eq!(
    check_token(&"x".repeat(37)).unwrap_err().message,
    "clientRequestToken must be a string of 1 to 36 characters, got 37 characters"
  );
}

#[test]
fn two_actions_on_one_item_are_refused_by_normalized_key_within_a_table() {
  let s = schemas();
  // 7 and 7.0 are one key; the same key in another table is another item
  let mut actions = vec![
    action(TransactOp::Put, "a", "{2:pks1:x2:skd7;1:vT}"),
    action(TransactOp::Put, "b", "{2:pks1:x}"),
    action(TransactOp::ConditionCheck, "a", "{2:pks1:x2:skn7.0;}"),
  ];
  let e = plan_writes(&mut actions, &s).unwrap_err();
  assert_eq!(e.code, error::INVALID_ARGUMENT);
  assert_eq!(
    e.message,
    "actions[2].conditionCheck.key: the same item as actions[0] (table \"a\"); DynamoDB refuses two operations on one item in a transaction"
  );
  assert_eq!(e.path.as_deref(), Some("actions[2].conditionCheck.key"));
  let mut gets = [
    GetAction {
      table: "b".into(),
      key: enc("{2:pks1:x}"),
      projection: None,
    },
    GetAction {
      table: "b".into(),
      key: enc("{2:pks1:x}"),
      projection: None,
    },
  ];
  assert_eq!(
    plan_gets(&gets, &s).unwrap_err().message,
    "gets[1].key: the same item as gets[0] (table \"b\"); DynamoDB refuses two operations on one item in a transaction"
  );
  gets[1].table = "a".into();
  let e = plan_gets(&gets, &s).unwrap_err();
  assert_eq!(e.code, error::INVALID_ITEM);
  assert_eq!(
    e.message,
    "gets[1].key.sk: missing key attribute (table key schema: pk S, sk N)"
  );
}

#[test]
fn keys_are_checked_and_projected_items_sent_whole() {
  let s = schemas();
  let mut actions = vec![
    action(TransactOp::Put, "a", "{2:pks1:x2:skd1;3:tag[s1:t]}"),
    action(TransactOp::Delete, "a", "{2:pks1:y2:skd1;5:extraT}"),
    action(TransactOp::Update, "unknown", "{2:pks1:y5:extraT}"),
  ];
  let json = plan_writes(&mut actions, &s).unwrap();
  let v = |b: &[u8]| serde_json::from_slice::<serde_json::Value>(b).unwrap();
  assert_eq!(
    v(&json[0]),
    serde_json::json!({"pk": {"S": "x"}, "sk": {"N": "1"}, "tag": {"L": [{"S": "t"}]}})
  );
  assert_eq!(
    v(&json[1]),
    serde_json::json!({"pk": {"S": "y"}, "sk": {"N": "1"}})
  );
  // no schema known: sent as given, DynamoDB judges it
  assert_eq!(
    v(&json[2]),
    serde_json::json!({"pk": {"S": "y"}, "extra": {"BOOL": true}})
  );
  let mut bad = vec![action(TransactOp::Update, "b", "{2:pkd1;}")];
  let e = plan_writes(&mut bad, &s).unwrap_err();
  assert_eq!(e.code, error::INVALID_ITEM);
  assert_eq!(
    e.message,
    "actions[0].update.key.pk: key attribute must be of type S, got N"
  );
}

#[test]
fn four_megabytes_of_items_and_keys_at_most() {
  let s = schemas();
  // items of exactly 400,000 bytes: "pk" (2) + "kNN" (3) + "d" (1) + 399,994 characters
  let big = |i: usize| format!("{{2:pks3:k{i:02}1:ds399994:{}}}", "x".repeat(399_994));
  let mut actions: Vec<WriteAction> = (0..10)
    .map(|i| action(TransactOp::Put, "b", &big(i)))
    .collect();
  assert_eq!(actions[0].item.size, 400_000);
  // 4,000,000 bytes so far; a delete given a whole item counts its key alone ("pk" + "y": 3 bytes), and a
  // put of 194,301 bytes reaches 4 MB exactly
  actions.push(action(
    TransactOp::Delete,
    "b",
    &format!("{{2:pks1:y5:extras300:{}}}", "z".repeat(300)),
  ));
  let last = |n: usize| format!("{{2:pks3:k101:ds{n}:{}}}", "x".repeat(n));
  actions.push(action(TransactOp::Put, "b", &last(194_295)));
  assert_eq!(actions[11].item.size, 194_301);
  assert!(plan_writes(&mut actions.clone(), &s).is_ok());
  actions[11] = action(TransactOp::Put, "b", &last(194_296));
  let e = plan_writes(&mut actions, &s).unwrap_err();
  assert_eq!(e.code, error::INVALID_ARGUMENT);
  assert_eq!(
    e.message,
    "actions[11].put.item: the transaction's items and keys reach 4194305 bytes here; DynamoDB allows at most 4194304 bytes (4 MB) per transaction"
  );
  assert_eq!(e.path.as_deref(), Some("actions[11].put.item"));
}

#[test]
fn key_sizes_count_the_key_alone() {
  let s = schemas();
  let a = s["a"].clone().unwrap();
  // "pk" 2 + "é" 2, "sk" 2 + 12345 (4: a byte per two digits, plus one)
  assert_eq!(key_size(&a, &enc("{2:pks1:é2:skd12345;5:otherT}")), 10);
}

fn reason(code: &str) -> Reason {
  Reason {
    code: code.into(),
    message: code.into(),
    item: None,
  }
}

#[test]
fn cancellations_are_retried_for_throttling_and_for_conflicts_on_request() {
  let r = |codes: &[&str]| codes.iter().map(|c| reason(c)).collect::<Vec<_>>();
  let conflict = r(&["None", "TransactionConflict"]);
  assert_eq!(cancel_retry(&conflict, false), Retry::Fatal);
  assert_eq!(cancel_retry(&conflict, true), Retry::Transient);
  let throttled = r(&["ThrottlingError", "None"]);
  assert_eq!(cancel_retry(&throttled, false), Retry::Throttle);
  assert_eq!(
    cancel_retry(&r(&["ProvisionedThroughputExceeded"]), false),
    Retry::Throttle
  );
  let condition = r(&["TransactionConflict", "ConditionalCheckFailed"]);
  assert_eq!(cancel_retry(&condition, true), Retry::Fatal);
  assert_eq!(cancel_retry(&r(&["None"]), true), Retry::Fatal);
}

#[test]
fn reasons_are_aligned_with_the_actions_and_named_in_the_message() {
  let given = vec![
    CancellationReason::builder().code("None").build(),
    CancellationReason::builder()
      .code("ConditionalCheckFailed")
      .message("The conditional request failed")
      .item(
        "pk",
        aws_sdk_dynamodb::types::AttributeValue::S("secret".into()),
      )
      .build(),
  ];
  let reasons = reasons_of(&given, 3);
  assert_eq!(
    reasons.iter().map(|r| r.code.as_str()).collect::<Vec<_>>(),
    ["None", "ConditionalCheckFailed", "Unknown"]
  );
  assert_eq!(
    reasons[0].message,
    "this action did not cause the cancellation"
  );
  assert!(reasons[1].item.is_some());
  let labels: Vec<String> = ["actions[0].put", "actions[1].update", "actions[2].delete"]
    .map(String::from)
    .into();
  let m = cancel_message(&reasons, &labels);
  assert_eq!(
    m,
    "transaction cancelled: actions[1].update: ConditionalCheckFailed (The conditional request failed); actions[2].delete: Unknown (DynamoDB gave no cancellation reason for this action)"
  );
  assert!(!m.contains("secret"), "no item contents in messages");
  assert_eq!(
    cancel_message(&reasons[..1], &labels),
    "transaction cancelled (DynamoDB named no action as the cause)"
  );
}

#[test]
fn capacity_per_table() {
  let c = |t: &str, total: f64, r: Option<f64>, w: Option<f64>| {
    ConsumedCapacity::builder()
      .table_name(t)
      .capacity_units(total)
      .set_read_capacity_units(r)
      .set_write_capacity_units(w)
      .build()
  };
  let writes = capacities(
    &[c("a", 4.0, None, Some(4.0)), c("b", 2.0, None, None)],
    false,
  );
  assert_eq!(
    writes,
    [
      TableCapacity {
        table: "a".into(),
        wcu: 4.0,
        rcu: 0.0
      },
      TableCapacity {
        table: "b".into(),
        wcu: 2.0,
        rcu: 0.0
      }
    ]
  );
  // an idempotent replay reads rather than writes
  let replay = capacities(&[c("a", 2.0, Some(2.0), None)], false);
  assert_eq!((replay[0].wcu, replay[0].rcu), (0.0, 2.0));
  let reads = capacities(&[c("a", 2.0, None, None)], true);
  assert_eq!((reads[0].wcu, reads[0].rcu), (0.0, 2.0));
  let r = reply_of(&writes, Some("id"));
  assert_eq!((r.consumed_wcu, r.request_id.as_deref()), (6.0, Some("id")));
}

#[test]
fn transactional_writes_take_twice_the_units() {
  let actions = vec![
    action(
      TransactOp::Put,
      "b",
      &format!("{{2:pks1:x1:ds2000:{}}}", "x".repeat(2000)),
    ),
    action(TransactOp::ConditionCheck, "b", "{2:pks1:y}"),
  ];
  assert_eq!(write_units(&actions), 2.0 * 2.0 + 2.0);
}
