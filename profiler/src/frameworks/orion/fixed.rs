//! A small interpreter of the Cairo programs `cairo.rs` generates, with Orion v0.2.5's
//! FP16x16 arithmetic reproduced operation by operation (sign-magnitude values, products
//! truncated after `>> 16`, `exp` through FP16x16W's `exp2` polynomial and its lookup table,
//! softmax as `div_downcast(exp, reduce_sum(exp))`). It lets the tests check what the
//! generated program computes without the Cairo toolchain, and lets the adapter predict the
//! outputs a real execution must print. Where Orion would panic (a `u32` overflow, a
//! failed `try_into`) it returns an error saying so.

use std::collections::HashMap;

/// FP16x16's one (2^16).
const ONE: u64 = 65536;

/// A sign-magnitude fixed-point value (FP16x16 when `mag < 2^32`, FP16x16W otherwise).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fx {
    pub mag: u64,
    pub sign: bool,
}

impl Fx {
    pub const ZERO: Fx = Fx {
        mag: 0,
        sign: false,
    };
    pub const ONE: Fx = Fx {
        mag: ONE,
        sign: false,
    };
    fn new(mag: u64, sign: bool) -> Fx {
        Fx { mag, sign }
    }
    /// The value as a float.
    pub fn value(self) -> f64 {
        let v = self.mag as f64 / ONE as f64;
        if self.sign {
            -v
        } else {
            v
        }
    }
    fn lt_zero(self) -> bool {
        // Orion's `lt(a, 0)`: signs differ -> a.sign (a "negative zero" counts as below 0).
        self.sign
    }
}

/// Integer width of a value: FP16x16 (`u32` magnitude) or FP16x16W (`u64`).
#[derive(Clone, Copy, Debug, PartialEq)]
enum Width {
    Narrow,
    Wide,
}

fn fits(mag: u128, w: Width, what: &str) -> Result<u64, String> {
    let max = match w {
        Width::Narrow => u32::MAX as u128,
        Width::Wide => u64::MAX as u128,
    };
    if mag > max {
        Err(format!(
            "{what}: magnitude {mag} overflows {} (the Cairo program panics here)",
            if w == Width::Narrow { "u32" } else { "u64" }
        ))
    } else {
        Ok(mag as u64)
    }
}

fn add(a: Fx, b: Fx, w: Width) -> Result<Fx, String> {
    if a.sign == b.sign {
        return Ok(Fx::new(
            fits(a.mag as u128 + b.mag as u128, w, "add")?,
            a.sign,
        ));
    }
    if a.mag == b.mag {
        return Ok(Fx::ZERO);
    }
    Ok(if a.mag > b.mag {
        Fx::new(a.mag - b.mag, a.sign)
    } else {
        Fx::new(b.mag - a.mag, b.sign)
    })
}

fn mul(a: Fx, b: Fx, w: Width) -> Result<Fx, String> {
    let p = a.mag as u128 * b.mag as u128 / ONE as u128;
    Ok(Fx::new(fits(p, w, "mul")?, a.sign ^ b.sign))
}

fn div(a: Fx, b: Fx, w: Width) -> Result<Fx, String> {
    if b.mag == 0 {
        return Err("division by zero (the Cairo program panics here)".into());
    }
    let q = a.mag as u128 * ONE as u128 / b.mag as u128;
    Ok(Fx::new(fits(q, w, "div")?, a.sign ^ b.sign))
}

/// FP16x16W `exp2`, as Orion v0.2.5 computes it (integer part from a table that stops at
/// 2^16, fraction by a degree-7 polynomial).
fn exp2_wide(a: Fx) -> Result<Fx, String> {
    let w = Width::Wide;
    if a.mag == 0 {
        return Ok(Fx::ONE);
    }
    let (int_part, frac_part) = (a.mag / ONE, a.mag % ONE);
    let lut = if int_part <= 16 {
        1u64 << int_part
    } else {
        65536
    };
    let mut res = Fx::new(fits(lut as u128 * ONE as u128, w, "exp2")?, false);
    if frac_part != 0 {
        let frac = Fx::new(frac_part, false);
        let mut r = mul(Fx::new(1, false), frac, w)?;
        for c in [10, 87, 630, 3638, 15743, 45426] {
            r = mul(add(r, Fx::new(c, false), w)?, frac, w)?;
        }
        res = mul(res, add(r, Fx::ONE, w)?, w)?;
    }
    if a.sign {
        div(Fx::ONE, res, w)
    } else {
        Ok(res)
    }
}

/// FP16x16W `exp`: `exp2(log2(e) * a)` with log2(e) as 94548 / 2^16.
fn exp_wide(a: Fx) -> Result<Fx, String> {
    exp2_wide(mul(Fx::new(94548, false), a, Width::Wide)?)
}

/// Orion's FP16x16 softmax over a vector (`softmaxWide`: exp in FP16x16W, sum, then each
/// value and the sum cut back to FP16x16 and divided).
pub fn softmax(x: &[Fx]) -> Result<Vec<Fx>, String> {
    let exps: Vec<Fx> = x.iter().map(|&v| exp_wide(v)).collect::<Result<_, _>>()?;
    let mut sum = Fx::ZERO;
    for &e in &exps {
        sum = add(sum, e, Width::Wide)?;
    }
    let narrow = |v: Fx, what: &str| -> Result<Fx, String> {
        Ok(Fx::new(fits(v.mag as u128, Width::Narrow, what)?, v.sign))
    };
    let sum = narrow(sum, "softmax: the sum of exponentials as FP16x16")?;
    exps.into_iter()
        .map(|e| {
            div(
                narrow(e, "softmax: an exponential as FP16x16")?,
                sum,
                Width::Narrow,
            )
        })
        .collect()
}

/// Orion's `gemm(x [1, n], w [o, n], Some(b [o]), None, None, false, true)`: the product
/// with a dot product per output (accumulated from zero in input order), times one, plus
/// the bias.
pub fn gemm(x: &[Fx], w: &[Fx], b: &[Fx], o: usize) -> Result<Vec<Fx>, String> {
    let n = x.len();
    if w.len() != o * n || b.len() != o {
        return Err(format!(
            "gemm: shapes do not match (input {n}, weights {}, bias {}, outputs {o})",
            w.len(),
            b.len()
        ));
    }
    let mut out = Vec::with_capacity(o);
    for j in 0..o {
        let mut sum = Fx::ZERO;
        for (k, &xv) in x.iter().enumerate() {
            sum = add(sum, mul(xv, w[j * n + k], Width::Narrow)?, Width::Narrow)?;
        }
        let sum = mul(sum, Fx::ONE, Width::Narrow)?;
        out.push(add(sum, mul(b[j], Fx::ONE, Width::Narrow)?, Width::Narrow)?);
    }
    Ok(out)
}

/// Orion's relu: values below zero become zero.
pub fn relu(x: &[Fx]) -> Vec<Fx> {
    x.iter()
        .map(|&v| if v.lt_zero() { Fx::ZERO } else { v })
        .collect()
}

/// A parsed generated program: constant tensors and the statements of `main`.
#[derive(Clone, Debug, PartialEq)]
pub struct Program {
    tensors: HashMap<String, (Vec<usize>, Vec<Fx>)>,
    inputs: usize,
    ops: Vec<Op>,
}

#[derive(Clone, Debug, PartialEq)]
enum Op {
    Gemm { w: String, b: String },
    Relu,
    Softmax,
}

fn bad(line_no: usize, line: &str, what: &str) -> String {
    format!(
        "generated program line {}: {what}: `{}`",
        line_no + 1,
        line.trim()
    )
}

impl Program {
    /// Parses the restricted Cairo that `cairo::program` writes (and nothing else).
    pub fn parse(text: &str) -> Result<Program, String> {
        let mut tensors = HashMap::new();
        let mut current: Option<(String, Vec<Fx>)> = None;
        let mut in_main = false;
        let mut inputs = None;
        let mut ops = Vec::new();
        for (i, raw) in text.lines().enumerate() {
            let line = raw.trim();
            if let Some(rest) = line.strip_prefix("fn ") {
                if let Some(name) = rest.strip_suffix("() -> Tensor<FP16x16> {") {
                    current = Some((name.to_string(), Vec::new()));
                } else if rest.starts_with("main(") {
                    in_main = true;
                } else {
                    return Err(bad(i, raw, "unknown function"));
                }
                continue;
            }
            if let Some((name, data)) = current.as_mut() {
                if let Some(v) = line
                    .strip_prefix("data.append(FP16x16 { mag: ")
                    .and_then(|r| r.strip_suffix(" });"))
                {
                    let (mag, sign) = v
                        .split_once(", sign: ")
                        .ok_or_else(|| bad(i, raw, "bad literal"))?;
                    let mag: u32 = mag.parse().map_err(|_| bad(i, raw, "bad magnitude"))?;
                    let sign = match sign {
                        "true" => true,
                        "false" => false,
                        _ => return Err(bad(i, raw, "bad sign")),
                    };
                    data.push(Fx::new(mag as u64, sign));
                } else if let Some(dims) = line
                    .strip_prefix("TensorTrait::new(array![")
                    .and_then(|r| r.strip_suffix("].span(), data.span())"))
                {
                    let shape: Vec<usize> = dims
                        .split(", ")
                        .map(|d| d.parse().map_err(|_| bad(i, raw, "bad shape")))
                        .collect::<Result<_, _>>()?;
                    if shape.iter().product::<usize>() != data.len() {
                        return Err(bad(i, raw, "shape and data length differ"));
                    }
                    tensors.insert(name.clone(), (shape, std::mem::take(data)));
                    current = None;
                } else if !line.starts_with("let mut data") {
                    return Err(bad(i, raw, "unexpected statement in a tensor function"));
                }
                continue;
            }
            if !in_main {
                continue;
            }
            if let Some(n) = line
                .strip_prefix("let x = TensorTrait::new(array![1, ")
                .and_then(|r| r.strip_suffix("].span(), input.span());"))
            {
                inputs = Some(n.parse().map_err(|_| bad(i, raw, "bad input length"))?);
            } else if let Some(r) = line.strip_prefix("let x = NNTrait::gemm(x, ") {
                let (w, r) = r
                    .split_once("(), Option::Some(")
                    .ok_or_else(|| bad(i, raw, "bad gemm"))?;
                let (b, r) = r.split_once("())").ok_or_else(|| bad(i, raw, "bad gemm"))?;
                if r != ", Option::None(()), Option::None(()), false, true);" {
                    return Err(bad(i, raw, "gemm with other attributes"));
                }
                ops.push(Op::Gemm {
                    w: w.to_string(),
                    b: b.to_string(),
                });
            } else if line == "let x = NNTrait::relu(@x);" {
                ops.push(Op::Relu);
            } else if line == "let x = NNTrait::softmax(@x, Option::Some(1));" {
                ops.push(Op::Softmax);
            } else if line == "x.data" || line == "}" {
            } else {
                return Err(bad(i, raw, "unknown statement in main"));
            }
        }
        let inputs = inputs.ok_or("generated program: main never builds its input tensor")?;
        Ok(Program {
            tensors,
            inputs,
            ops,
        })
    }

    /// Runs the program on the FP16x16 input values (as `cairo::to_fp` makes them).
    pub fn run(&self, input: &[i64]) -> Result<Vec<Fx>, String> {
        if input.len() != self.inputs {
            return Err(format!(
                "the program takes {} inputs, got {}",
                self.inputs,
                input.len()
            ));
        }
        let mut x: Vec<Fx> = input
            .iter()
            .map(|&v| Fx::new(v.unsigned_abs(), v < 0))
            .collect();
        for op in &self.ops {
            x = match op {
                Op::Gemm { w, b } => {
                    let get = |n: &str| {
                        self.tensors
                            .get(n)
                            .ok_or_else(|| format!("no tensor function `{n}`"))
                    };
                    let (ws, wd) = get(w)?;
                    let (_, bd) = get(b)?;
                    gemm(&x, wd, bd, ws[0])?
                }
                Op::Relu => relu(&x),
                Op::Softmax => softmax(&x)?,
            };
        }
        Ok(x)
    }
}
