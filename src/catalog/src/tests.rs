use strata_common::types::SrType;

use crate::*;

fn def() -> TableDef {
    TableDef {
        columns: vec![ColumnMeta {
            name: "a".into(),
            ty: SrType::Int,
            nullable: true,
            default: None,
            comment: String::new(),
            is_key: true,
        }],
        keys_kind: "DUPLICATE".into(),
        key_columns: vec!["a".into()],
        distribution: DistributionMeta::Hash(vec!["a".into()]),
        buckets: Some(2),
        storage_buckets: 2,
        properties: vec![],
        comment: None,
    }
}

fn record(label: &str) -> LoadRecord {
    LoadRecord {
        label: label.into(),
        db_name: "d".into(),
        table_name: "t".into(),
        load_type: "INSERT".into(),
        create_time: now_string(),
        ..Default::default()
    }
}

fn seg(path: &str) -> NewSegment {
    NewSegment {
        bucket: 0,
        path: path.into(),
        rows: 3,
        bytes: 10,
    }
}

#[test]
fn load_commit_is_atomic_with_label() {
    let dir = tempfile::tempdir().unwrap();
    let cat = Catalog::open(&dir.path().join("meta.db")).unwrap();
    cat.create_database("d", false).unwrap();
    let t = cat.create_table("d", "t", &def(), false).unwrap().unwrap();
    let job = cat.begin_load(&record("l1")).unwrap();
    // The label is taken while the job runs.
    assert!(matches!(
        cat.begin_load(&record("l1")),
        Err(CatalogError::LabelUsed { .. })
    ));
    let req = CommitRequest {
        job_id: job,
        table_id: t.id,
        create_table: None,
        overwrite: false,
        segments: vec![seg("1/a.parquet")],
        record: record("l1"),
        errors: vec![],
    };
    cat.commit_load(&req).unwrap();
    assert_eq!(cat.segments(t.id).unwrap().len(), 1);
    assert_eq!(cat.list_loads().unwrap()[0].state, "FINISHED");
    // Still taken after TRUNCATE.
    cat.truncate_table("d", "t").unwrap();
    assert!(cat.segments(t.id).unwrap().is_empty());
    assert_eq!(cat.gc_files().unwrap(), vec!["1/a.parquet".to_string()]);
    assert!(cat.begin_load(&record("l1")).is_err());
}

#[test]
fn cancelled_label_is_reusable_and_commit_to_dropped_table_fails() {
    let dir = tempfile::tempdir().unwrap();
    let cat = Catalog::open(&dir.path().join("meta.db")).unwrap();
    cat.create_database("d", false).unwrap();
    let t = cat.create_table("d", "t", &def(), false).unwrap().unwrap();
    let job = cat.begin_load(&record("l2")).unwrap();
    cat.fail_load(job, &record("l2"), &[]).unwrap();
    let job = cat.begin_load(&record("l2")).unwrap();
    cat.drop_table("d", "t", false).unwrap();
    let req = CommitRequest {
        job_id: job,
        table_id: t.id,
        create_table: None,
        overwrite: false,
        segments: vec![seg("1/b.parquet")],
        record: record("l2"),
        errors: vec![],
    };
    assert!(matches!(
        cat.commit_load(&req),
        Err(CatalogError::TableChanged { .. })
    ));
    assert!(cat.all_segment_paths().unwrap().is_empty());
}

#[test]
fn reopen_keeps_everything() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("meta.db");
    {
        let cat = Catalog::open(&path).unwrap();
        cat.create_database("d", false).unwrap();
        cat.create_table("d", "t", &def(), false).unwrap();
        cat.set_config("default_replication_num", "1").unwrap();
    }
    let cat = Catalog::open(&path).unwrap();
    assert_eq!(cat.list_databases().unwrap(), vec!["d".to_string()]);
    assert_eq!(cat.get_table("d", "t").unwrap().unwrap().def, def());
    assert_eq!(
        cat.config("default_replication_num").unwrap().as_deref(),
        Some("1")
    );
    assert!(matches!(
        cat.create_database("d", false),
        Err(CatalogError::DatabaseExists(_))
    ));
}

#[test]
fn dates_format_like_starrocks() {
    assert_eq!(format_unix(0), "1970-01-01 00:00:00");
    assert_eq!(format_unix(1_511_572_885), "2017-11-25 01:21:25");
}

/// A definition stored before `storage_buckets` existed keeps the 8 automatic buckets its
/// segments were written with; a new table without BUCKETS gets StarRocks' one-BE count.
#[test]
fn automatic_bucket_count_is_fixed_at_creation() {
    let mut old = def();
    old.buckets = None;
    let mut json: serde_json::Value = serde_json::to_value(&old).unwrap();
    json.as_object_mut().unwrap().remove("storage_buckets");
    let read: TableDef = serde_json::from_value(json).unwrap();
    assert_eq!(read.bucket_count(), 8);
    let keys = ["a".to_string(), "b".to_string()];
    let by = |cols: &[&str]| DistributionMeta::Hash(cols.iter().map(|c| c.to_string()).collect());
    assert_eq!(TableDef::storage_buckets_for(None, &by(&["c"]), &keys), 2);
    assert_eq!(
        TableDef::storage_buckets_for(Some(5), &by(&["b"]), &keys),
        5
    );
    assert_eq!(
        TableDef::storage_buckets_for(None, &DistributionMeta::Random, &keys),
        2
    );
}

/// Rows are split by hash only where a bucket narrows a query more than the sort key does.
#[test]
fn distribution_on_the_sort_key_needs_one_bucket() {
    let keys = ["a".to_string(), "b".to_string()];
    let by = |cols: &[&str]| DistributionMeta::Hash(cols.iter().map(|c| c.to_string()).collect());
    assert_eq!(
        TableDef::storage_buckets_for(Some(8), &by(&["A"]), &keys),
        1
    );
    assert_eq!(
        TableDef::storage_buckets_for(None, &by(&["a", "b"]), &keys),
        1
    );
    assert_eq!(
        TableDef::storage_buckets_for(None, &by(&["a", "b", "c"]), &keys),
        2
    );
    assert_eq!(
        TableDef::storage_buckets_for(None, &by(&["b", "a"]), &keys),
        2
    );
}
