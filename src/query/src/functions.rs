//! Functions whose MySQL/StarRocks semantics differ from DataFusion's.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, make_array};
use arrow::buffer::NullBuffer;
use arrow::datatypes::DataType;
use datafusion::common::{Result as DfResult, ScalarValue};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature,
};
use datafusion::prelude::SessionContext;

/// Registers the overrides on a statement context.
pub(crate) fn register(ctx: &SessionContext) {
    ctx.register_udf(ScalarUDF::new_from_impl(NullPropagating::new(
        datafusion::functions::string::concat(),
    )));
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
