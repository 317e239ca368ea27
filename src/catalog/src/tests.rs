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
        pipe_batch: None,
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
        pipe_batch: None,
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

fn broker(label: &str) -> LoadRecord {
    LoadRecord {
        load_type: "BROKER".into(),
        timeout_s: 100,
        ..record(label)
    }
}

fn step(n: i64, table_id: i64, files: &[&str], paths: &[&str]) -> StagedStep {
    StagedStep {
        step: n,
        clause: 0,
        files: files.iter().map(|f| f.to_string()).collect(),
        file_bytes: 100,
        counters: StepCounters {
            scan_rows: 3,
            sink_rows: 3,
            ..Default::default()
        },
        segments: paths.iter().map(|p| (table_id, seg(p))).collect(),
    }
}

#[test]
fn a_broker_job_stages_steps_and_commits_them_once() {
    let dir = tempfile::tempdir().unwrap();
    let cat = Catalog::open(&dir.path().join("meta.db")).unwrap();
    cat.create_database("d", false).unwrap();
    let t = cat.create_table("d", "t", &def(), false).unwrap().unwrap();
    let job = cat.submit_job(&broker("b1")).unwrap();
    assert_eq!(cat.load_job(job).unwrap().unwrap().state, "PENDING");
    // The label is taken from submission on.
    assert!(matches!(
        cat.submit_job(&broker("b1")),
        Err(CatalogError::LabelUsed { ref state, .. }) if state == "PENDING"
    ));
    // Not LOADING yet: nothing can be staged.
    assert!(
        cat.stage_step(job, &step(0, t.id, &["f0"], &["s0"]), &[])
            .is_err()
    );
    assert!(cat.set_job_state(job, "LOADING", &now_string()).unwrap());
    cat.stage_step(job, &step(0, t.id, &["f0"], &["s0", "s1"]), &[])
        .unwrap();
    cat.stage_step(job, &step(1, t.id, &["f1", "f2"], &["s2"]), &[])
        .unwrap();
    let staged = cat.staged_steps(job).unwrap();
    assert_eq!(staged.len(), 2);
    assert_eq!(staged[1].files, vec!["f1".to_string(), "f2".to_string()]);
    assert_eq!(staged[0].segments.len(), 2);
    // Staged segments are not visible, but start-up clean-up keeps them.
    assert!(cat.segments(t.id).unwrap().is_empty());
    assert_eq!(cat.staged_paths().unwrap().len(), 3);

    let mut r = broker("b1");
    r.sink_rows = 6;
    let txn = cat
        .commit_job(job, &[(t.id, "t".into())], &r, None, &[])
        .unwrap();
    assert!(txn > 0);
    assert_eq!(cat.segments(t.id).unwrap().len(), 3);
    let done = cat.load_job(job).unwrap().unwrap();
    assert_eq!((done.state.as_str(), done.sink_bytes), ("FINISHED", 30));
    assert!(cat.staged_steps(job).unwrap().is_empty());
    // A second commit finds the job ended and changes nothing.
    assert!(matches!(
        cat.commit_job(job, &[(t.id, "t".into())], &r, None, &[]),
        Err(CatalogError::LoadEnded { .. })
    ));
    assert_eq!(cat.segments(t.id).unwrap().len(), 3);
    assert!(cat.cancel_job(job, &r, &[]).unwrap().is_none());
}

#[test]
fn a_cancelled_broker_job_retires_its_staged_segments_and_frees_its_label() {
    let dir = tempfile::tempdir().unwrap();
    let cat = Catalog::open(&dir.path().join("meta.db")).unwrap();
    cat.create_database("d", false).unwrap();
    let t = cat.create_table("d", "t", &def(), false).unwrap().unwrap();
    let job = cat.submit_job(&broker("b2")).unwrap();
    cat.set_job_state(job, "LOADING", &now_string()).unwrap();
    cat.stage_step(job, &step(0, t.id, &["f0"], &["s0"]), &[])
        .unwrap();
    let retired = cat.cancel_job(job, &broker("b2"), &[]).unwrap().unwrap();
    assert_eq!(retired, vec!["s0".to_string()]);
    assert_eq!(cat.gc_files().unwrap(), vec!["s0".to_string()]);
    assert!(cat.staged_paths().unwrap().is_empty());
    assert!(cat.segments(t.id).unwrap().is_empty());
    // Ended: no second cancel, no staging, and the label is free.
    assert!(cat.cancel_job(job, &broker("b2"), &[]).unwrap().is_none());
    assert!(!cat.set_job_state(job, "LOADING", &now_string()).unwrap());
    cat.submit_job(&broker("b2")).unwrap();
}

#[test]
fn a_broker_job_does_not_commit_into_a_table_dropped_since_its_steps() {
    let dir = tempfile::tempdir().unwrap();
    let cat = Catalog::open(&dir.path().join("meta.db")).unwrap();
    cat.create_database("d", false).unwrap();
    let old = cat.create_table("d", "t", &def(), false).unwrap().unwrap();
    let job = cat.submit_job(&broker("b3")).unwrap();
    cat.set_job_state(job, "LOADING", &now_string()).unwrap();
    cat.stage_step(job, &step(0, old.id, &["f0"], &["s0"]), &[])
        .unwrap();
    // Dropped and created again under its name (as between a kill and a restart).
    cat.drop_table("d", "t", false).unwrap();
    let new = cat.create_table("d", "t", &def(), false).unwrap().unwrap();
    assert!(matches!(
        cat.commit_job(job, &[(new.id, "t".into())], &broker("b3"), None, &[]),
        Err(CatalogError::TableChanged { .. })
    ));
    assert!(cat.segments(new.id).unwrap().is_empty());
}

#[test]
fn the_queue_is_priority_then_submission_order_and_history_is_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let cat = Catalog::open(&dir.path().join("meta.db")).unwrap();
    for (label, p) in [("a", "LOW"), ("b", "NORMAL"), ("c", "HIGH"), ("d", "HIGH")] {
        let mut r = broker(label);
        r.priority = p.into();
        cat.submit_job(&r).unwrap();
    }
    let order: Vec<String> = cat
        .runnable_jobs()
        .unwrap()
        .into_iter()
        .map(|j| j.record.label)
        .collect();
    assert_eq!(order, ["c", "d", "b", "a"]);
    // End three of them; keep only the newest ended one.
    for j in cat.runnable_jobs().unwrap().into_iter().skip(1) {
        let mut r = j.record.clone();
        r.load_finish_time = Some(now_string());
        cat.cancel_job(r.job_id, &r, &[]).unwrap();
    }
    assert_eq!(
        cat.purge_load_history(259_200, 1, &now_string()).unwrap(),
        2
    );
    assert_eq!(cat.list_loads().unwrap().len(), 2);
    // Ended longer ago than the time limit: forgotten too.
    assert_eq!(cat.purge_load_history(0, 1000, &now_string()).unwrap(), 1);
    let left: Vec<String> = cat
        .list_loads()
        .unwrap()
        .into_iter()
        .map(|l| l.label)
        .collect();
    assert_eq!(left, ["c"]);
}

#[test]
fn an_unversioned_catalog_is_migrated_and_keeps_its_rows() {
    let dir = tempfile::tempdir().unwrap();
    let fixture = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/datadir-unversioned/meta.db");
    let path = dir.path().join("meta.db");
    std::fs::copy(fixture, &path).unwrap();
    {
        let c = rusqlite::Connection::open(&path).unwrap();
        let v: i64 = c
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(v, 0);
    }
    let cat = Catalog::open(&path).unwrap();
    let loads = cat.list_loads().unwrap();
    assert_eq!(loads.len(), 3);
    assert!(
        loads
            .iter()
            .all(|l| l.priority == "NORMAL" && l.owner == "root")
    );
    assert_eq!(cat.list_tables("legacy").unwrap().len(), 2);
    drop(cat);
    let c = rusqlite::Connection::open(&path).unwrap();
    let v: i64 = c
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(v as usize, SCHEMA_VERSION);
    // Opening again applies nothing more.
    drop(c);
    Catalog::open(&path).unwrap();
}

#[test]
fn a_catalog_from_a_newer_build_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("meta.db");
    drop(Catalog::open(&path).unwrap());
    let c = rusqlite::Connection::open(&path).unwrap();
    c.pragma_update(None, "user_version", 99).unwrap();
    drop(c);
    match Catalog::open(&path) {
        Err(e @ CatalogError::NewerSchema { .. }) => {
            assert!(e.to_string().contains("schema version 99"), "{e}")
        }
        Err(e) => panic!("{e}"),
        Ok(_) => panic!("a newer catalog was opened"),
    }
}
