//! Pieces: the parts of files that load workers and query partitions take one at a time.

use std::sync::Arc;

use object_store::ObjectMeta;
use parquet::arrow::arrow_reader::{ArrowReaderMetadata, ArrowReaderOptions};
use parquet::file::metadata::ParquetMetaData;

use crate::files::FilesError;
use crate::files::store::Location;

/// Rows per Parquet piece: a file with more rows is split at row-group boundaries so two
/// readers can share it.
const PIECE_ROWS: u64 = 256 * 1024;

/// A part of one file that one reader reads.
#[derive(Debug, Clone)]
pub struct Piece {
    /// The file.
    pub file: ObjectMeta,
    /// Its name as users wrote it (`s3://bucket/key`).
    pub display: String,
    /// The file row number of the piece's first row (1-based).
    pub first_row: u64,
    /// For a Parquet piece: the file's metadata and the row groups to read.
    pub row_groups: Option<(ArrowReaderMetadata, Vec<usize>)>,
    /// For a piece of an ORC file: the byte range its stripes start in.
    pub stripes: Option<std::ops::Range<u64>>,
    /// Values a load's read of this piece could not convert (shared by its clones).
    pub failures: crate::files::ReadFailures,
}

impl Piece {
    /// The whole of `file`.
    pub fn whole(location: &Location, file: ObjectMeta) -> Self {
        Self {
            display: location.display(file.location.as_ref()),
            file,
            first_row: 1,
            row_groups: None,
            stripes: None,
            failures: Default::default(),
        }
    }
}

/// Splits an ORC file into pieces of about [`PIECE_ROWS`] rows at stripe boundaries.
pub fn orc_pieces(
    location: &Location,
    file: ObjectMeta,
    md: &orc_rust::reader::metadata::FileMetadata,
) -> Vec<Piece> {
    let stripes: Vec<(u64, u64)> = md
        .stripe_metadatas()
        .iter()
        .map(|s| (s.offset(), s.number_of_rows()))
        .collect();
    orc_split(location, file, &stripes, PIECE_ROWS)
}

fn orc_split(
    location: &Location,
    file: ObjectMeta,
    stripes: &[(u64, u64)],
    piece_rows: u64,
) -> Vec<Piece> {
    split_rows(stripes, piece_rows)
        .into_iter()
        .map(|(first_row, range)| Piece {
            stripes: Some(range),
            failures: Default::default(),
            first_row,
            ..Piece::whole(location, file.clone())
        })
        .collect()
}

/// Groups `(offset, rows)` units into runs of at least `piece_rows` rows (the last may be
/// smaller): each run's first row (1-based) and the offsets of its units, as a range.
fn split_rows(units: &[(u64, u64)], piece_rows: u64) -> Vec<(u64, std::ops::Range<u64>)> {
    let mut out = Vec::new();
    let (mut first_row, mut rows, mut start) = (1u64, 0u64, None);
    for (i, &(offset, n)) in units.iter().enumerate() {
        let from = *start.get_or_insert(offset);
        rows += n;
        if rows >= piece_rows || i + 1 == units.len() {
            out.push((first_row, from..offset + 1));
            first_row += rows;
            rows = 0;
            start = None;
        }
    }
    out
}

/// Splits a Parquet file into pieces of about [`PIECE_ROWS`] rows at row-group boundaries.
pub fn parquet_pieces(
    location: &Location,
    file: ObjectMeta,
    md: Arc<ParquetMetaData>,
) -> Result<Vec<Piece>, FilesError> {
    split_pieces(location, file, md, PIECE_ROWS)
}

fn split_pieces(
    location: &Location,
    file: ObjectMeta,
    md: Arc<ParquetMetaData>,
    piece_rows: u64,
) -> Result<Vec<Piece>, FilesError> {
    let display = location.display(file.location.as_ref());
    let meta = ArrowReaderMetadata::try_new(md, ArrowReaderOptions::new()).map_err(|e| {
        FilesError::InvalidFile(format!(
            "File {display} is not a valid Parquet file: unsupported schema: {e}"
        ))
    })?;
    let mut pieces = Vec::new();
    let mut groups = Vec::new();
    let (mut rows, mut first_row) = (0u64, 1u64);
    for (i, rg) in meta.metadata().row_groups().iter().enumerate() {
        groups.push(i);
        rows += rg.num_rows().max(0) as u64;
        if rows >= piece_rows {
            pieces.push(Piece {
                file: file.clone(),
                display: display.clone(),
                first_row,
                row_groups: Some((meta.clone(), std::mem::take(&mut groups))),
                stripes: None,
                failures: Default::default(),
            });
            first_row += rows;
            rows = 0;
        }
    }
    if !groups.is_empty() || pieces.is_empty() {
        pieces.push(Piece {
            file,
            display,
            first_row,
            row_groups: Some((meta, groups)),
            stripes: None,
            failures: Default::default(),
        });
    }
    Ok(pieces)
}

#[cfg(test)]
mod tests {
    use arrow::array::RecordBatch;
    use arrow::datatypes::{DataType, Field, Schema};

    use super::*;

    #[test]
    fn pieces_number_rows_across_row_groups() {
        use arrow::array::Int64Array;
        use parquet::arrow::ArrowWriter;
        use parquet::file::properties::WriterProperties;
        let schema = Arc::new(Schema::new(vec![Field::new("a", DataType::Int64, false)]));
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![Arc::new(Int64Array::from_iter_values(0..10))],
        )
        .unwrap();
        let props = WriterProperties::builder()
            .set_max_row_group_row_count(Some(3))
            .build();
        let mut buf = Vec::new();
        let mut w = ArrowWriter::try_new(&mut buf, schema, Some(props)).unwrap();
        w.write(&batch).unwrap();
        w.close().unwrap();
        let md = parquet::file::metadata::ParquetMetaDataReader::new()
            .parse_and_finish(&bytes::Bytes::from(buf))
            .unwrap();
        let loc = Location::parse("s3://b/k.parquet").unwrap();
        let file = ObjectMeta {
            location: "k.parquet".into(),
            last_modified: chrono::Utc::now(),
            size: 0,
            e_tag: None,
            version: None,
        };
        // Row groups of 3, 3, 3 and 1 rows; pieces of at least 5 rows.
        let pieces = split_pieces(&loc, file, Arc::new(md), 5).unwrap();
        let got: Vec<(u64, Vec<usize>)> = pieces
            .iter()
            .map(|p| (p.first_row, p.row_groups.as_ref().unwrap().1.clone()))
            .collect();
        assert_eq!(got, vec![(1, vec![0, 1]), (7, vec![2, 3])]);
        assert_eq!(pieces[0].display, "s3://b/k.parquet");
    }

    /// ORC pieces select their stripes (orc-rust reads the stripes that start in a piece's
    /// range) and number their first rows after the stripes before them.
    #[test]
    fn orc_pieces_cover_the_file_once() {
        use arrow::array::{AsArray, Int64Array};
        let schema = Arc::new(Schema::new(vec![Field::new("a", DataType::Int64, false)]));
        let mut buf = Vec::new();
        let mut w = orc_rust::arrow_writer::ArrowWriterBuilder::new(&mut buf, schema.clone())
            .with_stripe_byte_size(1)
            .try_build()
            .unwrap();
        for start in [0i64, 4, 7, 9] {
            let end = [4, 7, 9, 10][[0, 4, 7, 9].iter().position(|s| *s == start).unwrap()];
            let b = RecordBatch::try_new(
                schema.clone(),
                vec![Arc::new(Int64Array::from_iter_values(start..end))],
            )
            .unwrap();
            w.write(&b).unwrap();
            w.flush_stripe().unwrap();
        }
        w.close().unwrap();
        let bytes = bytes::Bytes::from(buf);
        let md = orc_rust::reader::metadata::read_metadata(&mut bytes.clone()).unwrap();
        let stripes: Vec<(u64, u64)> = md
            .stripe_metadatas()
            .iter()
            .map(|s| (s.offset(), s.number_of_rows()))
            .collect();
        assert_eq!(
            stripes.iter().map(|s| s.1).collect::<Vec<_>>(),
            vec![4, 3, 2, 1]
        );
        let loc = Location::parse("s3://b/k.orc").unwrap();
        let file = ObjectMeta {
            location: "k.orc".into(),
            last_modified: chrono::Utc::now(),
            size: bytes.len() as u64,
            e_tag: None,
            version: None,
        };
        // Pieces of at least 5 rows: stripes 4+3, then 2+1.
        let pieces = orc_split(&loc, file, &stripes, 5);
        let mut got = Vec::new();
        for p in &pieces {
            let r = p.stripes.clone().unwrap();
            let reader = orc_rust::arrow_reader::ArrowReaderBuilder::try_new(bytes.clone())
                .unwrap()
                .with_file_byte_range(r.start as usize..r.end as usize)
                .build();
            let mut values = Vec::new();
            for b in reader {
                let b = b.unwrap();
                values.extend(
                    b.column(0)
                        .as_primitive::<arrow::datatypes::Int64Type>()
                        .values()
                        .iter()
                        .copied(),
                );
            }
            // Row n of the file (1-based) holds the value n - 1.
            assert_eq!(values.first().map(|v| *v as u64 + 1), Some(p.first_row));
            got.extend(values);
        }
        assert_eq!(pieces.len(), 2);
        assert_eq!(got, (0..10).collect::<Vec<i64>>());
    }
}
