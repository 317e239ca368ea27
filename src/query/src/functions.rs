//! Functions whose MySQL/StarRocks semantics differ from DataFusion's: DataFusion's function
//! computes the values, wrapped in a policy of ours ([`Policy`]).

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, make_array};
use arrow::buffer::NullBuffer;
use arrow::datatypes::DataType;
use datafusion::common::{DataFusionError, Result as DfResult, ScalarValue};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature,
};
use datafusion::prelude::SessionContext;

/// Registers the overrides on a statement context. Functions that can build strings without
/// bound may build no value over `max_value` bytes (MySQL's rule: `max_allowed_packet`) and
/// no more than `mem_limit` bytes in one call.
pub(crate) fn register(ctx: &SessionContext, mem_limit: u64, max_value: u64) {
    let bounded = |size| Policy::Bounded {
        size,
        limit: mem_limit,
        max_value,
    };
    for (inner, policy) in [
        (
            datafusion::functions::string::concat(),
            Policy::NullPropagating,
        ),
        (
            datafusion::functions::string::repeat(),
            bounded(Size::Repeat),
        ),
        (datafusion::functions::unicode::lpad(), bounded(Size::Pad)),
        (datafusion::functions::unicode::rpad(), bounded(Size::Pad)),
    ] {
        ctx.register_udf(ScalarUDF::new_from_impl(Override { inner, policy }));
    }
    crate::datetime_fns::register(ctx);
    crate::json_fns::register(ctx);
}

/// The arguments of a call as arrays — of one row when every argument is a constant, else of
/// `rows` — and whether they were all constants (then the result is one too: see [`finish`]).
pub(crate) fn arrays(args: &[ColumnarValue], rows: usize) -> DfResult<(Vec<ArrayRef>, bool)> {
    let constant = args.iter().all(|a| matches!(a, ColumnarValue::Scalar(_)));
    let rows = if constant { 1 } else { rows };
    let arrays = args
        .iter()
        .map(|a| a.to_array(rows))
        .collect::<DfResult<Vec<_>>>()?;
    Ok((arrays, constant))
}

/// The result of a call from the array computed over [`arrays`]' arguments.
pub(crate) fn finish(out: ArrayRef, constant: bool) -> DfResult<ColumnarValue> {
    Ok(if constant {
        ColumnarValue::Scalar(ScalarValue::try_from_array(&out, 0)?)
    } else {
        ColumnarValue::Array(out)
    })
}

/// `a` as UTF-8 strings (`Utf8`): arguments coerced to `Utf8` already are, others are cast.
pub(crate) fn utf8(a: &ArrayRef) -> DfResult<ArrayRef> {
    Ok(if a.data_type() == &DataType::Utf8 {
        a.clone()
    } else {
        arrow::compute::cast(a, &DataType::Utf8)?
    })
}

/// Whether `t` is a string type (or NULL), which a string argument takes as it is.
pub(crate) fn is_string(t: &DataType) -> bool {
    matches!(
        t,
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View | DataType::Null
    )
}

/// What a wrapped function does differently.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Policy {
    /// NULL when any argument is NULL, as MySQL's `concat` is (DataFusion's, like
    /// PostgreSQL's, skips NULL arguments: `concat('a', NULL)` gave `'a'`). The union of the
    /// arguments' nulls is put over the wrapped function's result.
    NullPropagating,
    /// The result is sized from the arguments before it is built: over `max_value` for one
    /// value, or over `limit` for the whole call, the statement fails at once instead of the
    /// server allocating gigabytes in one call that nothing can interrupt
    /// (`repeat(repeat('x', 1000000000), 3)`, `lpad('x', 2147483647, 'y')`).
    Bounded {
        size: Size,
        limit: u64,
        max_value: u64,
    },
}

/// How large a function's result can be, from its arguments.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Size {
    /// `repeat(s, n)`: |s| × n bytes.
    Repeat,
    /// `lpad(s, n[, pad])` / `rpad`: n characters of at most 4 bytes.
    Pad,
}

/// DataFusion's function `inner` under `policy`.
#[derive(Debug, PartialEq, Eq, Hash)]
struct Override {
    inner: Arc<ScalarUDF>,
    policy: Policy,
}

impl ScalarUDFImpl for Override {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn signature(&self) -> &Signature {
        self.inner.signature()
    }

    fn return_type(&self, arg_types: &[DataType]) -> DfResult<DataType> {
        self.inner.return_type(arg_types)
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> DfResult<Vec<DataType>> {
        self.inner.coerce_types(arg_types)
    }

    fn is_strict(&self) -> bool {
        self.policy == Policy::NullPropagating || self.inner.is_strict()
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> DfResult<ColumnarValue> {
        match self.policy {
            Policy::NullPropagating => null_propagating(&self.inner, args),
            Policy::Bounded {
                size,
                limit,
                max_value,
            } => {
                let (largest, total) = estimate(size, &args.args, args.number_rows)?;
                let name = self.inner.name();
                if largest > max_value {
                    return Err(DataFusionError::ResourcesExhausted(format!(
                        "Memory limit exceeded: {name}() would build a string of {largest} \
                         bytes, larger than max_allowed_packet ({max_value} bytes)"
                    )));
                }
                if total > limit {
                    return Err(DataFusionError::ResourcesExhausted(format!(
                        "Memory limit exceeded: {name}() would build {total} bytes of strings, \
                         more than the query's limit of {limit} bytes (session variable \
                         query_mem_limit, else exec_mem_limit)"
                    )));
                }
                self.inner.invoke_with_args(args)
            }
        }
    }
}

fn null_propagating(inner: &ScalarUDF, args: ScalarFunctionArgs) -> DfResult<ColumnarValue> {
    let rows = args.number_rows;
    if args
        .args
        .iter()
        .any(|a| matches!(a, ColumnarValue::Scalar(s) if s.is_null()))
    {
        return Ok(ColumnarValue::Scalar(ScalarValue::try_new_null(
            args.return_field.data_type(),
        )?));
    }
    let mut nulls: Option<NullBuffer> = None;
    for a in &args.args {
        if let ColumnarValue::Array(arr) = a {
            nulls = NullBuffer::union(nulls.as_ref(), arr.logical_nulls().as_ref());
        }
    }
    let out = inner.invoke_with_args(args)?;
    let Some(nulls) = nulls.filter(|n| n.null_count() > 0) else {
        return Ok(out);
    };
    let arr = out.into_array(rows)?;
    let merged = NullBuffer::union(arr.logical_nulls().as_ref(), Some(&nulls));
    let data = arr.to_data().into_builder().nulls(merged).build()?;
    Ok(ColumnarValue::Array(make_array(data)))
}

/// The largest value and the total a call would build, from the arguments as they are (a
/// constant is not expanded to one copy per row to find out).
fn estimate(size: Size, args: &[ColumnarValue], rows: usize) -> DfResult<(u64, u64)> {
    let (Some(text), Some(count)) = (args.first(), args.get(1)) else {
        return Ok((0, 0));
    };
    let count = match count {
        ColumnarValue::Scalar(v) => Counts::One(match v.cast_to(&DataType::Int64)? {
            ScalarValue::Int64(n) => n,
            _ => None,
        }),
        ColumnarValue::Array(a) => Counts::Each(arrow::compute::cast(a, &DataType::Int64)?),
    };
    let text_at = |i: usize| -> u64 {
        match text {
            ColumnarValue::Scalar(v) => match v {
                ScalarValue::Utf8(Some(s))
                | ScalarValue::LargeUtf8(Some(s))
                | ScalarValue::Utf8View(Some(s)) => s.len() as u64,
                _ => 0,
            },
            ColumnarValue::Array(a) => text_len(a, i),
        }
    };
    let n_at = |i: usize| -> Option<i64> {
        match &count {
            Counts::One(n) => *n,
            Counts::Each(a) => {
                let a = a.as_primitive::<arrow::datatypes::Int64Type>();
                (i < a.len() && !a.is_null(i)).then(|| a.value(i))
            }
        }
    };
    // All constant: one value, computed once.
    let rows = if matches!(text, ColumnarValue::Scalar(_)) && matches!(count, Counts::One(_)) {
        1
    } else {
        rows
    };
    let (mut largest, mut total) = (0u64, 0u64);
    for i in 0..rows {
        let Some(n) = n_at(i) else { continue };
        let n = u64::try_from(n).unwrap_or(0);
        let bytes = match size {
            Size::Repeat => text_at(i).saturating_mul(n),
            Size::Pad => n.saturating_mul(4).max(text_at(i)),
        };
        largest = largest.max(bytes);
        total = total.saturating_add(bytes);
    }
    Ok((largest, total))
}

/// A count argument: one for every row, or one per row.
enum Counts {
    One(Option<i64>),
    Each(ArrayRef),
}

fn text_len(text: &ArrayRef, i: usize) -> u64 {
    if text.is_null(i) {
        return 0;
    }
    match text.data_type() {
        DataType::Utf8 => text.as_string::<i32>().value(i).len() as u64,
        DataType::LargeUtf8 => text.as_string::<i64>().value(i).len() as u64,
        DataType::Utf8View => text.as_string_view().value(i).len() as u64,
        _ => 0,
    }
}
