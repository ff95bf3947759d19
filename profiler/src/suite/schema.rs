//! The suite file as written (TOML): what each table and field may hold, with the place of
//! every value in the file kept (`Spanned`) so validation errors name `file:line:col`.
//! Unknown fields are errors.

use super::phases::RawPhase;
use serde::Deserialize;
use std::collections::BTreeMap;
use toml::Spanned;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSuite {
    pub(super) suite: RawHeader,
    #[serde(default)]
    pub(super) model: Vec<RawModel>,
    #[serde(default)]
    pub(super) framework: Vec<RawFramework>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawHeader {
    pub(super) name: String,
    #[serde(default = "one")]
    pub(super) version: u32,
    #[serde(default)]
    pub(super) description: String,
    #[serde(default = "one")]
    pub(super) repetitions: u32,
    #[serde(default)]
    pub(super) warmup: u32,
    pub(super) timeout_s: Option<Spanned<Number>>,
    pub(super) memory_limit: Option<Spanned<String>>,
    #[serde(default)]
    pub(super) runtimes: Vec<Spanned<String>>,
}

fn one() -> u32 {
    1
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawModel {
    pub(super) name: Spanned<String>,
    #[serde(default)]
    pub(super) description: String,
    pub(super) onnx: Option<Spanned<String>>,
    pub(super) reference: Option<Spanned<String>>,
    pub(super) kind: Option<Spanned<String>>,
    pub(super) dataset: Option<Spanned<String>>,
    pub(super) input_side: Option<Spanned<i64>>,
    pub(super) resize: Option<Spanned<String>>,
    pub(super) hidden: Option<Spanned<Vec<i64>>>,
    pub(super) conv: Option<Spanned<Vec<i64>>>,
    pub(super) kernel: Option<Spanned<i64>>,
    pub(super) activation: Option<Spanned<String>>,
    pub(super) seed: Option<Spanned<i64>>,
    pub(super) epochs: Option<Spanned<i64>>,
    pub(super) learning_rate: Option<Spanned<f64>>,
    #[serde(default)]
    pub(super) frameworks: Vec<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawFramework {
    pub(super) name: Spanned<String>,
    pub(super) kind: Option<Spanned<String>>,
    #[serde(default)]
    pub(super) settings: Vec<toml::Table>,
    pub(super) steps: Option<Spanned<BTreeMap<String, Spanned<Vec<String>>>>>,
    pub(super) timeout_s: Option<Spanned<Number>>,
    pub(super) memory_limit: Option<Spanned<String>>,
    pub(super) image: Option<Spanned<String>>,
    pub(super) cpuset: Option<Spanned<String>>,
    pub(super) cpus: Option<Spanned<Vec<toml::Value>>>,
    pub(super) home: Option<Spanned<String>>,
    pub(super) phases: Option<Spanned<BTreeMap<String, Vec<RawPhase>>>>,
}

/// A number as written (an integer of any size or a float), read as f64 so that range
/// checks, not the TOML reader, say what is wrong with `timeout_s = 18446744073709551616`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Number(pub(super) f64);

impl<'de> Deserialize<'de> for Number {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Number, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Number;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("timeout_s as a number of seconds, e.g. 600")
            }
            fn visit_i64<E>(self, v: i64) -> Result<Number, E> {
                Ok(Number(v as f64))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Number, E> {
                Ok(Number(v as f64))
            }
            fn visit_i128<E>(self, v: i128) -> Result<Number, E> {
                Ok(Number(v as f64))
            }
            fn visit_u128<E>(self, v: u128) -> Result<Number, E> {
                Ok(Number(v as f64))
            }
            fn visit_f64<E>(self, v: f64) -> Result<Number, E> {
                Ok(Number(v))
            }
        }
        d.deserialize_any(V)
    }
}
