//! `FILES()`: list, infer and read files in S3-compatible storage or on local disk.

mod csv;
mod infer;
pub mod list;
mod orc_json;
pub mod props;
pub mod store;

use std::sync::Arc;

use arrow::datatypes::{Field, Schema, SchemaRef};
use datafusion::catalog::TableProvider;
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::{
    ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl,
};
use object_store::{ObjectMeta, ObjectStore};
use strata_common::types::SrType;
use strata_common::{ErrorExt, StatusCode};

pub use props::{FilesOptions, Format};
pub use store::Location;

use crate::types::arrow_type;

/// Why a FILES() call failed.
#[derive(Debug, thiserror::Error)]
pub enum FilesError {
    /// A property is missing or has a bad value.
    #[error("{0}")]
    InvalidProperty(String),
    /// A path cannot be used.
    #[error("{0}")]
    InvalidPath(String),
    /// Not built yet.
    #[error("{0} is not supported yet")]
    Unsupported(String),
    /// No file matched.
    #[error(
        "No files were found matching the pattern(s) or path(s): '{0}'. You should check whether there are files under the path, and make sure the process has the permission to access the path"
    )]
    NoFiles(String),
    /// The storage refused or failed.
    #[error("{0}")]
    StorageAccess(String),
    /// A file is not what its format says.
    #[error("{0}")]
    InvalidFile(String),
    /// Schemas of sampled files conflict.
    #[error("{0}")]
    SchemaConflict(String),
}

impl ErrorExt for FilesError {
    fn status_code(&self) -> StatusCode {
        match self {
            FilesError::InvalidProperty(_) | FilesError::InvalidPath(_) => {
                StatusCode::InvalidArguments
            }
            FilesError::Unsupported(_) => StatusCode::Unsupported,
            FilesError::NoFiles(_) => StatusCode::FileNotFound,
            FilesError::StorageAccess(_) => StatusCode::StorageAccessFailed,
            FilesError::InvalidFile(_) | FilesError::SchemaConflict(_) => StatusCode::InvalidFile,
        }
    }
}

/// A resolved FILES() call: the files it matched and the schema a load will use.
pub struct FilesSource {
    /// Options.
    pub options: FilesOptions,
    /// Where the files live.
    pub location: Location,
    /// The store.
    pub store: Arc<dyn ObjectStore>,
    /// Matched files, in listing order.
    pub files: Vec<ObjectMeta>,
    /// Inferred columns with StarRocks types.
    pub columns: Vec<(String, SrType)>,
    /// Total rows, when the footers of all files were read (drives load PROGRESS).
    pub known_rows: Option<u64>,
}

impl FilesSource {
    /// Lists the files and infers the schema.
    pub async fn resolve(props: &[(String, String)]) -> Result<Self, FilesError> {
        let options = FilesOptions::parse(props)?;
        let location = Location::parse(&options.paths[0])?;
        let resolved = store::resolve(&location, &options.storage)?;
        let mut files = Vec::new();
        for p in &options.paths {
            let loc = Location::parse(p)?;
            if loc.store_url() != location.store_url() {
                return Err(FilesError::Unsupported(
                    "paths in more than one bucket or scheme in one FILES() call".into(),
                ));
            }
            files.extend(list::list(p, &loc, &resolved).await?);
        }
        if files.is_empty() {
            return Err(FilesError::NoFiles(options.paths.join(",")));
        }
        let inferred = infer::infer(&options, &location, &resolved, &files).await?;
        Ok(Self {
            known_rows: inferred.rows,
            options,
            location,
            store: resolved.store,
            files,
            columns: inferred.columns,
        })
    }

    /// The URL the store must be registered under.
    pub fn store_url(&self) -> String {
        self.location.store_url()
    }

    /// Total bytes of the matched files.
    pub fn total_size(&self) -> u64 {
        self.files.iter().map(|f| f.size).sum()
    }

    /// The Arrow schema rows are read as.
    pub fn schema(&self) -> SchemaRef {
        Arc::new(Schema::new(
            self.columns
                .iter()
                .map(|(n, t)| Field::new(n, arrow_type(t), true))
                .collect::<Vec<_>>(),
        ))
    }

    /// A table provider reading the matched files.
    pub fn table(&self) -> datafusion::common::Result<Arc<dyn TableProvider>> {
        let urls = self
            .files
            .iter()
            .map(|f| ListingTableUrl::parse(format!("{}/{}", self.store_url(), f.location)))
            .collect::<datafusion::common::Result<Vec<_>>>()?;
        let format = match self.options.format {
            Format::Parquet => ParquetFormat::default().with_force_view_types(false),
            Format::Csv | Format::Json | Format::Orc => {
                let kind = match self.options.format {
                    Format::Csv => csv::ReadKind::Csv(self.options.csv.clone()),
                    Format::Json => csv::ReadKind::Json,
                    _ => csv::ReadKind::Orc,
                };
                return csv::table(
                    self.store.clone(),
                    self.location.clone(),
                    &self.files,
                    self.schema(),
                    kind,
                    self.options.fill_mismatch_null,
                );
            }
        };
        let options = ListingOptions::new(Arc::new(format)).with_file_extension("");
        let config = ListingTableConfig::new_with_multi_paths(urls)
            .with_listing_options(options)
            .with_schema(self.schema());
        Ok(Arc::new(ListingTable::try_new(config)?))
    }
}
