use super::*;

fn w(s: &str) -> Vec<u16> {
  s.encode_utf16().collect()
}

fn enc(s: &str) -> Result<String, String> {
  encode::<Vec<u8>>(&w(s), &[], "item", Rules::default(), true)
    .map(|e| String::from_utf8(e.json).unwrap())
    .map_err(|e| e.message())
}

#[test]
fn writes_every_type_as_dynamodb_json() {
  let bins = vec![vec![1u8, 2, 3], vec![9u8], vec![8u8]];
  let e = encode(
    &w("{2:pks3:a\u{e9}b1:nn42;1:dd1.5;1:tT1:fF1:zz1:bb0;1:m{1:xs0:}1:l[n1.50;s1:q]2:ss<s1:as1:b]2:ns<n1;d2;]2:bs<b1;b2;]}"),
    &bins,
    "item",
    Rules::default(),
    true,
  )
  .unwrap();
  let v: serde_json::Value = serde_json::from_slice(&e.json).unwrap();
  assert_eq!(
    v,
    serde_json::json!({
      "pk": {"S": "a\u{e9}b"}, "n": {"N": "42"}, "d": {"N": "1.5"}, "t": {"BOOL": true}, "f": {"BOOL": false},
      "z": {"NULL": true}, "b": {"B": "AQID"}, "m": {"M": {"x": {"S": ""}}},
      "l": {"L": [{"N": "1.50"}, {"S": "q"}]}, "ss": {"SS": ["a", "b"]}, "ns": {"NS": ["1", "2"]},
      "bs": {"BS": ["CQ==", "CA=="]}
    })
  );
  assert_eq!(e.top.len(), 12);
  assert_eq!(e.slice(e.top[0].payload), "a\u{e9}b".as_bytes());
  assert_eq!(e.top[0].raw_len, 4);
}

#[test]
fn sizes_follow_dynamodb_rules() {
  // pk: 2 + 2 (é); l: 1 + 3 + (1 + 1); m: 1 + 3 + (1 + 2 + 1)
  let e = encode::<Vec<u8>>(
    &w("{2:pks1:\u{e9}1:l[T]1:m{2:abz}}"),
    &[],
    "item",
    Rules::default(),
    true,
  )
  .unwrap();
  assert_eq!(e.size, 4 + 6 + 8);
  let big = format!(
    "{{1:as{}:{}}}",
    MAX_ITEM_BYTES - 1,
    "x".repeat(MAX_ITEM_BYTES - 1)
  );
  assert!(enc(&big).is_ok());
  let over = format!("{{1:as{}:{}}}", MAX_ITEM_BYTES, "x".repeat(MAX_ITEM_BYTES));
  assert_eq!(
    enc(&over).unwrap_err(),
    "item: 409601 bytes exceeds DynamoDB's item size limit of 409600 bytes (400 KB)"
  );
}

#[test]
fn errors_name_the_path_and_never_the_value() {
  assert_eq!(
    enc("{4:tags[s1:an1.2.3;]}").unwrap_err(),
    "item.tags[1]: not a valid DynamoDB number"
  );
  assert_eq!(
    enc("{3:a b{1:xn12x;}}").unwrap_err(),
    "item[\"a b\"].x: not a valid DynamoDB number"
  );
  assert_eq!(
    enc("{4:card9007199254740993;}").unwrap_err(),
    "item.card: malformed item encoding (a bug in dynabatch's codec)"
  );
  let e = enc("{4:cardd9007199254740993;}").unwrap_err();
  assert!(e.starts_with("item.card: a JS number outside"), "{e}");
  assert!(!e.contains("9007"), "{e}");
  assert_eq!(
    enc("{1:xdNaN;}").unwrap_err(),
    "item.x: NaN is not a valid DynamoDB number"
  );
  assert_eq!(
    enc("{1:s<]}").unwrap_err(),
    "item.s: an empty Set cannot be stored (DynamoDB has no empty sets)"
  );
  assert!(enc("{1:s<n1;n1.0;]}")
    .unwrap_err()
    .starts_with("item.s: the Set holds duplicate values"));
  assert!(enc("{1:s<n1;d1;]}")
    .unwrap_err()
    .starts_with("item.s: the Set holds duplicate values"));
  assert_eq!(
    enc("{1:s<s1:an1;]}").unwrap_err(),
    "item.s[1]: a Set must hold only strings, only numbers/bigints/NumberValues, or only binary values"
  );
  assert_eq!(
    enc("{1:s<T]}").unwrap_err(),
    "item.s[0]: a boolean cannot be a Set member (only strings, numbers or binaries)"
  );
  assert_eq!(
    enc("{1:a[zu]}").unwrap_err(),
    "item.a[1]: undefined is not allowed (set removeUndefinedValues to drop it)"
  );
  assert_eq!(
    enc("{1:f!f}").unwrap_err(),
    "item.f: a function is not a valid DynamoDB value"
  );
  assert_eq!(
    enc("{1:d!o4:Date}").unwrap_err(),
    "item.d: a Date is not supported (only plain objects, arrays, Map, Set, binary data, bigint and NumberValue are)"
  );
  assert_eq!(
    enc("{1:m{!k6:number}}").unwrap_err(),
    "item.m: Map keys must be strings, got number"
  );
  assert_eq!(
    enc("{1:c[!c]}").unwrap_err(),
    "item.c[0]: circular reference"
  );
  assert_eq!(
    enc("[]").unwrap_err(),
    "item: must be an object (a plain object or a Map), got an array"
  );
  assert_eq!(
    enc("d5;").unwrap_err(),
    "item: must be an object (a plain object or a Map), got a number"
  );
  assert_eq!(
    enc("!o3:Foo").unwrap_err(),
    "item: must be an object (a plain object or a Map), got a Foo"
  );
  assert_eq!(
    enc("{0:s1:x}").unwrap_err(),
    "item[\"\"]: attribute names must not be empty"
  );
}

#[test]
fn lone_surrogates_are_refused_wherever_a_string_can_be() {
  let units = |parts: &[&[u16]]| parts.concat();
  let bad_value = units(&[&w("{2:pks2:k"), &[0xd800], &w("}")]);
  let e = encode::<Vec<u8>>(&bad_value, &[], "item", Rules::default(), true).unwrap_err();
  assert_eq!(e.path, "item.pk");
  assert!(
    e.rule.contains("lone surrogate (UTF-16 unit 1)"),
    "{}",
    e.rule
  );
  let bad_name = units(&[&w("{2:a"), &[0xdc00], &w("s1:x}")]);
  let e = encode::<Vec<u8>>(&bad_name, &[], "item", Rules::default(), true).unwrap_err();
  assert_eq!(e.path, "item[\"a\\udc00\"]");
  assert!(
    e.rule
      .starts_with("the attribute name holds a lone surrogate"),
    "{}",
    e.rule
  );
  let in_set = units(&[&w("{1:s<s1:as1:"), &[0xdbff], &w("]}")]);
  assert_eq!(
    encode::<Vec<u8>>(&in_set, &[], "item", Rules::default(), true)
      .unwrap_err()
      .path,
    "item.s[1]"
  );
  let deep = units(&[&w("{1:l[{1:m{1:xs3:x"), &[0xdc00], &w("y}}]}")]);
  assert_eq!(
    encode::<Vec<u8>>(&deep, &[], "item", Rules::default(), true)
      .unwrap_err()
      .path,
    "item.l[0].m.x"
  );
  // a valid pair is kept exactly
  let emoji = units(&[&w("{1:as2:"), &[0xd83d, 0xde00], &w("}")]);
  let e = encode::<Vec<u8>>(&emoji, &[], "item", Rules::default(), true).unwrap();
  assert_eq!(e.json, "{\"a\":{\"S\":\"\u{1f600}\"}}".as_bytes());
  assert_eq!(e.size, 1 + 4);
  assert!(strict_string(&[0x61, 0xd800], "conditionExpression")
    .unwrap_err()
    .rule
    .contains("unit 1"));
  assert_eq!(strict_string(&w("#a = :v"), "x").unwrap(), "#a = :v");
}

#[test]
fn undefined_is_dropped_only_when_asked() {
  let rules = Rules {
    remove_undefined: true,
  };
  let e = encode::<Vec<u8>>(
    &w("{1:au1:b[uzu]1:c<us1:x]1:d{1:eu}}"),
    &[],
    "item",
    rules,
    true,
  )
  .unwrap();
  let v: serde_json::Value = serde_json::from_slice(&e.json).unwrap();
  assert_eq!(
    v,
    serde_json::json!({"b": {"L": [{"NULL": true}]}, "c": {"SS": ["x"]}, "d": {"M": {}}})
  );
  assert!(enc("{1:au}").is_err());
}

#[test]
fn depth_limit() {
  let ok = format!("{{1:a{}{}}}", "[".repeat(31), "]".repeat(31));
  assert!(enc(&ok).is_ok());
  let deep = format!("{{1:a{}{}}}", "[".repeat(32), "]".repeat(32));
  assert!(enc(&deep)
    .unwrap_err()
    .ends_with("nesting exceeds DynamoDB's 32 levels"));
}

#[test]
fn many_items_are_judged_one_by_one() {
  let a = "{1:as1:x}";
  let b = "{1:bdNaN;}";
  let c = "{1:cb0;}";
  let run = format!("{}:{a}{}:{b}{}:{c}", a.len(), b.len(), c.len());
  let out = encode_many(&w(&run), &[vec![7u8]], "item", Rules::default()).unwrap();
  assert_eq!(out.len(), 3);
  assert!(out[0].is_ok());
  assert_eq!(out[1].as_ref().unwrap_err().path, "item.b");
  assert_eq!(out[2].as_ref().unwrap().json, b"{\"c\":{\"B\":\"Bw==\"}}");
  assert!(encode_many(&w("5:{}"), &[] as &[Vec<u8>], "item", Rules::default()).is_err());
}

#[test]
fn string_maps_for_expression_names() {
  let m = string_map(&w("{2:#ns4:name2:#qs3:a\"b}"), "expressionAttributeNames").unwrap();
  assert_eq!(
    m,
    vec![
      ("#n".to_string(), "name".to_string()),
      ("#q".to_string(), "a\"b".to_string())
    ]
  );
  assert_eq!(
    string_map(&w("{2:#nd1;}"), "expressionAttributeNames")
      .unwrap_err()
      .message(),
    "expressionAttributeNames[\"#n\"]: must be a string, got N"
  );
}

#[test]
fn escaped_names_round_trip() {
  let mut out = Vec::new();
  crate::json::escape_into(&mut out, "a\"b\\c\n\u{1}é");
  assert_eq!(unescape(&out), "a\"b\\c\n\u{1}é");
}

/// The shared vectors (`__test__/vectors/items.json`, also run by `__test__/vectors.test.js` through the JS
/// codec): each wire gives exactly this DynamoDB JSON, or this error at this path.
#[test]
fn shared_vectors() {
  let vectors: Vec<serde_json::Value> =
    serde_json::from_str(include_str!("../../__test__/vectors/items.json")).unwrap();
  assert!(vectors.len() > 30);
  for v in vectors {
    let name = v["name"].as_str().unwrap();
    // ⟨d800⟩ stands for a lone UTF-16 unit, which JSON text cannot hold.
    let text = v["wire"].as_str().unwrap();
    let mut wire = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find('⟨') {
      wire.extend(rest[..i].encode_utf16());
      let end = rest[i..].find('⟩').unwrap() + i;
      wire.push(u16::from_str_radix(&rest[i + '⟨'.len_utf8()..end], 16).unwrap());
      rest = &rest[end + '⟩'.len_utf8()..];
    }
    wire.extend(rest.encode_utf16());
    let bins: Vec<Vec<u8>> = v["bins"]
      .as_array()
      .unwrap()
      .iter()
      .map(|b| {
        let s = b.as_str().unwrap();
        let mut out = Vec::new();
        // tiny base64 decoder for the test data
        let val = |c: u8| {
          "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
            .find(c as char)
            .unwrap() as u32
        };
        for chunk in s.as_bytes().chunks(4) {
          let n = chunk
            .iter()
            .filter(|&&c| c != b'=')
            .fold(0u32, |acc, &c| acc << 6 | val(c));
          let k = chunk.iter().filter(|&&c| c != b'=').count();
          let n = n << (6 * (4 - k));
          out.extend_from_slice(&[(n >> 16) as u8, (n >> 8) as u8, n as u8][..k - 1]);
        }
        out
      })
      .collect();
    let rules = Rules {
      remove_undefined: v["removeUndefinedValues"].as_bool().unwrap(),
    };
    let res = encode(&wire, &bins, "item", rules, true);
    if let Some(e) = v.get("error") {
      let got = res.expect_err(name);
      assert_eq!(got.path, e["path"].as_str().unwrap(), "{name}");
      assert_eq!(got.message(), e["message"].as_str().unwrap(), "{name}");
    } else {
      let got = res.unwrap_or_else(|e| panic!("{name}: {e}"));
      let json: serde_json::Value = serde_json::from_slice(&got.json).unwrap();
      if !v["json"].is_null() {
        assert_eq!(json, v["json"], "{name}");
      }
    }
  }
}
