//! DynamoDB's number rules, once: the grammar, 38 significant digits, the magnitude range, the canonical
//! form used to compare numbers by value (keys, Set members), the storage size, and the two rules that
//! exist only because JS has doubles (a JS number must be a safe value; a stored number is read back as a
//! JS number only when that is exact).
//!
//! Messages name the rule, never the number itself: numbers are item contents.

/// DynamoDB stores at most 38 significant digits.
pub const MAX_DIGITS: usize = 38;
/// Magnitudes run from 1E-130 to below 1E+126.
pub const MAX_POINT: i64 = 126;
pub const MIN_POINT: i64 = -129;
/// `Number.MAX_SAFE_INTEGER`: a JS number beyond it may already have lost digits.
pub const MAX_SAFE_INTEGER: f64 = 9_007_199_254_740_991.0;

/// A number taken apart, without copying it: its sign, where its significant digits are (the text's
/// digits with leading and trailing zeros skipped), and the decimal exponent of the first significant digit
/// (value = 0.d1d2… × 10^point).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Parsed<'a> {
  /// The mantissa: the text's digits and point, without sign or exponent.
  mantissa: &'a [u8],
  pub negative: bool,
  /// How many digits of the mantissa come before the first significant one.
  skip: usize,
  /// How many significant digits (0 for zero).
  pub sig: usize,
  pub point: i64,
}

impl Parsed<'_> {
  pub fn is_zero(&self) -> bool {
    self.sig == 0
  }
  /// The significant digits, in order.
  pub fn digits(&self) -> impl Iterator<Item = u8> + '_ {
    self
      .mantissa
      .iter()
      .filter(|c| c.is_ascii_digit())
      .skip(self.skip)
      .take(self.sig)
      .map(|c| c - b'0')
  }
}

/// Parses and validates DynamoDB number text (`[+-]digits[.digits][(e|E)[+-]digits]`, a digit on either side
/// of the point). The error is the rule that was broken. Allocates nothing.
pub fn parse(text: &[u8]) -> Result<Parsed<'_>, String> {
  let bad = || "not a valid DynamoDB number".to_string();
  let mut i = 0;
  let negative = text.first() == Some(&b'-');
  if negative || text.first() == Some(&b'+') {
    i += 1;
  }
  let start = i;
  let (mut count, mut int_digits) = (0usize, 0i64);
  let (mut first, mut last) = (None::<usize>, 0usize);
  let mut seen_dot = false;
  while i < text.len() {
    match text[i] {
      d @ b'0'..=b'9' => {
        if d != b'0' {
          first.get_or_insert(count);
          last = count;
        }
        count += 1;
        if !seen_dot {
          int_digits += 1;
        }
      }
      b'.' if !seen_dot => seen_dot = true,
      _ => break,
    }
    i += 1;
  }
  let mantissa = &text[start..i];
  if count == 0 {
    return Err(bad());
  }
  let mut exp: i64 = 0;
  if i < text.len() && (text[i] == b'e' || text[i] == b'E') {
    i += 1;
    let eneg = text.get(i) == Some(&b'-');
    if eneg || text.get(i) == Some(&b'+') {
      i += 1;
    }
    let estart = i;
    while i < text.len() && text[i].is_ascii_digit() {
      exp = exp
        .saturating_mul(10)
        .saturating_add((text[i] - b'0') as i64);
      i += 1;
    }
    if i == estart {
      return Err(bad());
    }
    if eneg {
      exp = -exp;
    }
  }
  if i != text.len() {
    return Err(bad());
  }
  let Some(first) = first else {
    return Ok(Parsed {
      mantissa,
      negative: false,
      skip: 0,
      sig: 0,
      point: 0,
    });
  };
  let sig = last - first + 1;
  if sig > MAX_DIGITS {
    return Err(format!(
      "a number of {sig} significant digits: DynamoDB numbers hold at most {MAX_DIGITS}"
    ));
  }
  let point = int_digits - first as i64 + exp;
  if point > MAX_POINT {
    return Err("a number too large for DynamoDB (magnitudes must be below 1E+126)".into());
  }
  if point < MIN_POINT {
    return Err("a number too small for DynamoDB (magnitudes must be 0 or at least 1E-130)".into());
  }
  Ok(Parsed {
    mantissa,
    negative,
    skip: first,
    sig,
    point,
  })
}

/// The canonical form of a number, equal for equal values (`7`, `7.0`, `0.7e1` → `7e1`): keys and Set members
/// are compared by value, as DynamoDB compares them.
pub fn canonical(p: &Parsed, out: &mut Vec<u8>) {
  if p.is_zero() {
    out.push(b'0');
    return;
  }
  if p.negative {
    out.push(b'-');
  }
  out.extend(p.digits().map(|d| b'0' + d));
  out.push(b'e');
  out.extend_from_slice(p.point.to_string().as_bytes());
}

pub fn canonical_string(p: &Parsed) -> String {
  let mut v = Vec::new();
  canonical(p, &mut v);
  String::from_utf8(v).expect("ascii")
}

/// The size DynamoDB counts for a number: about one byte per two significant digits, plus one (plus one
/// for a negative number), from the digits' alignment on base-100 pairs.
pub fn size(p: &Parsed) -> usize {
  if p.is_zero() {
    return 1;
  }
  let n = p.sig as i64;
  // the decimal exponent of the first significant digit decides how the digits pair up
  let e = p.point - 1;
  let odd = n % 2 != 0 || e.rem_euclid(2) != 0;
  (1 + (n + 1) / 2 + if odd { 0 } else { 1 } + if p.negative { 1 } else { 0 }) as usize
}

/// The rule for a JS number (the text is `String(v)`): finite, and within ±`Number.MAX_SAFE_INTEGER`, where
/// every value is exactly the number the program meant; beyond it a bigint or a NumberValue says so.
pub fn check_js_number(text: &str) -> Result<Parsed<'_>, String> {
  match text {
    "NaN" => return Err("NaN is not a valid DynamoDB number".into()),
    "Infinity" | "-Infinity" => return Err(format!("{text} is not a valid DynamoDB number")),
    _ => {}
  }
  let v: f64 = text.parse().map_err(|_| "not a valid DynamoDB number")?;
  if v.abs() > MAX_SAFE_INTEGER {
    return Err(
      "a JS number outside ±Number.MAX_SAFE_INTEGER may have lost precision; pass a bigint or a NumberValue"
        .into(),
    );
  }
  parse(text.as_bytes())
}

/// The read rule: a stored number becomes a JS number only when the double holds exactly the value the
/// text names (its shortest form is the same value) and it is a safe value; otherwise it stays a
/// NumberValue, so nothing is silently rounded.
pub fn reads_as_js_number(text: &str) -> bool {
  let Ok(p) = parse(text.as_bytes()) else {
    return false;
  };
  let Ok(v) = text.parse::<f64>() else {
    return false;
  };
  if !v.is_finite() || v.abs() > MAX_SAFE_INTEGER {
    return false;
  }
  // Rust's `{:e}` prints the shortest digits that round-trip, as JS's Number#toString does.
  let shortest = format!("{v:e}");
  match parse(shortest.as_bytes()) {
    Ok(q) => {
      q.digits().eq(p.digits()) && q.point == p.point && (q.negative == p.negative || p.is_zero())
    }
    Err(_) => false,
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  fn canon(t: &str) -> String {
    canonical_string(&parse(t.as_bytes()).unwrap())
  }

  #[test]
  fn grammar_and_limits() {
    for ok in [
      "0", "-0", "42", "+7", "1.", ".5", "1.50", "007", "1e+21", "1E-130", "9.99e125",
    ] {
      assert!(parse(ok.as_bytes()).is_ok(), "{ok}");
    }
    for bad in [
      "", "-", ".", "1.2.3", "abc", "1e", "NaN", "Infinity", "0x10", " 1", "1 ", "1_0",
    ] {
      assert_eq!(
        parse(bad.as_bytes()).unwrap_err(),
        "not a valid DynamoDB number",
        "{bad}"
      );
    }
    let n38 = "12345678901234567890123456789012345678";
    assert!(parse(n38.as_bytes()).is_ok());
    assert_eq!(
      parse(format!("{n38}9").as_bytes()).unwrap_err(),
      "a number of 39 significant digits: DynamoDB numbers hold at most 38"
    );
    assert!(parse(b"1e126")
      .unwrap_err()
      .starts_with("a number too large"));
    assert!(parse(b"1e-131")
      .unwrap_err()
      .starts_with("a number too small"));
    // trailing zeros are not significant
    assert!(parse(format!("{n38}000").as_bytes()).is_ok());
  }

  #[test]
  fn canonical_compares_by_value() {
    assert_eq!(canon("7"), canon("7.0"));
    assert_eq!(canon("7"), canon("0.7e1"));
    assert_eq!(canon("100"), canon("1E+2"));
    assert_eq!(canon("-0"), "0");
    assert_eq!(canon("0.000"), "0");
    assert_ne!(canon("1"), canon("-1"));
    assert_eq!(canon("1.5"), "15e1");
  }

  #[test]
  fn sizes_follow_dynamodb_rules() {
    let s = |t: &str| size(&parse(t.as_bytes()).unwrap());
    assert_eq!(s("0"), 1);
    assert_eq!(s("1"), 2);
    assert_eq!(s("12"), 2);
    assert_eq!(s("123"), 3);
    assert_eq!(s("1234"), 3);
    assert_eq!(s("-1"), 3);
  }

  #[test]
  fn js_numbers() {
    assert!(check_js_number("9007199254740991").is_ok());
    assert!(check_js_number("-9007199254740991").is_ok());
    assert!(check_js_number("1.5e-7").is_ok());
    let e = check_js_number("9007199254740992").unwrap_err();
    assert!(e.contains("MAX_SAFE_INTEGER"), "{e}");
    assert!(!e.contains("9007199254740992"), "no value in the message");
    assert_eq!(
      check_js_number("NaN").unwrap_err(),
      "NaN is not a valid DynamoDB number"
    );
    assert!(check_js_number("1e-300")
      .unwrap_err()
      .starts_with("a number too small"));
    assert_eq!(
      check_js_number("-Infinity").unwrap_err(),
      "-Infinity is not a valid DynamoDB number"
    );
  }

  #[test]
  fn read_rule() {
    assert!(reads_as_js_number("42"));
    assert!(reads_as_js_number("0.1"));
    assert!(reads_as_js_number("1.50"));
    assert!(reads_as_js_number("-0"));
    assert!(reads_as_js_number("9007199254740991"));
    assert!(!reads_as_js_number("9007199254740993"));
    assert!(!reads_as_js_number("12345678901234567890"));
    assert!(!reads_as_js_number("0.1000000000000000000001"));
    assert!(!reads_as_js_number("1e300"));
  }
}
