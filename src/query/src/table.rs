//! A Strata table as a DataFusion table: a snapshot of its segments, pruned by bucket, scanned
//! as Parquet with row-group and page statistics.

use std::sync::Arc;

use arrow::datatypes::SchemaRef;
use async_trait::async_trait;
use datafusion::catalog::Session;
use datafusion::common::stats::Precision;
use datafusion::common::{Result as DfResult, ScalarValue, Statistics, project_schema};
use datafusion::datasource::TableProvider;
use datafusion::datasource::file_format::FileFormat;
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::PartitionedFile;
use datafusion::datasource::physical_plan::{FileGroup, FileScanConfigBuilder};
use datafusion::datasource::table_schema::TableSchema;
use datafusion::execution::object_store::ObjectStoreUrl;
use datafusion::logical_expr::{
    BinaryExpr, Expr, Operator, TableProviderFilterPushDown, TableType,
};
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_plan::empty::EmptyExec;
use strata_catalog::{DistributionMeta, Segment, TableMeta};
use strata_storage::DATA_STORE_URL;
use strata_storage::hash::{HashValue, bucket_of, hash_row};

use crate::types::table_schema;

/// `schema` with each string column's declared type in its field metadata, which result sets
/// report to drivers (ResultSetMetaData's precision of a `varchar(20)` is 20).
fn described(schema: SchemaRef, meta: &TableMeta) -> SchemaRef {
    let fields: Vec<arrow::datatypes::Field> = schema
        .fields()
        .iter()
        .zip(&meta.def.columns)
        .map(|(f, c)| {
            if c.ty.is_string() {
                let md = std::collections::HashMap::from([(
                    strata_common::types::field_meta::TYPE_KEY.to_string(),
                    c.ty.describe(),
                )]);
                f.as_ref().clone().with_metadata(md)
            } else {
                f.as_ref().clone()
            }
        })
        .collect();
    std::sync::Arc::new(arrow::datatypes::Schema::new(fields))
}

/// A catalog table with the segment list taken when the statement resolved it.
#[derive(Debug)]
pub struct StrataTable {
    meta: TableMeta,
    schema: SchemaRef,
    segments: Vec<Segment>,
}

impl StrataTable {
    /// A table over the given snapshot of segments.
    pub fn new(meta: TableMeta, segments: Vec<Segment>) -> Self {
        let schema = described(table_schema(&meta.def), &meta);
        Self {
            meta,
            schema,
            segments,
        }
    }

    /// Buckets that can hold rows matching `filters`, or `None` for all.
    fn pruned_buckets(&self, filters: &[Expr]) -> Option<Vec<u32>> {
        let DistributionMeta::Hash(cols) = &self.meta.def.distribution else {
            return None;
        };
        let buckets = self.meta.def.bucket_count();
        // For each distribution column, the literal values it must equal.
        let mut per_col: Vec<Vec<ScalarValue>> = Vec::with_capacity(cols.len());
        for col in cols {
            let vals = filters.iter().find_map(|f| equality_values(f, col))?;
            per_col.push(vals);
        }
        // Cartesian product, bounded to keep planning cheap.
        let mut rows: Vec<Vec<ScalarValue>> = vec![Vec::new()];
        for vals in per_col {
            let mut next = Vec::new();
            for r in &rows {
                for v in &vals {
                    let mut r = r.clone();
                    r.push(v.clone());
                    next.push(r);
                }
            }
            if next.len() > 1024 {
                return None;
            }
            rows = next;
        }
        let mut out = Vec::new();
        for r in rows {
            let hv: Option<Vec<HashValue<'_>>> = r.iter().map(hash_value).collect();
            let b = bucket_of(hash_row(&hv?), buckets);
            if !out.contains(&b) {
                out.push(b);
            }
        }
        Some(out)
    }
}

/// `col = lit`, `lit = col` or `col IN (lits)` on column `col`.
fn equality_values(e: &Expr, col: &str) -> Option<Vec<ScalarValue>> {
    let is_col = |e: &Expr| matches!(e, Expr::Column(c) if c.name.eq_ignore_ascii_case(col));
    match e {
        Expr::BinaryExpr(BinaryExpr {
            left,
            op: Operator::Eq,
            right,
        }) => match (left.as_ref(), right.as_ref()) {
            (l, Expr::Literal(v, _)) if is_col(l) => Some(vec![v.clone()]),
            (Expr::Literal(v, _), r) if is_col(r) => Some(vec![v.clone()]),
            _ => None,
        },
        Expr::InList(il) if !il.negated && is_col(&il.expr) => il
            .list
            .iter()
            .map(|x| match x {
                Expr::Literal(v, _) => Some(v.clone()),
                _ => None,
            })
            .collect(),
        _ => None,
    }
}

fn hash_value(v: &ScalarValue) -> Option<HashValue<'_>> {
    Some(match v {
        _ if v.is_null() => HashValue::Null,
        ScalarValue::Boolean(Some(b)) => HashValue::Int(i64::from(*b)),
        ScalarValue::Int8(Some(i)) => HashValue::Int(i64::from(*i)),
        ScalarValue::Int16(Some(i)) => HashValue::Int(i64::from(*i)),
        ScalarValue::Int32(Some(i)) => HashValue::Int(i64::from(*i)),
        ScalarValue::Int64(Some(i)) => HashValue::Int(*i),
        ScalarValue::Date32(Some(d)) => HashValue::Int(i64::from(*d)),
        ScalarValue::TimestampMicrosecond(Some(t), _) => HashValue::Int(*t),
        ScalarValue::Decimal128(Some(d), _, _) => HashValue::I128(*d),
        ScalarValue::Float32(Some(f)) => HashValue::Float(f64::from(*f)),
        ScalarValue::Float64(Some(f)) => HashValue::Float(*f),
        ScalarValue::Utf8(Some(s)) | ScalarValue::Utf8View(Some(s)) => {
            HashValue::Bytes(s.as_bytes())
        }
        _ => return None,
    })
}

#[async_trait]
impl TableProvider for StrataTable {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    fn supports_filters_pushdown(
        &self,
        filters: &[&Expr],
    ) -> DfResult<Vec<TableProviderFilterPushDown>> {
        Ok(vec![TableProviderFilterPushDown::Inexact; filters.len()])
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> DfResult<Arc<dyn ExecutionPlan>> {
        let keep = self.pruned_buckets(filters);
        let kept: Vec<&Segment> = self
            .segments
            .iter()
            .filter(|s| keep.as_ref().is_none_or(|k| k.contains(&s.bucket)))
            .collect();
        // The catalog's row counts are exact: `count(*)` with no filter is answered from
        // them (DataFusion's aggregate-statistics rule) without opening a file.
        let statistics = Statistics {
            num_rows: Precision::Exact(kept.iter().map(|s| s.rows as usize).sum()),
            total_byte_size: Precision::Inexact(kept.iter().map(|s| s.bytes as usize).sum()),
            column_statistics: Statistics::unknown_column(&self.schema),
        };
        let files: Vec<PartitionedFile> = kept
            .iter()
            .map(|s| PartitionedFile::new(s.path.clone(), s.bytes))
            .collect();
        if files.is_empty() {
            let schema = project_schema(&self.schema, projection)?;
            return Ok(Arc::new(EmptyExec::new(schema)));
        }
        // The catalog knows every file and its size: no listing, no HEAD per file. A missing
        // file is an error at read time, never silently empty.
        let n = state.config().target_partitions().clamp(1, files.len());
        let mut groups: Vec<Vec<PartitionedFile>> = vec![Vec::new(); n];
        for (i, f) in files.into_iter().enumerate() {
            groups[i % n].push(f);
        }
        let format = ParquetFormat::default().with_options(state.table_options().parquet.clone());
        let source = format.file_source(TableSchema::from(self.schema.clone()));
        let config = FileScanConfigBuilder::new(ObjectStoreUrl::parse(DATA_STORE_URL)?, source)
            .with_file_groups(groups.into_iter().map(FileGroup::new).collect())
            .with_projection_indices(projection.cloned())?
            .with_limit(limit)
            .with_statistics(statistics)
            .build();
        format.create_physical_plan(state, config).await
    }
}
