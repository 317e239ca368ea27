"""End-to-end run of mysql-connector-python (C extension and pure Python): connector_e2e.py PORT."""
import sys

import mysql.connector

port = int(sys.argv[1])


def check(cond, what):
    if not cond:
        print("FAILED:", what)
        sys.exit(1)


# The C extension ships only in some wheels; the pure-Python protocol code always runs.
modes = (False, True) if getattr(mysql.connector, "HAVE_CEXT", False) else (True,)
for pure in modes:
    db = "conn_pure" if pure else "conn_cext"
    conn = mysql.connector.connect(host="127.0.0.1", port=port, user="root", password="",
                                   use_pure=pure, autocommit=True)
    cur = conn.cursor()
    cur.execute(f"CREATE DATABASE IF NOT EXISTS {db}")
    cur.execute(f"USE {db}")
    cur.execute("CREATE TABLE t (k BIGINT, v VARCHAR(10)) DISTRIBUTED BY HASH(k) BUCKETS 2")
    cur.execute("INSERT INTO t VALUES (1, 'one'), (2, 'two'), (3, 'three')")
    check(cur.rowcount == 3, f"rowcount {cur.rowcount}")
    cur.execute("SELECT k, v FROM t WHERE k >= 2 ORDER BY k")
    rows = cur.fetchall()
    check(rows == [(2, "two"), (3, "three")], f"rows {rows!r}")
    cur.execute("SELECT @@version_comment, DATABASE()")
    row = cur.fetchone()
    check(row[1] == db, f"database() {row!r}")
    try:
        cur.execute("SELECT nope FROM t")
        check(False, "no error for unknown column")
    except mysql.connector.Error as e:
        check(e.errno == 1054, f"unknown column errno {e.errno}")
    cur.execute(f"DROP DATABASE {db}")
    conn.close()
print("mysql-connector OK")
