//! FILES() properties: parsing and validation with StarRocks' messages.

use std::collections::BTreeMap;

use strata_common::types::SrType;

use crate::files::FilesError;

/// Supported formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Apache Parquet.
    Parquet,
    /// Delimited text.
    Csv,
    /// Apache ORC.
    Orc,
    /// Newline-delimited JSON (a Strata extension: StarRocks' FILES() has no JSON).
    Json,
    /// Apache Avro object container files.
    Avro,
}

impl Format {
    /// The format's name, as errors say it.
    pub fn name(self) -> &'static str {
        match self {
            Format::Parquet => "Parquet",
            Format::Csv => "CSV",
            Format::Orc => "ORC",
            Format::Json => "JSON",
            Format::Avro => "Avro",
        }
    }
}

/// A text file's compression codec.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Codec {
    /// Not compressed.
    Plain,
    /// gzip.
    Gzip,
    /// bzip2.
    Bzip2,
    /// Zstandard.
    Zstd,
    /// xz.
    Xz,
    /// zlib deflate.
    Deflate,
    /// LZ4 frames.
    Lz4,
}

/// Codec names, as a `compression` value or a file suffix.
const CODECS: &[(&str, Codec)] = &[
    ("gzip", Codec::Gzip),
    ("gz", Codec::Gzip),
    ("bzip2", Codec::Bzip2),
    ("bz2", Codec::Bzip2),
    ("zstd", Codec::Zstd),
    ("zst", Codec::Zstd),
    ("xz", Codec::Xz),
    ("deflate", Codec::Deflate),
    ("lz4", Codec::Lz4),
    ("lz4_frame", Codec::Lz4),
    ("none", Codec::Plain),
    ("uncompressed", Codec::Plain),
    ("plain", Codec::Plain),
];

impl Codec {
    /// The codec a `compression` value names.
    pub fn by_name(name: &str) -> Option<Self> {
        let name = name.to_ascii_lowercase();
        CODECS.iter().find(|(n, _)| *n == name).map(|(_, c)| *c)
    }

    /// The codec a file name's suffix implies (`.gz`, `.bz2`, `.zst`, `.xz`, `.deflate`,
    /// `.lz4`); plain otherwise.
    pub fn by_suffix(path: &str) -> Self {
        path.rsplit_once('.')
            .and_then(|(_, ext)| Self::by_name(ext))
            .filter(|c| *c != Codec::Plain)
            .unwrap_or(Codec::Plain)
    }
}

/// A boolean property: `true`/`false` in any case, else StarRocks' error.
pub(crate) fn flag(key: &str, value: Option<&str>, default: bool) -> Result<bool, FilesError> {
    match value.map(|v| v.trim().to_ascii_lowercase()) {
        None => Ok(default),
        Some(v) if v == "true" => Ok(true),
        Some(v) if v == "false" => Ok(false),
        Some(v) => Err(bad(format!(
            "illegal value of {key}: {v}, only true/false allowed"
        ))),
    }
}

/// CSV options (`csv.*`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsvOptions {
    /// Column separator (1 to 50 bytes).
    pub separator: Vec<u8>,
    /// Row delimiter (1 to 50 bytes).
    pub row_delimiter: Vec<u8>,
    /// Rows skipped at the start of each file.
    pub skip_header: usize,
    /// Quote character.
    pub enclose: Option<u8>,
    /// Escape character.
    pub escape: Option<u8>,
    /// Trim spaces around fields.
    pub trim_space: bool,
}

/// What a FILES() call asks for.
#[derive(Debug, Clone)]
pub struct FilesOptions {
    /// Path patterns (the `path` value split at commas).
    pub paths: Vec<String>,
    /// Format.
    pub format: Format,
    /// CSV options.
    pub csv: CsvOptions,
    /// Files sampled for schema inference.
    pub sample_files: usize,
    /// Rows per file sampled for CSV inference.
    pub sample_rows: usize,
    /// CSV: infer types (else all VARCHAR).
    pub detect_types: bool,
    /// Missing columns read as NULL instead of failing.
    pub fill_mismatch_null: bool,
    /// `key=value` path segments turned into columns.
    pub columns_from_path: Vec<String>,
    /// `aws.s3.*` and other storage properties.
    pub storage: BTreeMap<String, String>,
    /// `compression` of CSV/JSON files; `None`: by file suffix.
    pub compression: Option<Codec>,
    /// `list_files_only`: the call lists what the paths match instead of reading it.
    pub list_files_only: bool,
    /// `list_recursively`: a listed directory comes with everything below it.
    pub list_recursively: bool,
    /// JSON files' shape (`json.*`): arrays, a root, JSON paths.
    pub json: crate::files::JsonShape,
    /// `schema`: the columns, by name and type, instead of inferring them from the files.
    pub schema: Option<Vec<(String, SrType)>>,
}

const KNOWN: &[&str] = &[
    "path",
    "format",
    "compression",
    "csv.column_separator",
    "csv.row_delimiter",
    "csv.skip_header",
    "csv.enclose",
    "csv.escape",
    "csv.trim_space",
    "columns_from_path",
    "auto_detect_sample_files",
    "auto_detect_sample_rows",
    "auto_detect_types",
    "fill_mismatch_column_with",
    "strict_mode",
    "list_files_only",
    "list_recursively",
    "json.strip_outer_array",
    "json.json_root",
    "json.jsonpaths",
    "json.jsonpath_names",
    "schema",
];

/// Storage keys FILES accepts (credentials and endpoint).
pub const STORAGE_KEYS: &[&str] = &[
    "aws.s3.access_key",
    "aws.s3.secret_key",
    "aws.s3.session_token",
    "aws.s3.region",
    "aws.s3.endpoint",
    "aws.s3.enable_ssl",
    "aws.s3.enable_path_style_access",
    "aws.s3.use_instance_profile",
    "aws.s3.use_aws_sdk_default_behavior",
    "aws.s3.iam_role_arn",
];

/// Splits `path` at commas, except commas inside `{a,b}` glob alternatives.
pub fn split_paths(path: &str) -> Vec<String> {
    let mut out = Vec::new();
    let (mut depth, mut cur) = (0usize, String::new());
    for c in path.chars() {
        match c {
            '{' => depth += 1,
            '}' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                out.push(std::mem::take(&mut cur));
                continue;
            }
            _ => {}
        }
        cur.push(c);
    }
    out.push(cur);
    out.into_iter()
        .map(|p| p.trim().to_string())
        .filter(|p| !p.is_empty())
        .collect()
}

fn bad(msg: impl Into<String>) -> FilesError {
    FilesError::InvalidProperty(msg.into())
}

/// A separator as written in SQL: literal characters and `\t`, `\n`, `\r`, `\xHH` escapes, in
/// any mix (`||`, `\x01\x02`, `\r\n`), 1 to 50 bytes.
fn separator(key: &str, v: &str) -> Result<Vec<u8>, FilesError> {
    let mut bytes = Vec::new();
    let mut rest = v;
    while let Some(c) = rest.chars().next() {
        let esc = rest.as_bytes();
        let (b, n) = match esc {
            [b'\\', b't', ..] => (b'\t', 2),
            [b'\\', b'n', ..] => (b'\n', 2),
            [b'\\', b'r', ..] => (b'\r', 2),
            [b'\\', b'x', h1, h2, ..] if h1.is_ascii_hexdigit() && h2.is_ascii_hexdigit() => {
                let hex = [*h1, *h2];
                let hex = std::str::from_utf8(&hex).unwrap_or("0");
                (u8::from_str_radix(hex, 16).unwrap_or(0), 4)
            }
            _ => {
                bytes.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes());
                rest = &rest[c.len_utf8()..];
                continue;
            }
        };
        bytes.push(b);
        rest = &rest[n..];
    }
    if bytes.is_empty() || bytes.len() > 50 {
        return Err(bad(format!(
            "The valid bytes length for '{key}' is [1, 50]"
        )));
    }
    Ok(bytes)
}

impl FilesOptions {
    /// Parses FILES() properties.
    pub fn parse(props: &[(String, String)]) -> Result<Self, FilesError> {
        let mut map = BTreeMap::new();
        let mut storage = BTreeMap::new();
        for (k, v) in props {
            if STORAGE_KEYS.contains(&k.as_str()) {
                storage.insert(k.clone(), v.clone());
            } else if KNOWN.contains(&k.as_str()) {
                map.insert(k.as_str(), v.clone());
            } else if k.starts_with("aws.")
                || k.starts_with("fs.")
                || k.starts_with("azure.")
                || k.starts_with("gcp.")
            {
                return Err(FilesError::Unsupported(format!("storage property '{k}'")));
            } else {
                return Err(bad(format!(
                    "Unknown property '{k}' for FILES(); see the FILES() reference for valid keys"
                )));
            }
        }
        let path = map.get("path").map(|s| s.trim()).unwrap_or("");
        if path.is_empty() {
            return Err(bad(
                "path is null. Please add properties(path='xxx') when create table",
            ));
        }
        let paths = split_paths(path);
        let list_files_only = flag(
            "list_files_only",
            map.get("list_files_only").map(String::as_str),
            false,
        )?;
        let format = match map.get("format").map(|f| f.to_ascii_lowercase()) {
            // A listing reads no file: no format needed.
            None if list_files_only => Format::Parquet,
            None => {
                return Err(bad(
                    "format is null. Please add properties(format='xxx') when create table",
                ));
            }
            Some(f) if f == "parquet" => Format::Parquet,
            Some(f) if f == "csv" => Format::Csv,
            Some(f) if f == "orc" => Format::Orc,
            Some(f) if f == "json" => Format::Json,
            Some(f) if f == "avro" => Format::Avro,
            Some(f) => return Err(bad(format!("not supported format: {f}"))),
        };
        let get_bool = |k: &str, default: bool| flag(k, map.get(k).map(String::as_str), default);
        let get_usize = |k: &str, default: usize| -> Result<usize, FilesError> {
            match map.get(k) {
                None => Ok(default),
                Some(v) => v
                    .trim()
                    .parse()
                    .map_err(|_| bad(format!("failed to parse {k}: {v}"))),
            }
        };
        let one_byte = |k: &str| -> Result<Option<u8>, FilesError> {
            match map.get(k) {
                None => Ok(None),
                Some(v) if v.is_empty() => Err(bad(format!("empty property {k}"))),
                Some(v) => Ok(Some(v.as_bytes()[0])),
            }
        };
        let csv = CsvOptions {
            separator: match map.get("csv.column_separator") {
                Some(v) => separator("csv.column_separator", v)?,
                None => vec![b'\t'],
            },
            row_delimiter: match map.get("csv.row_delimiter") {
                Some(v) => separator("csv.row_delimiter", v)?,
                None => vec![b'\n'],
            },
            skip_header: get_usize("csv.skip_header", 0)?,
            enclose: one_byte("csv.enclose")?,
            escape: one_byte("csv.escape")?,
            trim_space: get_bool("csv.trim_space", false)?,
        };
        let fill_mismatch_null = match map
            .get("fill_mismatch_column_with")
            .map(|v| v.to_ascii_lowercase())
        {
            None => false,
            Some(v) if v == "none" => false,
            Some(v) if v == "null" => true,
            Some(v) => {
                return Err(bad(format!(
                    "Invalid fill_mismatch_column_with: '{v}'. Expected values should be none, null (case insensitive)."
                )));
            }
        };
        let columns_from_path = map
            .get("columns_from_path")
            .map(|v| {
                v.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default();
        let compression = match map.get("compression").map(|c| c.trim()) {
            None => None,
            Some(c) if c.eq_ignore_ascii_case("auto") => None,
            Some(c) => Some(Codec::by_name(c).ok_or_else(|| {
                bad(format!(
                    "Unsupported compression '{c}'; use one of gzip, bzip2, zstd, xz, deflate, lz4, none, auto"
                ))
            })?),
        };
        let schema = match map.get("schema") {
            None => None,
            Some(text) => Some(strata_sql::parse_columns(text).map_err(|e| {
                bad(format!(
                    "Invalid schema: '{text}': {e}. Expected column names and types, as in \
                     'id BIGINT, name VARCHAR(64)'"
                ))
            })?),
        };
        Ok(Self {
            schema,
            compression,
            paths,
            format,
            csv,
            sample_files: get_usize("auto_detect_sample_files", 2)?,
            sample_rows: get_usize("auto_detect_sample_rows", 500)?.max(1),
            detect_types: get_bool("auto_detect_types", true)?,
            fill_mismatch_null,
            columns_from_path,
            storage,
            list_files_only,
            list_recursively: get_bool("list_recursively", false)?,
            json: crate::files::JsonShape::parse(
                map.get("json.strip_outer_array").map(|v| v.as_str()),
                map.get("json.json_root").map(|v| v.as_str()),
                map.get("json.jsonpaths").map(|v| v.as_str()),
                map.get("json.jsonpath_names").map(|v| v.as_str()),
            )?,
        })
    }
}
