//! Reads a JS options object for `config.rs`: its own names (unknown ones are refused there) and each
//! value as a `config::Value`. Strings must be well-formed UTF-16 (a lone surrogate is refused, never
//! converted).

use super::raw::{Js, Type, V};
use crate::config::{self, KeyAttrInput, Value};
use crate::error::CoreError;

pub struct JsOptions {
  pub js: Js,
  /// None when the options were absent (undefined or null).
  pub obj: Option<V>,
}

impl JsOptions {
  /// `what` names the options in messages ("BatchWriter options"); `known` are the accepted names.
  pub fn new(js: Js, obj: V, what: &str, known: &[&str]) -> Result<Self, CoreError> {
    let t = js.type_of(obj).map_err(internal)?;
    if matches!(t, Type::Undefined | Type::Null) {
      return Ok(JsOptions { js, obj: None });
    }
    if t != Type::Object || js.is_array(obj).map_err(internal)? {
      return Err(config::invalid(what, "an object", &value_of(js, obj)?));
    }
    let names: Vec<String> = js
      .own_keys(obj)
      .map_err(internal)?
      .iter()
      .map(|n| String::from_utf16_lossy(n))
      .collect();
    config::check_names(what.trim_end_matches(" options"), &names, known)?;
    Ok(JsOptions { js, obj: Some(obj) })
  }

  pub fn raw(&self, name: &str) -> Result<Option<V>, CoreError> {
    let Some(obj) = self.obj else {
      return Ok(None);
    };
    let v = self.js.get(obj, name).map_err(internal)?;
    Ok(match self.js.type_of(v).map_err(internal)? {
      Type::Undefined | Type::Null => None,
      _ => Some(v),
    })
  }

  pub fn value(&self, name: &str) -> Value {
    match self.raw(name) {
      Ok(Some(v)) => value_of(self.js, v).unwrap_or(Value::Other("an unreadable value")),
      _ => Value::Absent,
    }
  }

  /// A key attribute option: `{ name, type }` or a name.
  pub fn key_attr(&self, v: V) -> Result<KeyAttrInput, CoreError> {
    let js = self.js;
    Ok(match value_of(js, v)? {
      Value::Str(s) => KeyAttrInput::Name(s),
      Value::Object { .. } => KeyAttrInput::Typed {
        name: value_of(js, js.get(v, "name").map_err(internal)?)?,
        ty: value_of(js, js.get(v, "type").map_err(internal)?)?,
      },
      other => KeyAttrInput::Bad(other),
    })
  }
}

pub fn internal(e: napi::Error) -> CoreError {
  CoreError::new(crate::error::INTERNAL, e.reason)
}

/// A JS value as options see it.
pub fn value_of(js: Js, v: V) -> Result<Value, CoreError> {
  Ok(match js.type_of(v).map_err(internal)? {
    Type::Undefined => Value::Absent,
    Type::Null => Value::Null,
    Type::Boolean => Value::Bool(js.bool(v).map_err(internal)?),
    Type::Number => Value::Number(js.f64(v).map_err(internal)?),
    Type::String => {
      let units = js.utf16(v).map_err(internal)?;
      Value::Str(String::from_utf16(&units).map_err(|_| {
        CoreError::invalid_argument(
          "an option string holds a lone surrogate (not well-formed UTF-16)",
        )
      })?)
    }
    Type::Function => Value::Function,
    Type::Object => Value::Object {
      class: if js.is_array(v).map_err(internal)? {
        Some("Array".into())
      } else {
        js.class_name(v)
      },
    },
    Type::Symbol => Value::Other("a symbol"),
    Type::BigInt => Value::Other("a bigint"),
    Type::External => Value::Other("an external value"),
  })
}

/// A required string argument (a table name), well-formed.
pub fn string_arg(js: Js, v: V, name: &str) -> Result<String, CoreError> {
  match value_of(js, v)? {
    Value::Str(s) if !s.is_empty() => Ok(s),
    Value::Str(_) => Err(CoreError::invalid_argument(format!(
      "{name} must be a non-empty string"
    ))),
    other => Err(config::invalid(name, "a non-empty string", &other)),
  }
}

/// `logger`: any object with debug, info, warn and error methods (console, pino, Powertools).
pub fn check_logger(opts: &JsOptions) -> Result<(), CoreError> {
  let Some(v) = opts.raw("logger")? else {
    return Ok(());
  };
  let js = opts.js;
  let rule = "an object with debug, info, warn and error methods";
  if js.type_of(v).map_err(internal)? != Type::Object {
    return Err(config::invalid("logger", rule, &opts.value("logger")));
  }
  for m in ["debug", "info", "warn", "error"] {
    let f = js.get(v, m).map_err(internal)?;
    if js.type_of(f).map_err(internal)? != Type::Function {
      return Err(CoreError::invalid_argument(format!(
        "logger must be {rule}, got an object without {m}()"
      )));
    }
  }
  Ok(())
}
