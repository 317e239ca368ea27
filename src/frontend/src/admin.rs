//! ADMIN SET/SHOW FRONTEND CONFIG and SET.

use std::sync::Arc;

use arrow::array::{RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use strata_common::{Session, StatusCode};
use strata_protocol_mysql::Output;
use strata_sql::SetAssignment;
use strata_sql::sqlparser::ast::{Expr, Value};

use crate::{Frontend, FrontendError, Result};

/// A mutable frontend config: key, default, type, comment.
pub(crate) struct ConfigDef {
    pub key: &'static str,
    pub default: &'static str,
    pub ty: &'static str,
    pub comment: &'static str,
}

/// The frontend configs Strata knows.
pub(crate) const CONFIGS: &[ConfigDef] = &[
    ConfigDef {
        key: "qe_max_connection",
        default: "4096",
        ty: "int",
        comment: "connections the server takes at once; more get MySQL's 1040 Too many connections",
    },
    ConfigDef {
        key: "max_user_connections",
        default: "1024",
        ty: "long",
        comment: "Strata: connections one user may have open, unless its max_user_connections property says otherwise",
    },
    ConfigDef {
        key: "max_failed_login_attempts",
        default: "10",
        ty: "int",
        comment: "Strata: consecutive failed logins that lock an account; 0: never lock",
    },
    ConfigDef {
        key: "failed_login_lock_second",
        default: "600",
        ty: "long",
        comment: "Strata: seconds an account stays locked after too many failed logins",
    },
    ConfigDef {
        key: "default_replication_num",
        default: "1",
        ty: "short",
        comment: "replicas of a new table; Strata is one node, so only 1 is possible",
    },
    ConfigDef {
        key: "label_keep_max_second",
        default: "259200",
        ty: "long",
        comment: "seconds a finished label stays taken",
    },
    ConfigDef {
        key: "label_keep_max_num",
        default: "1000",
        ty: "int",
        comment: "ended load jobs kept (with their labels) at most",
    },
    ConfigDef {
        key: "broker_load_step_bytes",
        default: "268435456",
        ty: "long",
        comment: "Strata: bytes of files a Broker Load job reads between checkpoints; a restarted job reads again only the files after its last checkpoint",
    },
    ConfigDef {
        key: "broker_load_default_timeout_second",
        default: "14400",
        ty: "int",
        comment: "default Broker Load timeout",
    },
    ConfigDef {
        key: "max_broker_load_job_concurrency",
        default: "0",
        ty: "int",
        comment: "Broker Load jobs running at once; 0: one per core",
    },
    ConfigDef {
        key: "pipe_default_poll_interval_s",
        default: "300",
        ty: "int",
        comment: "default pipe poll interval",
    },
    ConfigDef {
        key: "empty_load_as_error",
        default: "true",
        ty: "boolean",
        comment: "a load that reads no data fails",
    },
    ConfigDef {
        key: "files_enable_insert_push_down_column_type",
        default: "true",
        ty: "boolean",
        comment: "FILES() reads columns as the INSERT target types",
    },
    ConfigDef {
        key: "enable_collect_query_detail_info",
        default: "false",
        ty: "boolean",
        comment: "collect query details",
    },
];

/// The current value of a config.
pub(crate) fn config_value(fe: &Frontend, key: &str) -> Result<String> {
    let def = CONFIGS
        .iter()
        .find(|c| c.key == key)
        .expect("config keys are constants of this module");
    Ok(fe
        .catalog
        .config(key)?
        .unwrap_or_else(|| def.default.to_string()))
}

pub(crate) fn set_config(fe: &Frontend, key: &str, value: &str) -> Result<Output> {
    let Some(def) = CONFIGS.iter().find(|c| c.key == key) else {
        return Err(FrontendError::new(
            StatusCode::ConfigNotFound,
            format!("Config '{key}' does not exist or is not mutable"),
        ));
    };
    let valid = match def.ty {
        "boolean" => matches!(value.to_ascii_lowercase().as_str(), "true" | "false"),
        _ => value.parse::<i64>().is_ok(),
    };
    if !valid {
        return Err(FrontendError::new(
            StatusCode::InvalidArguments,
            format!(
                "Invalid value '{value}' for config '{key}' of type {}",
                def.ty
            ),
        ));
    }
    if key == "default_replication_num" && value != "1" {
        return Err(FrontendError::new(
            StatusCode::InvalidArguments,
            format!(
                "default_replication_num {value} exceeds the number of available backends: \
                 Strata is a single node, so only 1 replica is possible"
            ),
        ));
    }
    fe.catalog.set_config(key, value)?;
    // A new concurrency or history limit applies at once.
    if key.starts_with("label_keep_") {
        crate::load::scheduler::purge_history(fe);
    }
    fe.jobs.wake();
    Ok(Output::ok())
}

pub(crate) fn show_config(fe: &Frontend, like: Option<&str>) -> Result<Output> {
    let set: std::collections::HashMap<String, String> =
        fe.catalog.configs()?.into_iter().collect();
    let mut rows: Vec<[String; 6]> = Vec::new();
    for c in CONFIGS {
        if let Some(p) = like
            && !crate::show::like_match(p, c.key)
        {
            continue;
        }
        rows.push([
            c.key.to_string(),
            "[]".to_string(),
            set.get(c.key)
                .cloned()
                .unwrap_or_else(|| c.default.to_string()),
            c.ty.to_string(),
            "true".to_string(),
            c.comment.to_string(),
        ]);
    }
    let names = ["Key", "AliasNames", "Value", "Type", "IsMutable", "Comment"];
    Ok(string_table(
        &names,
        rows.iter().map(|r| r.to_vec()).collect(),
    ))
}

/// A result set of string columns.
pub(crate) fn string_table(names: &[&str], rows: Vec<Vec<String>>) -> Output {
    let opt: Vec<Vec<Option<String>>> = rows
        .into_iter()
        .map(|r| r.into_iter().map(Some).collect())
        .collect();
    nullable_string_table(names, opt)
}

/// A result set of nullable string columns.
pub(crate) fn nullable_string_table(names: &[&str], rows: Vec<Vec<Option<String>>>) -> Output {
    let schema = Arc::new(Schema::new(
        names
            .iter()
            .map(|n| Field::new(*n, DataType::Utf8, true))
            .collect::<Vec<_>>(),
    ));
    let columns = (0..names.len())
        .map(|i| {
            Arc::new(StringArray::from_iter(rows.iter().map(|r| r[i].clone())))
                as arrow::array::ArrayRef
        })
        .collect();
    let batch = RecordBatch::try_new(schema.clone(), columns)
        .expect("columns built from the schema's own field list");
    Output::Rows {
        schema,
        batches: vec![batch],
    }
}

pub(crate) fn set_variables(
    session: &mut Session,
    assignments: &[SetAssignment],
) -> Result<Output> {
    for a in assignments {
        let value = match &a.value {
            Expr::Value(v) => match &v.value {
                Value::SingleQuotedString(s) | Value::DoubleQuotedString(s) => s.clone(),
                Value::Number(n, _) => n.clone(),
                Value::Boolean(b) => b.to_string(),
                Value::Null => String::new(),
                other => other.to_string(),
            },
            Expr::Identifier(i) => i.value.clone(),
            other => other.to_string(),
        };
        validate_variable(&a.name, &value)?;
        session.vars.set(&a.name, value);
    }
    Ok(Output::ok())
}

/// Checks a value of a session variable that has rules (SET and SET_VAR hints).
pub(crate) fn validate_variable(name: &str, value: &str) -> Result<()> {
    let bad = |msg: String| Err(FrontendError::new(StatusCode::InvalidArguments, msg));
    match name {
        "insert_max_filter_ratio" => match value.parse::<f64>() {
            Ok(r) if (0.0..=1.0).contains(&r) => Ok(()),
            _ => bad(format!(
                "Invalid insert_max_filter_ratio: '{value}'. Expected values should be between 0.0 and 1.0"
            )),
        },
        "query_timeout" | "insert_timeout" => match value.parse::<i64>() {
            Ok(t) if t > 0 => Ok(()),
            _ => bad(format!(
                "Invalid {name}: '{value}'. Expected a positive number of seconds"
            )),
        },
        "query_mem_limit" | "exec_mem_limit" => match value.parse::<u64>() {
            Ok(_) => Ok(()),
            _ => bad(format!(
                "Invalid {name}: '{value}'. Expected a number of bytes (0: no limit of its own)"
            )),
        },
        "enable_insert_strict" => match value.to_ascii_lowercase().as_str() {
            "true" | "false" | "1" | "0" | "on" | "off" => Ok(()),
            _ => bad(format!(
                "Invalid enable_insert_strict: '{value}'. Expected true or false"
            )),
        },
        _ => Ok(()),
    }
}
