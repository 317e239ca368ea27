//! A listing longer than one S3 page (1,000 keys): a load starts on the first files it lists
//! and lists the rest while it loads, and still loads every file exactly once.

use mysql_async::prelude::Queryable;

use crate::harness::{TestServer, exec, fresh_table};
use crate::s3::{AK, BUCKET, S3Server, SK};

const FILES: usize = 1050;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_load_goes_on_listing_past_the_first_page() {
    let s3 = S3Server::start().await;
    // One row per file; the last file's row does not fit the table.
    for i in 0..FILES {
        let row = if i == FILES - 1 {
            "oops\n".to_string()
        } else {
            format!("{i}\n")
        };
        s3.put_local(&format!("many/f{i:05}.csv"), row.as_bytes());
    }
    let server = TestServer::start().await;
    let mut c = server.conn(None).await;
    fresh_table(
        &mut c,
        "CREATE TABLE t (n INT) DUPLICATE KEY(n) DISTRIBUTED BY HASH(n) BUCKETS 2",
    )
    .await;
    let files = format!(
        r#"FILES("path" = "s3://{BUCKET}/many/*.csv", "format" = "csv",
           "auto_detect_types" = "false",
           "aws.s3.endpoint" = "{}", "aws.s3.access_key" = "{AK}", "aws.s3.secret_key" = "{SK}")"#,
        s3.endpoint
    );
    exec(
        &mut c,
        &format!(
            "INSERT INTO t WITH LABEL many_files PROPERTIES (\"max_filter_ratio\" = \"0.01\") \
             SELECT $1 FROM {files}"
        ),
    )
    .await;
    let (count, sum): (u64, u64) = c
        .query_first("SELECT count(*), sum(n) FROM t")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(count, FILES as u64 - 1);
    assert_eq!(sum, (0..FILES as u64 - 1).sum::<u64>());
    let details: String = c
        .query_first("SELECT JOB_DETAILS FROM information_schema.loads WHERE LABEL = 'many_files'")
        .await
        .unwrap()
        .unwrap();
    assert!(
        details.contains(&format!("\"FileNumber\":{FILES}")),
        "{details}"
    );
    let errors: Vec<(String, u64, String)> = c
        .query(
            "SELECT e.FILE, e.ROW_NUMBER, e.VALUE FROM information_schema.load_errors e \
             JOIN information_schema.loads l ON e.JOB_ID = l.JOB_ID WHERE l.LABEL = 'many_files'",
        )
        .await
        .unwrap();
    assert_eq!(
        errors,
        vec![(
            format!("s3://{BUCKET}/many/f{:05}.csv", FILES - 1),
            1,
            "oops".to_string()
        )]
    );
}
