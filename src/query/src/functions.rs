//! Functions whose MySQL/StarRocks semantics differ from DataFusion's.

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
    ctx.register_udf(ScalarUDF::new_from_impl(NullPropagating::new(
        datafusion::functions::string::concat(),
    )));
    for (inner, size) in [
        (datafusion::functions::string::repeat(), Size::Repeat),
        (datafusion::functions::unicode::lpad(), Size::Pad),
        (datafusion::functions::unicode::rpad(), Size::Pad),
    ] {
        ctx.register_udf(ScalarUDF::new_from_impl(Bounded {
            inner,
            size,
            limit: mem_limit,
            max_value,
        }));
    }
}

/// How large a function's result can be, from its arguments.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Size {
    /// `repeat(s, n)`: |s| × n bytes.
    Repeat,
    /// `lpad(s, n[, pad])` / `rpad`: n characters of at most 4 bytes.
    Pad,
}

/// A string function whose result is sized from its arguments before it is built: over
/// `max_allowed_packet` for one value, or over the query's memory limit for the whole call,
/// the statement fails at once instead of the server allocating gigabytes in one call that
/// nothing can interrupt (`repeat(repeat('x', 1000000000), 3)`, `lpad('x', 2147483647, 'y')`).
#[derive(Debug, PartialEq, Eq, Hash)]
struct Bounded {
    inner: Arc<ScalarUDF>,
    size: Size,
    limit: u64,
    max_value: u64,
}

impl Bounded {
    /// The largest value and the total the call would build.
    fn estimate(&self, args: &[ColumnarValue], rows: usize) -> DfResult<(u64, u64)> {
        let arrays = ColumnarValue::values_to_arrays(&args[..2.min(args.len())])?;
        let (Some(text), Some(count)) = (arrays.first(), arrays.get(1)) else {
            return Ok((0, 0));
        };
        let count = arrow::compute::cast(count, &DataType::Int64)?;
        let count = count.as_primitive::<arrow::datatypes::Int64Type>();
        let text_len = |i: usize| -> u64 {
            if text.is_null(i) {
                return 0;
            }
            match text.data_type() {
                DataType::Utf8 => text.as_string::<i32>().value(i).len() as u64,
                DataType::LargeUtf8 => text.as_string::<i64>().value(i).len() as u64,
                DataType::Utf8View => text.as_string_view().value(i).len() as u64,
                _ => 0,
            }
        };
        let (mut largest, mut total) = (0u64, 0u64);
        for i in 0..rows.min(count.len()) {
            if count.is_null(i) {
                continue;
            }
            let n = u64::try_from(count.value(i)).unwrap_or(0);
            let bytes = match self.size {
                Size::Repeat => text_len(i).saturating_mul(n),
                Size::Pad => n.saturating_mul(4).max(text_len(i)),
            };
            largest = largest.max(bytes);
            total = total.saturating_add(bytes);
        }
        Ok((largest, total))
    }
}

impl ScalarUDFImpl for Bounded {
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

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> DfResult<ColumnarValue> {
        let (largest, total) = self.estimate(&args.args, args.number_rows)?;
        let name = self.inner.name();
        if largest > self.max_value {
            return Err(DataFusionError::ResourcesExhausted(format!(
                "Memory limit exceeded: {name}() would build a string of {largest} bytes, \
                 larger than max_allowed_packet ({} bytes)",
                self.max_value
            )));
        }
        if total > self.limit {
            return Err(DataFusionError::ResourcesExhausted(format!(
                "Memory limit exceeded: {name}() would build {total} bytes of strings, more than \
                 the query's limit of {} bytes (session variable query_mem_limit, else \
                 exec_mem_limit)",
                self.limit
            )));
        }
        self.inner.invoke_with_args(args)
    }
}

/// A function that is NULL when any argument is NULL, as MySQL's `concat` is (DataFusion's,
/// like PostgreSQL's, skips NULL arguments: `concat('a', NULL)` gave `'a'`). The wrapped function
/// computes the values; the union of the arguments' nulls is put over its result.
#[derive(Debug, PartialEq, Eq, Hash)]
struct NullPropagating {
    inner: Arc<ScalarUDF>,
}

impl NullPropagating {
    fn new(inner: Arc<ScalarUDF>) -> Self {
        Self { inner }
    }
}

impl ScalarUDFImpl for NullPropagating {
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
        true
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> DfResult<ColumnarValue> {
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
        let out = self.inner.invoke_with_args(args)?;
        let Some(nulls) = nulls.filter(|n| n.null_count() > 0) else {
            return Ok(out);
        };
        let arr = out.into_array(rows)?;
        Ok(ColumnarValue::Array(with_nulls(&arr, &nulls)?))
    }
}

/// `arr` with `nulls` added to its own.
fn with_nulls(arr: &ArrayRef, nulls: &NullBuffer) -> DfResult<ArrayRef> {
    let merged = NullBuffer::union(arr.logical_nulls().as_ref(), Some(nulls));
    let data = arr.to_data().into_builder().nulls(merged).build()?;
    Ok(make_array(data))
}
