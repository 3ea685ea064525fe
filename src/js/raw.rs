//! Thin, checked wrappers over the Node-API calls the binding makes on plain values (reading options,
//! building result objects, references to the caller's items). All of them run on the JS thread.

use napi::{sys, Env, Error, Result, Status};
use std::ptr;

pub type V = sys::napi_value;

#[derive(Clone, Copy)]
pub struct Js {
  pub env: sys::napi_env,
}

fn check(st: sys::napi_status, what: &str) -> Result<()> {
  if st == sys::Status::napi_ok {
    Ok(())
  } else {
    Err(Error::new(
      Status::from(st),
      format!("Node-API call failed: {what}"),
    ))
  }
}

/// JS `typeof`, as napi reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Type {
  Undefined,
  Null,
  Boolean,
  Number,
  String,
  Symbol,
  Object,
  Function,
  External,
  BigInt,
}

impl Js {
  pub fn of(env: &Env) -> Js {
    Js { env: env.raw() }
  }

  pub fn type_of(&self, v: V) -> Result<Type> {
    let mut t = 0;
    check(unsafe { sys::napi_typeof(self.env, v, &mut t) }, "typeof")?;
    Ok(match t {
      sys::ValueType::napi_undefined => Type::Undefined,
      sys::ValueType::napi_null => Type::Null,
      sys::ValueType::napi_boolean => Type::Boolean,
      sys::ValueType::napi_number => Type::Number,
      sys::ValueType::napi_string => Type::String,
      sys::ValueType::napi_symbol => Type::Symbol,
      sys::ValueType::napi_function => Type::Function,
      sys::ValueType::napi_external => Type::External,
      sys::ValueType::napi_bigint => Type::BigInt,
      _ => Type::Object,
    })
  }

  pub fn get(&self, obj: V, name: &str) -> Result<V> {
    let key = self.string(name)?;
    let mut out = ptr::null_mut();
    check(
      unsafe { sys::napi_get_property(self.env, obj, key, &mut out) },
      "get property",
    )?;
    Ok(out)
  }

  pub fn set(&self, obj: V, name: &str, v: V) -> Result<()> {
    let key = self.string(name)?;
    check(
      unsafe { sys::napi_set_property(self.env, obj, key, v) },
      "set property",
    )
  }

  pub fn set_element(&self, arr: V, i: u32, v: V) -> Result<()> {
    check(
      unsafe { sys::napi_set_element(self.env, arr, i, v) },
      "set element",
    )
  }

  pub fn element(&self, arr: V, i: u32) -> Result<V> {
    let mut out = ptr::null_mut();
    check(
      unsafe { sys::napi_get_element(self.env, arr, i, &mut out) },
      "get element",
    )?;
    Ok(out)
  }

  pub fn array_len(&self, arr: V) -> Result<u32> {
    let mut n = 0;
    check(
      unsafe { sys::napi_get_array_length(self.env, arr, &mut n) },
      "array length",
    )?;
    Ok(n)
  }

  pub fn is_array(&self, v: V) -> Result<bool> {
    let mut b = false;
    check(
      unsafe { sys::napi_is_array(self.env, v, &mut b) },
      "is array",
    )?;
    Ok(b)
  }

  pub fn string(&self, s: &str) -> Result<V> {
    let mut out = ptr::null_mut();
    check(
      unsafe {
        sys::napi_create_string_utf8(self.env, s.as_ptr().cast(), s.len() as isize, &mut out)
      },
      "create string",
    )?;
    Ok(out)
  }

  pub fn number(&self, n: f64) -> Result<V> {
    let mut out = ptr::null_mut();
    check(
      unsafe { sys::napi_create_double(self.env, n, &mut out) },
      "create number",
    )?;
    Ok(out)
  }

  pub fn undefined(&self) -> Result<V> {
    let mut out = ptr::null_mut();
    check(
      unsafe { sys::napi_get_undefined(self.env, &mut out) },
      "undefined",
    )?;
    Ok(out)
  }

  pub fn object(&self) -> Result<V> {
    let mut out = ptr::null_mut();
    check(
      unsafe { sys::napi_create_object(self.env, &mut out) },
      "create object",
    )?;
    Ok(out)
  }

  pub fn array(&self, len: usize) -> Result<V> {
    let mut out = ptr::null_mut();
    check(
      unsafe { sys::napi_create_array_with_length(self.env, len, &mut out) },
      "create array",
    )?;
    Ok(out)
  }

  pub fn f64(&self, v: V) -> Result<f64> {
    let mut n = 0.0;
    check(
      unsafe { sys::napi_get_value_double(self.env, v, &mut n) },
      "number value",
    )?;
    Ok(n)
  }

  pub fn bool(&self, v: V) -> Result<bool> {
    let mut b = false;
    check(
      unsafe { sys::napi_get_value_bool(self.env, v, &mut b) },
      "boolean value",
    )?;
    Ok(b)
  }

  /// A JS string's UTF-16 units, as they are (a lone surrogate stays one: the caller judges it).
  pub fn utf16(&self, v: V) -> Result<Vec<u16>> {
    let mut len = 0;
    check(
      unsafe { sys::napi_get_value_string_utf16(self.env, v, ptr::null_mut(), 0, &mut len) },
      "string length",
    )?;
    let mut buf = vec![0u16; len + 1];
    let mut written = 0;
    check(
      unsafe {
        sys::napi_get_value_string_utf16(self.env, v, buf.as_mut_ptr(), buf.len(), &mut written)
      },
      "string value",
    )?;
    buf.truncate(written);
    Ok(buf)
  }

  /// A JS string's UTF-16 units into a reused buffer: one copy, and usually one Node-API call (a second
  /// only when the string is longer than the buffer).
  pub fn utf16_into(&self, v: V, buf: &mut Vec<u16>) -> Result<()> {
    if buf.len() < 4096 {
      buf.resize(4096, 0);
    }
    let mut written = 0;
    check(
      unsafe {
        sys::napi_get_value_string_utf16(self.env, v, buf.as_mut_ptr(), buf.len(), &mut written)
      },
      "string value",
    )?;
    if written + 1 < buf.len() {
      buf.truncate(written);
      return Ok(());
    }
    let mut len = 0;
    check(
      unsafe { sys::napi_get_value_string_utf16(self.env, v, ptr::null_mut(), 0, &mut len) },
      "string length",
    )?;
    buf.resize(len + 1, 0);
    check(
      unsafe {
        sys::napi_get_value_string_utf16(self.env, v, buf.as_mut_ptr(), buf.len(), &mut written)
      },
      "string value",
    )?;
    buf.truncate(written);
    Ok(())
  }

  /// Own enumerable string keys, as `Object.keys` gives them.
  pub fn own_keys(&self, obj: V) -> Result<Vec<Vec<u16>>> {
    let mut names = ptr::null_mut();
    check(
      unsafe {
        sys::napi_get_all_property_names(
          self.env,
          obj,
          sys::KeyCollectionMode::own_only,
          sys::KeyFilter::enumerable | sys::KeyFilter::skip_symbols,
          sys::KeyConversion::numbers_to_strings,
          &mut names,
        )
      },
      "property names",
    )?;
    let n = self.array_len(names)?;
    (0..n)
      .map(|i| self.utf16(self.element(names, i)?))
      .collect()
  }

  /// `value.constructor.name` of an object that is not a plain object, for "got a Date" messages.
  pub fn class_name(&self, obj: V) -> Option<String> {
    let ctor = self.get(obj, "constructor").ok()?;
    if self.type_of(ctor).ok()? != Type::Function {
      return None;
    }
    let name = self.get(ctor, "name").ok()?;
    let units = self.utf16(name).ok()?;
    let name = String::from_utf16_lossy(&units);
    (name != "Object" && !name.is_empty()).then_some(name)
  }

  pub fn new_ref(&self, v: V) -> Result<sys::napi_ref> {
    let mut r = ptr::null_mut();
    check(
      unsafe { sys::napi_create_reference(self.env, v, 1, &mut r) },
      "create reference",
    )?;
    Ok(r)
  }

  pub fn ref_value(&self, r: sys::napi_ref) -> Result<V> {
    let mut v = ptr::null_mut();
    check(
      unsafe { sys::napi_get_reference_value(self.env, r, &mut v) },
      "reference value",
    )?;
    Ok(v)
  }

  pub fn delete_ref(&self, r: sys::napi_ref) {
    unsafe {
      sys::napi_delete_reference(self.env, r);
    }
  }

  pub fn new_instance(&self, ctor: V, args: &[V]) -> Result<V> {
    let mut out = ptr::null_mut();
    check(
      unsafe { sys::napi_new_instance(self.env, ctor, args.len(), args.as_ptr(), &mut out) },
      "new instance",
    )?;
    Ok(out)
  }

  pub fn type_error(&self, code: &str, message: &str) -> Result<V> {
    let (c, m) = (self.string(code)?, self.string(message)?);
    let mut out = ptr::null_mut();
    check(
      unsafe { sys::napi_create_type_error(self.env, c, m, &mut out) },
      "create TypeError",
    )?;
    Ok(out)
  }

  pub fn error(&self, code: &str, message: &str) -> Result<V> {
    let (c, m) = (self.string(code)?, self.string(message)?);
    let mut out = ptr::null_mut();
    check(
      unsafe { sys::napi_create_error(self.env, c, m, &mut out) },
      "create Error",
    )?;
    Ok(out)
  }
}
