//! Matching settings kept in an index: stored as JSON, fingerprinted, and
//! compared setting by setting.
//!
//! The index does not interpret settings; the caller (neardup-core) decides
//! what they are. The index stores them at creation, and refuses later work
//! with different ones: [`check`] walks both objects and names the first
//! setting (in sorted key order) whose values differ, so the error can show
//! both values. The fingerprint is xxh3-128 of the canonical form (keys
//! sorted at every level, no spaces), so key order does not change it.

use serde_json::Value;
use xxhash_rust::xxh3::xxh3_128;

use crate::error::Mismatch;

/// Canonical JSON text: object keys sorted at every level, compact.
pub(crate) fn canonical(v: &Value) -> String {
    fn sorted(v: &Value) -> Value {
        match v {
            Value::Object(m) => {
                let mut keys: Vec<&String> = m.keys().collect();
                keys.sort();
                Value::Object(keys.into_iter().map(|k| (k.clone(), sorted(&m[k]))).collect())
            }
            Value::Array(a) => Value::Array(a.iter().map(sorted).collect()),
            other => other.clone(),
        }
    }
    sorted(v).to_string()
}

/// Fingerprint of settings: xxh3-128 of their canonical text, as 32 hex digits.
pub fn fingerprint(settings: &Value) -> String {
    format!("{:032x}", xxh3_128(canonical(settings).as_bytes()))
}

/// Compares `given` with the index's settings; the first difference, in
/// sorted key order, with its dotted path.
pub(crate) fn check(index: &Value, given: &Value) -> Result<(), Box<Mismatch>> {
    diff(index, given, &mut String::new())
}

fn diff(index: &Value, given: &Value, path: &mut String) -> Result<(), Box<Mismatch>> {
    match (index, given) {
        (Value::Object(a), Value::Object(b)) => {
            let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
            keys.sort();
            keys.dedup();
            for k in keys {
                let len = path.len();
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(k);
                match (a.get(k), b.get(k)) {
                    (Some(x), Some(y)) => diff(x, y, path)?,
                    (x, y) => {
                        return Err(Box::new(Mismatch {
                            setting: path.clone(),
                            index: x.cloned(),
                            given: y.cloned(),
                        }))
                    }
                }
                path.truncate(len);
            }
            Ok(())
        }
        (a, b) if same(a, b) => Ok(()),
        (a, b) => Err(Box::new(Mismatch {
            setting: if path.is_empty() { "(settings)".to_owned() } else { path.clone() },
            index: Some(a.clone()),
            given: Some(b.clone()),
        })),
    }
}

/// Equal values; numbers compare by value (`0.8` and `0.80`, `21` and
/// `21.0` are one setting), arrays and objects element by element.
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_u64(), y.as_u64()) {
            (Some(p), Some(q)) => p == q,
            _ => match (x.as_i64(), y.as_i64()) {
                (Some(p), Some(q)) => p == q,
                _ => x.as_f64() == y.as_f64(),
            },
        },
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| same(p, q))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, p)| y.get(k).is_some_and(|q| same(p, q)))
        }
        _ => a == b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn fingerprint_ignores_key_order() {
        let a = json!({"bands": 21, "rows": 6, "shingle": {"kind": "word", "n": 5}});
        let b = json!({"shingle": {"n": 5, "kind": "word"}, "rows": 6, "bands": 21});
        assert_eq!(fingerprint(&a), fingerprint(&b));
        assert_ne!(fingerprint(&a), fingerprint(&json!({"bands": 20, "rows": 6})));
        assert_eq!(fingerprint(&a).len(), 32);
    }

    #[test]
    fn check_names_the_setting_and_both_values() {
        let idx = json!({"bands": 21, "threshold": 0.8, "shingle": {"kind": "word", "n": 5}});
        assert_eq!(check(&idx, &idx.clone()), Ok(()));
        let m = check(
            &idx,
            &json!({"bands": 20, "threshold": 0.8, "shingle": {"kind": "word", "n": 5}}),
        )
        .unwrap_err();
        assert_eq!(m.setting, "bands");
        assert_eq!(m.index, Some(json!(21)));
        assert_eq!(m.given, Some(json!(20)));
        assert!(m.to_string().contains("`21`") && m.to_string().contains("`20`"), "{m}");

        let m = check(
            &idx,
            &json!({"bands": 21, "threshold": 0.8, "shingle": {"kind": "char", "n": 5}}),
        )
        .unwrap_err();
        assert_eq!(m.setting, "shingle.kind");

        let m =
            check(&idx, &json!({"bands": 21, "shingle": {"kind": "word", "n": 5}})).unwrap_err();
        assert_eq!((m.setting.as_str(), m.given.is_none()), ("threshold", true));
        assert!(m.to_string().contains("given nothing"), "{m}");
    }

    #[test]
    fn numbers_compare_by_value() {
        let idx: Value = serde_json::from_str(r#"{"t": 0.80, "b": 21}"#).unwrap();
        let given: Value = serde_json::from_str(r#"{"t": 0.8, "b": 21.0}"#).unwrap();
        assert_eq!(check(&idx, &given), Ok(()));
    }
}
