use strata_common::types::SrType;

use crate::ast::*;
use crate::{ParseError, parse_sql, take_files_calls};

fn one(sql: &str) -> Statement {
    let mut v = parse_sql(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
    assert_eq!(v.len(), 1, "{sql}");
    v.remove(0)
}

/// Parses, prints, re-parses: the printed form must parse to the same AST.
fn round_trip(sql: &str) -> String {
    let s = one(sql);
    let printed = s.to_string();
    assert_eq!(one(&printed), s, "round trip of {printed}");
    printed
}

#[test]
fn create_table_seed() {
    let sql = r#"CREATE TABLE user_behavior_declared
(
    UserID int(11),
    ItemID int(11),
    CategoryID int(11),
    BehaviorType varchar(65533),
    Timestamp datetime
)
ENGINE = OLAP
DUPLICATE KEY(UserID)
DISTRIBUTED BY HASH(UserID);"#;
    let Statement::CreateTable(ct) = one(sql) else {
        panic!("not a create table")
    };
    assert_eq!(ct.name.table, "user_behavior_declared");
    assert_eq!(ct.columns.len(), 5);
    assert_eq!(ct.columns[0].ty, SrType::Int);
    assert_eq!(ct.columns[3].ty, SrType::Varchar(65533));
    assert_eq!(ct.columns[4].ty, SrType::Datetime);
    assert_eq!(ct.keys, Some((KeysKind::Duplicate, vec!["UserID".into()])));
    assert_eq!(
        ct.distribution,
        Some(Distribution::Hash {
            columns: vec!["UserID".into()],
            buckets: None
        })
    );
    assert_eq!(
        round_trip(sql),
        "CREATE TABLE `user_behavior_declared` (`UserID` int(11), `ItemID` int(11), \
         `CategoryID` int(11), `BehaviorType` varchar(65533), `Timestamp` datetime) \
         ENGINE = OLAP DUPLICATE KEY(`UserID`) DISTRIBUTED BY HASH(`UserID`)"
    );
}

#[test]
fn create_table_clauses_and_types() {
    round_trip(
        r#"CREATE TABLE IF NOT EXISTS d.t (
            a TINYINT NOT NULL COMMENT "id",
            b DECIMAL(10, 2) DEFAULT "1.5",
            c ARRAY<MAP<INT,STRING>>,
            d STRUCT<x INT, y VARCHAR(10)>,
            e STRING NULL,
            f VARCHAR,
            g LARGEINT DEFAULT CURRENT_TIMESTAMP
        ) ENGINE=olap DUPLICATE KEY(a) COMMENT 'my table'
        DISTRIBUTED BY RANDOM BUCKETS 4 PROPERTIES ("replication_num" = "1")"#,
    );
    let Statement::CreateTable(ct) = one("create table t (c array<array<int>>, v varchar)") else {
        panic!()
    };
    assert_eq!(
        ct.columns[0].ty,
        SrType::Array(Box::new(SrType::Array(Box::new(SrType::Int))))
    );
    assert_eq!(ct.columns[1].ty, SrType::Varchar(1));
}

#[test]
fn ctas() {
    let Statement::CreateTable(ct) = one("CREATE TABLE t3 AS SELECT a, b FROM t WHERE a > 1")
    else {
        panic!()
    };
    assert!(ct.columns.is_empty());
    assert!(ct.query.is_some());
    round_trip("CREATE TABLE t3 (x, y) DISTRIBUTED BY HASH(x) AS SELECT a, b FROM t");
}

#[test]
fn unsupported_models_are_refused_clearly() {
    let e = parse_sql("CREATE TABLE t (a int) PARTITION BY RANGE(a) ()").unwrap_err();
    assert!(matches!(e, ParseError::Unsupported { .. }), "{e}");
    let e = parse_sql("CREATE TABLE t (a int SUM)").unwrap_err();
    assert!(e.to_string().contains("not supported yet"), "{e}");
}

#[test]
fn syntax_errors_carry_position() {
    let e = parse_sql("SELECT * FORM t").unwrap_err();
    let msg = e.to_string();
    assert!(msg.contains("Line: 1, Column"), "{msg}");
    let e = parse_sql("CREATE TABLE t (a int,, b int)").unwrap_err();
    assert!(e.to_string().contains("Column"), "{e}");
    let e = parse_sql("CREATE TABLE t (a varchar(0))").unwrap_err();
    assert!(matches!(e, ParseError::Invalid { .. }), "{e}");
}

#[test]
fn insert_forms() {
    let Statement::Insert(i) = one(
        "INSERT INTO db.t WITH LABEL l1 (a, b) PROPERTIES (\"strict_mode\" = \"false\") \
         SELECT * FROM FILES(\"path\" = \"s3://b/k\", \"format\" = \"parquet\")",
    ) else {
        panic!()
    };
    assert_eq!(i.label.as_deref(), Some("l1"));
    assert_eq!(i.columns, Some(vec!["a".into(), "b".into()]));
    assert_eq!(i.properties, vec![("strict_mode".into(), "false".into())]);
    round_trip("INSERT OVERWRITE t VALUES (1, 'a'), (2, NULL)");
    round_trip("INSERT INTO t (a) (SELECT 1)");
    round_trip("INSERT INTO t BY NAME SELECT 1 AS a");
}

#[test]
fn files_calls_are_cut_out() {
    let Statement::Query(mut q) = one(
        "SELECT * FROM FILES(\"path\" = \"s3://b/k.parquet\", 'format' = 'parquet') AS f \
         JOIN files('path' = 'file:///x', 'format' = 'csv') g ON true LIMIT 3",
    ) else {
        panic!()
    };
    let calls = take_files_calls(&mut q).unwrap();
    assert_eq!(calls.len(), 2);
    assert_eq!(
        calls[0].properties[0],
        ("path".into(), "s3://b/k.parquet".into())
    );
    assert_eq!(calls[1].table, "f1");
    let text = q.to_string();
    assert!(text.contains("__strata_files.f0 AS f"), "{text}");
    assert!(text.contains("__strata_files.f1 g"), "{text}");
}

#[test]
fn utility_statements() {
    assert_eq!(one("use mydb"), Statement::Use("mydb".into()));
    round_trip("ADMIN SET FRONTEND CONFIG (\"default_replication_num\" = \"1\")");
    round_trip("SHOW FULL TABLES FROM d LIKE 'a%'");
    round_trip("SHOW DATABASES");
    round_trip("SHOW CREATE TABLE d.t");
    round_trip("DESC FILES(\"path\" = \"s3://b/k\")");
    round_trip("DROP TABLE IF EXISTS t");
    round_trip("DROP DATABASE d");
    round_trip("TRUNCATE TABLE t");
    round_trip("KILL QUERY 12");
    round_trip("SYNC");
    round_trip(
        "SHOW LOAD FROM d WHERE LABEL = 'x' AND STATE = 'FINISHED' ORDER BY CreateTime DESC LIMIT 2 OFFSET 1",
    );
    let Statement::ShowLoad(s) = one("SHOW LOAD WHERE LABEL LIKE 'ab' LIMIT 1, 3") else {
        panic!()
    };
    assert_eq!(s.offset.unwrap().to_string(), "1");
    assert_eq!(s.limit.unwrap().to_string(), "3");
    assert_eq!(
        one("kill 7"),
        Statement::Kill {
            query_only: false,
            id: 7
        }
    );
    assert_eq!(round_trip("KILL CONNECTION 7"), "KILL CONNECTION 7");
    assert!(parse_sql("KILL QUERY abc").is_err());
    let Statement::Set(a) = one("SET @@session.autocommit = 1, GLOBAL query_timeout = 10") else {
        panic!()
    };
    assert_eq!(a[0].name, "autocommit");
    assert!(a[1].global);
    assert_eq!(one("SET NAMES utf8mb4"), Statement::Set(vec![]));
    assert_eq!(parse_sql("SELECT 1; SELECT 2;").unwrap().len(), 2);
}

#[test]
fn broker_load_seed() {
    let sql = r#"LOAD LABEL user_behavior
(
    DATA INFILE("s3://starrocks-examples/user-behavior-10-million-rows.parquet")
    INTO TABLE user_behavior
    FORMAT AS "parquet"
 )
 WITH BROKER
 (
    "aws.s3.enable_ssl" = "true",
    "aws.s3.region" = "us-east-1"
 )
PROPERTIES
(
    "timeout" = "72000"
);"#;
    let Statement::Load(l) = one(sql) else {
        panic!("not a load")
    };
    assert_eq!(l.db, None);
    assert_eq!(l.label, "user_behavior");
    assert_eq!(l.data.len(), 1);
    assert_eq!(l.data[0].table, "user_behavior");
    assert_eq!(l.data[0].format.as_deref(), Some("parquet"));
    assert_eq!(l.broker_props.len(), 2);
    assert_eq!(l.properties, vec![("timeout".into(), "72000".into())]);
    round_trip(sql);
}

#[test]
fn broker_load_every_clause() {
    let sql = r#"LOAD LABEL db1.l1 (
        DATA INFILE("s3://b/a/*.csv", "s3://b/c/x.csv") INTO TABLE t1
            COLUMNS TERMINATED BY "\\x01" ROWS TERMINATED BY "\n"
            FORMAT AS CSV (skip_header = 1 trim_space = true enclose = '"' escape = '\\')
            (k1, tmp, v1) COLUMNS FROM PATH AS (city)
            SET (v2 = tmp * 2, v3 = upper(city)) WHERE k1 > 1 AND city <> 'x',
        DATA INFILE("s3://b/p.parquet") INTO TABLE t2 FORMAT AS "parquet"
    ) WITH BROKER my_broker ("aws.s3.access_key" = "a") PROPERTIES ("max_filter_ratio" = "0.1")"#;
    let Statement::Load(l) = one(sql) else {
        panic!("not a load")
    };
    assert_eq!(l.db.as_deref(), Some("db1"));
    assert_eq!(l.broker.as_deref(), Some("my_broker"));
    let d = &l.data[0];
    assert_eq!(d.paths.len(), 2);
    assert_eq!(d.column_separator.as_deref(), Some("\\x01"));
    assert_eq!(d.row_delimiter.as_deref(), Some("\n"));
    assert_eq!(d.format_props.len(), 4);
    assert_eq!(d.format_props[2], ("enclose".into(), "\"".into()));
    assert_eq!(d.columns.as_deref().map(<[String]>::len), Some(3));
    assert_eq!(d.columns_from_path, vec!["city".to_string()]);
    assert_eq!(d.set.len(), 2);
    assert!(d.filter.is_some());
    assert_eq!(l.data[1].table, "t2");
    round_trip(sql);
}

#[test]
fn broker_load_refusals() {
    for (sql, what) in [
        (
            "LOAD LABEL l (DATA INFILE('s3://b/f') NEGATIVE INTO TABLE t) WITH BROKER",
            "NEGATIVE",
        ),
        (
            "LOAD LABEL l (DATA INFILE('s3://b/f') INTO TABLE t PARTITION (p1)) WITH BROKER",
            "PARTITION",
        ),
        (
            "LOAD LABEL l (DATA INFILE('s3://b/f') INTO TABLE t) WITH RESOURCE r",
            "Spark",
        ),
    ] {
        let e = parse_sql(sql).unwrap_err();
        assert!(matches!(e, ParseError::Unsupported { .. }), "{sql}: {e}");
        assert!(e.to_string().contains(what), "{e}");
    }
    assert!(parse_sql("LOAD LABEL l (DATA INFILE() INTO TABLE t) WITH BROKER").is_err());
    assert!(parse_sql("LOAD LABEL l (DATA INFILE('x') INTO t) WITH BROKER").is_err());
}

#[test]
fn cancel_and_alter_load() {
    let Statement::CancelLoad(c) = one("CANCEL LOAD FROM db1 WHERE LABEL = \"l1\"") else {
        panic!()
    };
    assert_eq!((c.db.as_deref(), c.label.as_str()), (Some("db1"), "l1"));
    round_trip("CANCEL LOAD WHERE LABEL = 'l1'");
    assert!(parse_sql("CANCEL LOAD WHERE STATE = 'x'").is_err());
    let Statement::AlterLoad(a) = one("ALTER LOAD FOR db1.l1 PROPERTIES ('priority' = 'HIGH')")
    else {
        panic!()
    };
    assert_eq!(a.label, "l1");
    round_trip("ALTER LOAD FOR l1 PROPERTIES ('priority' = 'HIGH')");
}

#[test]
fn broker_load_backslashes_survive_printing() {
    // A literal with a backslash, and one that would end early if printed naively.
    let sql = r#"LOAD LABEL l (DATA INFILE('s3://b/f\\x') INTO TABLE t (a) SET (b = replace(a, '\\', '/')) WHERE a <> 'x\'; DROP TABLE t; --') WITH BROKER"#;
    let Statement::Load(l) = one(sql) else {
        panic!("not a load")
    };
    let printed = round_trip(sql);
    assert_eq!(parse_sql(&printed).unwrap().len(), 1, "{printed}");
    assert_eq!(l.data[0].paths[0], "s3://b/f\\x");
    assert_eq!(l.data[0].set[0].1.to_string(), "replace(a, '\\', '/')");
}

fn acct(sql: &str) -> AccountStmt {
    match one(sql) {
        Statement::Account(a) => *a,
        other => panic!("{sql}: {other:?}"),
    }
}

fn user(name: &str, host: &str) -> UserIdent {
    UserIdent {
        name: name.into(),
        host: host.into(),
    }
}

#[test]
fn users_and_roles() {
    for (sql, want) in [
        (
            "CREATE USER 'loader'@'%' IDENTIFIED BY 'S3cret!'",
            user("loader", "%"),
        ),
        (
            "CREATE USER loader@'10.0.%' IDENTIFIED BY 'x'",
            user("loader", "10.0.%"),
        ),
        (
            "CREATE USER \"loader\" IDENTIFIED BY 'x'",
            user("loader", "%"),
        ),
        (
            "CREATE USER `loader`@`localhost` IDENTIFIED BY 'x'",
            user("loader", "localhost"),
        ),
        (
            "CREATE USER loader@localhost IDENTIFIED BY 'x'",
            user("loader", "localhost"),
        ),
    ] {
        let AccountStmt::CreateUser { user, auth, .. } = acct(sql) else {
            panic!("{sql}")
        };
        assert_eq!(user, want, "{sql}");
        assert!(matches!(auth, AuthSpec::Password(_)), "{sql}");
    }
    let AccountStmt::CreateUser {
        if_not_exists,
        auth,
        default_roles,
        ..
    } = acct(
        "CREATE USER IF NOT EXISTS u IDENTIFIED WITH mysql_native_password AS '*ABC' DEFAULT ROLE etl, r2",
    )
    else {
        panic!()
    };
    assert!(if_not_exists);
    assert_eq!(auth, AuthSpec::Hash("*ABC".into()));
    assert_eq!(default_roles, ["etl", "r2"]);
    assert!(matches!(
        acct("ALTER USER root IDENTIFIED BY 'r00t-S3cret'"),
        AccountStmt::AlterUser {
            auth: Some(AuthSpec::Password(_)),
            ..
        }
    ));
    assert_eq!(
        acct("DROP USER IF EXISTS 'loader'@'%'"),
        AccountStmt::DropUser {
            if_exists: true,
            user: user("loader", "%")
        }
    );
    assert_eq!(
        acct("CREATE ROLE etl"),
        AccountStmt::CreateRole {
            if_not_exists: false,
            names: vec!["etl".into()]
        }
    );
    assert!(matches!(
        acct("DROP ROLE IF EXISTS etl"),
        AccountStmt::DropRole {
            if_exists: true,
            ..
        }
    ));
    assert_eq!(
        acct("SET DEFAULT ROLE etl TO 'loader'@'%'"),
        AccountStmt::SetDefaultRole {
            roles: RoleSet::Roles(vec!["etl".into()]),
            users: vec![user("loader", "%")]
        }
    );
    assert_eq!(
        acct("SET ROLE ALL EXCEPT a"),
        AccountStmt::SetRole(RoleSet::All(vec!["a".into()]))
    );
    assert_eq!(
        acct("SET ROLE DEFAULT"),
        AccountStmt::SetRole(RoleSet::Default)
    );
    assert_eq!(
        acct("SET PASSWORD FOR u = PASSWORD('x')"),
        AccountStmt::SetPassword {
            user: Some(user("u", "%")),
            auth: AuthSpec::Password("x".into())
        }
    );
    assert_eq!(
        acct("SHOW GRANTS FOR 'loader'@'%'"),
        AccountStmt::ShowGrants(Some(GrantSubject::User(user("loader", "%"))))
    );
    assert_eq!(
        acct("SHOW GRANTS FOR ROLE etl"),
        AccountStmt::ShowGrants(Some(GrantSubject::Role("etl".into())))
    );
    assert_eq!(acct("SHOW USERS"), AccountStmt::ShowUsers);
    assert_eq!(acct("SHOW ROLES"), AccountStmt::ShowRoles);
    assert!(parse_sql("CREATE USER u IDENTIFIED WITH authentication_ldap_simple").is_err());
}

#[test]
fn grants() {
    let AccountStmt::Privileges(g) =
        acct("GRANT INSERT, SELECT ON TABLE mydatabase.user_behavior TO ROLE etl")
    else {
        panic!()
    };
    assert_eq!(g.privileges, ["INSERT", "SELECT"]);
    assert_eq!(
        g.target,
        PrivTarget::Tables(vec![TableName {
            db: Some("mydatabase".into()),
            table: "user_behavior".into()
        }])
    );
    assert_eq!(g.subject, GrantSubject::Role("etl".into()));
    let AccountStmt::Privileges(g) =
        acct("GRANT CREATE PIPE ON DATABASE mydatabase TO USER 'loader'@'%' WITH GRANT OPTION")
    else {
        panic!()
    };
    assert_eq!(g.privileges, ["CREATE PIPE"]);
    assert_eq!(g.target, PrivTarget::Databases(vec!["mydatabase".into()]));
    assert!(g.with_grant_option);
    for (sql, target) in [
        (
            "GRANT ALL PRIVILEGES ON *.* TO u",
            PrivTarget::AllTables(None),
        ),
        (
            "GRANT SELECT ON db.* TO u",
            PrivTarget::AllTables(Some("db".into())),
        ),
        (
            "GRANT SELECT ON ALL TABLES IN DATABASE db TO u",
            PrivTarget::AllTables(Some("db".into())),
        ),
        (
            "GRANT SELECT ON ALL TABLES IN ALL DATABASES TO u",
            PrivTarget::AllTables(None),
        ),
        (
            "GRANT USAGE ON ALL PIPES IN DATABASE db TO u",
            PrivTarget::AllPipes(Some("db".into())),
        ),
        ("GRANT OPERATE ON SYSTEM TO u", PrivTarget::System),
        (
            "GRANT CREATE DATABASE ON CATALOG default_catalog TO u",
            PrivTarget::Catalog,
        ),
        ("GRANT DROP ON ALL DATABASES TO u", PrivTarget::AllDatabases),
    ] {
        let AccountStmt::Privileges(g) = acct(sql) else {
            panic!("{sql}")
        };
        assert_eq!(g.target, target, "{sql}");
    }
    let AccountStmt::Privileges(g) = acct("REVOKE SELECT ON TABLE t FROM ROLE etl") else {
        panic!()
    };
    assert!(g.revoke);
    assert_eq!(
        acct("GRANT etl, r2 TO USER 'loader'@'%'"),
        AccountStmt::Roles(GrantRoles {
            revoke: false,
            roles: vec!["etl".into(), "r2".into()],
            subject: GrantSubject::User(user("loader", "%"))
        })
    );
    assert!(matches!(
        acct("REVOKE etl FROM ROLE r2"),
        AccountStmt::Roles(GrantRoles { revoke: true, .. })
    ));
    assert!(parse_sql("GRANT ON TABLE t TO u").is_err());
    assert!(parse_sql("GRANT SELECT ON CATALOG hive TO u").is_err());
}

#[test]
fn views_parse_and_print() {
    let p = round_trip(
        "CREATE OR REPLACE VIEW d.v (a COMMENT 'x''s', b) COMMENT 'c' AS SELECT k, v FROM t",
    );
    assert_eq!(
        p,
        "CREATE OR REPLACE VIEW `d`.`v` (`a` COMMENT 'x\\'s', `b`) COMMENT 'c' AS SELECT k, v FROM t"
    );
    let Statement::CreateView(cv) =
        one("CREATE VIEW IF NOT EXISTS v AS WITH w AS (SELECT 1) SELECT * FROM w")
    else {
        panic!("not a view")
    };
    assert!(cv.if_not_exists && !cv.or_replace && !cv.alter && cv.columns.is_empty());
    let Statement::CreateView(cv) = one("ALTER VIEW v (x) AS SELECT 1 FROM DUAL") else {
        panic!("not a view")
    };
    assert!(cv.alter);
    assert_eq!(cv.query.to_string(), "SELECT 1");
    assert_eq!(
        one("DROP VIEW IF EXISTS d.v"),
        Statement::DropView {
            name: TableName {
                db: Some("d".into()),
                table: "v".into()
            },
            if_exists: true
        }
    );
    assert!(matches!(
        one("SHOW CREATE VIEW v"),
        Statement::ShowCreateView(_)
    ));
    let e = parse_sql("CREATE VIEW v AS INSERT INTO t VALUES (1)").unwrap_err();
    assert!(e.to_string().contains("a query"), "{e}");
    let e = parse_sql("CREATE MATERIALIZED VIEW mv AS SELECT 1").unwrap_err();
    assert!(e.to_string().contains("not supported yet"), "{e}");
}

#[test]
fn mysqldump_statements() {
    assert_eq!(
        round_trip("LOCK TABLES `t` READ /*!32311 LOCAL */,`v` READ /*!32311 LOCAL */"),
        "LOCK TABLES `t` READ, `v` READ"
    );
    assert_eq!(
        one("lock table d.t AS x LOW_PRIORITY WRITE"),
        Statement::LockTables(vec![TableName {
            db: Some("d".into()),
            table: "t".into()
        }])
    );
    assert_eq!(round_trip("UNLOCK TABLES"), "UNLOCK TABLES");
    assert_eq!(
        round_trip("/*!40000 ALTER TABLE `t` DISABLE KEYS */"),
        "ALTER TABLE `t` DISABLE KEYS"
    );
    round_trip("ALTER TABLE d.t ENABLE KEYS");
    assert!(parse_sql("ALTER TABLE t ADD COLUMN c INT").is_err());
    assert_eq!(
        round_trip("SHOW TRIGGERS FROM d LIKE 't'"),
        "SHOW TRIGGERS FROM `d` LIKE 't'"
    );
    round_trip("SHOW TRIGGERS");
    for sql in [
        "/*!50001 CREATE ALGORITHM=UNDEFINED */\n/*!50013 DEFINER=`root`@`%` SQL SECURITY \
         DEFINER */\n/*!50001 VIEW `v` AS select `t`.`id` AS `id` from `t` */",
        "CREATE DEFINER='root'@'localhost' VIEW v AS SELECT 1",
        "CREATE OR REPLACE SQL SECURITY INVOKER VIEW v AS SELECT 1",
        "CREATE DEFINER=root@localhost VIEW v AS SELECT 1",
        "CREATE DEFINER=CURRENT_USER() VIEW v AS SELECT 1",
    ] {
        let Statement::CreateView(v) = one(sql) else {
            panic!("{sql}: not a view")
        };
        assert_eq!(v.name.table, "v", "{sql}");
    }
    assert!(parse_sql("CREATE ALGORITHM=FAST VIEW v AS SELECT 1").is_err());
}

#[test]
fn single_transaction_statements() {
    assert_eq!(round_trip("SAVEPOINT sp"), "SAVEPOINT `sp`");
    assert_eq!(
        round_trip("ROLLBACK TO SAVEPOINT sp"),
        "ROLLBACK TO SAVEPOINT `sp`"
    );
    assert_eq!(
        round_trip("ROLLBACK WORK TO sp"),
        "ROLLBACK TO SAVEPOINT `sp`"
    );
    assert_eq!(round_trip("RELEASE SAVEPOINT sp"), "RELEASE SAVEPOINT `sp`");
    assert_eq!(
        one("ROLLBACK"),
        Statement::TransactionControl("ROLLBACK".into())
    );
    assert_eq!(
        round_trip("SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ"),
        "SET transaction_isolation = 'REPEATABLE-READ', tx_isolation = 'REPEATABLE-READ'"
    );
    assert_eq!(
        round_trip("SET GLOBAL TRANSACTION READ ONLY, ISOLATION LEVEL SERIALIZABLE"),
        "SET GLOBAL transaction_read_only = '1', GLOBAL tx_read_only = '1', \
         GLOBAL transaction_isolation = 'SERIALIZABLE', GLOBAL tx_isolation = 'SERIALIZABLE'"
    );
    assert!(parse_sql("SET TRANSACTION ISOLATION LEVEL SOMETIMES").is_err());
    // A variable named like the keyword still sets as before.
    let Statement::Set(a) = one("SET transaction_isolation = 'READ-COMMITTED'") else {
        panic!("not a SET")
    };
    assert_eq!(a[0].name, "transaction_isolation");
}
