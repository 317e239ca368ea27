//! Where a load's rows come from.
//!
//! When the source query only projects and filters one FILES() call (the usual
//! `INSERT INTO t SELECT … FROM FILES(…) [WHERE …]`), the load reads the files in *pieces* —
//! a file, or a share of a Parquet file's row groups — on several workers, and plans the query
//! once per piece with the row's number in its file carried through as a last column. Every
//! rejected row is then reported with its file and row, whatever the WHERE clause removed
//! before it, and loading starts before a long listing ends. Any other query (joins, grouping,
//! several FILES() calls, VALUES) runs as one stream.

use std::sync::Arc;

use arrow::datatypes::DataType;
use datafusion::common::tree_node::TreeNode;
use datafusion::common::{Column, DFSchema, plan_err};
use datafusion::datasource::provider_as_source;
use datafusion::execution::session_state::{SessionState, SessionStateBuilder};
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::logical_expr::{
    Expr, Filter, LogicalPlan, Projection, SubqueryAlias, TableScan, TableScanBuilder, TableSource,
};
use datafusion::physical_plan::{ExecutionPlan, execute_stream};
use strata_common::types::SrType;
use strata_query::files::{FilesSource, Piece, PieceSlot, ROW_COLUMN};
use strata_sql::FILES_SCHEMA;

use crate::Result;
use crate::load::convert::Converter;
use crate::query::Planned;

/// A load's rows.
pub enum LoadSource {
    /// One stream, numbered in order, from no particular file.
    Stream(SendableRecordBatchStream),
    /// Pieces of one FILES() call's files, read in parallel.
    Files(Box<FilesLoad>),
}

impl LoadSource {
    /// Chooses how to read a planned source query whose rows `converter` converts.
    pub(crate) async fn new(planned: Planned, converter: &Converter) -> Result<Self> {
        let Planned {
            ctx, plan, sources, ..
        } = planned;
        if let [(table, files)] = sources.as_slice()
            && per_piece(&plan, table)
        {
            let text_columns = if files.is_csv() {
                text_columns(&plan, table, converter)
            } else {
                Vec::new()
            };
            // Parallelism comes from the pieces: each piece runs as one partition.
            let config = ctx.state().config().clone().with_target_partitions(1);
            let state = SessionStateBuilder::new_from_existing(ctx.state())
                .with_config(config)
                .build();
            return Ok(Self::Files(Box::new(FilesLoad {
                state,
                template: plan,
                table: table.clone(),
                files: files.clone(),
                text_columns,
            })));
        }
        let stream = ctx
            .execute_logical_plan(plan)
            .await?
            .execute_stream()
            .await?;
        Ok(Self::Stream(stream))
    }
}

/// A load that reads one FILES() call piece by piece.
pub struct FilesLoad {
    state: SessionState,
    template: LogicalPlan,
    table: String,
    /// The files.
    pub files: Arc<FilesSource>,
    /// CSV columns read as text, converted by the load to their targets' types.
    text_columns: Vec<usize>,
}

impl FilesLoad {
    /// A worker's plan of the source query: planned once, run once per piece.
    pub async fn worker(&self) -> Result<PieceReader> {
        let slot = PieceSlot::default();
        let source = provider_as_source(self.files.piece_table(slot.clone(), &self.text_columns));
        let plan = with_rows(&self.template, &self.table, &source)?;
        let physical = self.state.create_physical_plan(&plan).await?;
        Ok(PieceReader {
            slot,
            physical,
            task_ctx: self.state.task_ctx(),
        })
    }
}

/// One worker's physical plan of the source query over whichever piece is in its slot.
pub struct PieceReader {
    slot: PieceSlot,
    physical: Arc<dyn ExecutionPlan>,
    task_ctx: Arc<TaskContext>,
}

impl PieceReader {
    /// The source query's rows from `piece`; the last column is [`ROW_COLUMN`].
    pub fn read(&self, piece: Piece) -> Result<SendableRecordBatchStream> {
        self.slot.set(piece);
        Ok(execute_stream(
            self.physical.clone(),
            self.task_ctx.clone(),
        )?)
    }
}

fn is_files_scan(scan: &TableScan, table: &str) -> bool {
    scan.table_name.table() == table && scan.table_name.schema() == Some(FILES_SCHEMA)
}

fn has_subquery(exprs: &[Expr]) -> bool {
    exprs.iter().any(|e| {
        e.exists(|e| {
            Ok(matches!(
                e,
                Expr::ScalarSubquery(_) | Expr::InSubquery(_) | Expr::Exists(_)
            ))
        })
        .unwrap_or(true)
    })
}

/// True when `plan` is projections, filters and aliases over the one FILES() scan: then
/// running it per piece and concatenating gives the same rows.
fn per_piece(plan: &LogicalPlan, table: &str) -> bool {
    if !matches!(plan, LogicalPlan::Projection(_)) {
        return false;
    }
    let mut node = plan;
    loop {
        node = match node {
            LogicalPlan::Projection(p) if !has_subquery(&p.expr) => &p.input,
            LogicalPlan::Filter(f) if !has_subquery(std::slice::from_ref(&f.predicate)) => &f.input,
            LogicalPlan::SubqueryAlias(a) => &a.input,
            LogicalPlan::TableScan(scan) => return is_files_scan(scan, table),
            _ => return false,
        };
    }
}

/// The CSV columns of a per-piece plan that the load should read as text: those that go
/// straight (a bare column of the top projection, perhaps renamed) into a target column whose
/// type the inferred one would not carry exactly — a string (`00123`, `1.50` kept as
/// written), a DECIMAL, a date or datetime, JSON — and that nothing else in the query uses (a filter or an expression needs the
/// inferred type it was planned with).
fn text_columns(plan: &LogicalPlan, table: &str, converter: &Converter) -> Vec<usize> {
    let LogicalPlan::Projection(top) = plan else {
        return Vec::new();
    };
    // Columns used other than as a bare output: those keep their inferred type.
    let mut used: Vec<String> = Vec::new();
    let mut node = top.input.as_ref();
    let scan = loop {
        node = match node {
            LogicalPlan::Filter(f) => {
                used.extend(f.predicate.column_refs().iter().map(|c| c.name.clone()));
                &f.input
            }
            LogicalPlan::SubqueryAlias(a) => &a.input,
            LogicalPlan::TableScan(scan) if is_files_scan(scan, table) => break scan,
            _ => return Vec::new(),
        };
    };
    for f in &scan.filters {
        used.extend(f.column_refs().iter().map(|c| c.name.clone()));
    }
    let bare = |e: &Expr| match e.clone().unalias() {
        Expr::Column(c) => Some(c.name),
        _ => None,
    };
    for e in &top.expr {
        if bare(e).is_none() {
            used.extend(e.column_refs().iter().map(|c| c.name.clone()));
        }
    }
    let file_schema = scan.source.schema();
    let mut out = Vec::new();
    for (si, e) in top.expr.iter().enumerate() {
        let (Some(name), Some(target)) = (bare(e), converter.target_of(si)) else {
            continue;
        };
        if used.contains(&name) {
            continue;
        }
        let Ok(fi) = file_schema.index_of(&name) else {
            continue;
        };
        if wants_text(file_schema.field(fi).data_type(), target) && !out.contains(&fi) {
            out.push(fi);
        }
    }
    out
}

/// Whether a CSV column inferred as `inferred` loads exactly into `target` only from its text.
fn wants_text(inferred: &DataType, target: &SrType) -> bool {
    use SrType::*;
    if matches!(
        inferred,
        DataType::Utf8 | DataType::Utf8View | DataType::LargeUtf8
    ) {
        return false;
    }
    // An integer target from an inferred DOUBLE: its text, so that an integer past 2^53 loads
    // exactly; the load converts any other value as the DOUBLE it was inferred as (`1.0` and
    // `2.5` load as 1 and 2). From an inferred integer, the numeric path is already exact.
    let double = matches!(inferred, DataType::Float64 | DataType::Float32);
    matches!(
        target,
        Char(_) | Varchar(_) | Decimal(..) | Date | Datetime | Json
    ) || (double && target.is_integer())
}

/// `plan` over `source` (a piece table), with [`ROW_COLUMN`] carried up to the last output
/// column.
fn with_rows(
    plan: &LogicalPlan,
    table: &str,
    source: &Arc<dyn TableSource>,
) -> datafusion::common::Result<LogicalPlan> {
    Ok(match plan {
        LogicalPlan::TableScan(scan) if is_files_scan(scan, table) => {
            let row = source.schema().fields().len() - 1;
            let projection = scan.projection.clone().map(|mut p| {
                p.push(row);
                p
            });
            LogicalPlan::TableScan(
                TableScanBuilder::new(scan.table_name.clone(), source.clone())
                    .with_projection(projection)
                    .with_filters(scan.filters.clone())
                    .with_fetch(scan.fetch)
                    .build()?,
            )
        }
        LogicalPlan::Filter(f) => LogicalPlan::Filter(Filter::try_new(
            f.predicate.clone(),
            Arc::new(with_rows(&f.input, table, source)?),
        )?),
        LogicalPlan::SubqueryAlias(a) => LogicalPlan::SubqueryAlias(SubqueryAlias::try_new(
            Arc::new(with_rows(&a.input, table, source)?),
            a.alias.clone(),
        )?),
        LogicalPlan::Projection(p) => {
            let input = with_rows(&p.input, table, source)?;
            let mut expr = p.expr.clone();
            expr.push(row_column(input.schema())?);
            LogicalPlan::Projection(Projection::try_new(expr, Arc::new(input))?)
        }
        other => return plan_err!("cannot read {other} piece by piece"),
    })
}

fn row_column(schema: &DFSchema) -> datafusion::common::Result<Expr> {
    let (qualifier, field) = schema.qualified_field_with_unqualified_name(ROW_COLUMN)?;
    Ok(Expr::Column(Column::new(qualifier.cloned(), field.name())))
}
