"""Server-side prepared statements through mysql-connector-python's `cursor(prepared=True)`
(COM_STMT_PREPARE / EXECUTE / CLOSE, binary rows), C extension and pure Python:
connector_prepared.py PORT."""
import datetime
import decimal
import sys

import mysql.connector

port = int(sys.argv[1])


def check(cond, what):
    if not cond:
        print("FAILED:", what)
        sys.exit(1)


modes = (False, True) if getattr(mysql.connector, "HAVE_CEXT", False) else (True,)
for pure in modes:
    db = "prep_pure" if pure else "prep_cext"
    conn = mysql.connector.connect(host="127.0.0.1", port=port, user="root", password="",
                                   use_pure=pure, autocommit=True)
    cur = conn.cursor(prepared=True)
    cur.execute(f"CREATE DATABASE IF NOT EXISTS {db}")
    cur.execute(f"CREATE TABLE {db}.t (k INT, s VARCHAR(64), d DATE, ts DATETIME, f DOUBLE, "
                "m DECIMAL(10, 2), b BIGINT, t TINYINT) DUPLICATE KEY(k) DISTRIBUTED BY HASH(k)")
    ins = f"INSERT INTO {db}.t VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
    cur.execute(ins, (1, "it's a 'quote' \\ and ?", datetime.date(2024, 1, 2),
                      datetime.datetime(2024, 1, 2, 3, 4, 5, 678000), 1.5,
                      decimal.Decimal("2.25"), -9007199254740993, -7))
    check(cur.rowcount == 1, f"rowcount {cur.rowcount}")
    cur.execute(ins, (2, None, None, None, None, None, None, None))
    cur.executemany(ins, [(3, "x", None, None, 0.25, None, 3, 1), (4, "y", None, None, -1e300, None, 4, 0)])
    cur.execute(f"SELECT k, s, d, ts, f, m, b, t FROM {db}.t WHERE k <= ? ORDER BY k", (2,))
    rows = cur.fetchall()
    want = [
        (1, "it's a 'quote' \\ and ?", datetime.date(2024, 1, 2),
         datetime.datetime(2024, 1, 2, 3, 4, 5, 678000), 1.5, decimal.Decimal("2.25"),
         -9007199254740993, -7),
        (2, None, None, None, None, None, None, None),
    ]
    check(rows == want, f"rows {rows!r}")
    # The same statement again with other values (the driver reuses the prepared id).
    cur.execute(f"SELECT count(*), sum(f) FROM {db}.t WHERE k > ? AND s <> ?", (2, "nope"))
    rows = cur.fetchall()
    check(rows == [(2, -1e300 + 0.25)], f"rows {rows!r}")
    # A bound string is a value, never SQL.
    cur.execute(f"SELECT count(*) FROM {db}.t WHERE s = ?", ("x' OR '1'='1",))
    check(cur.fetchall() == [(0,)], "injection")
    # An error comes back as an error and the connection goes on.
    try:
        cur.execute(f"SELECT * FROM {db}.missing WHERE k = ?", (1,))
        check(False, "no error for a missing table")
    except mysql.connector.Error as e:
        check(e.errno == 1146 and "missing" in e.msg, f"error {e.errno} {e.msg}")
    cur.execute("SELECT ? + 1, ?, ?", (41, None, "z"))
    check(cur.fetchall() == [(42, None, "z")], "constants")
    cur.close()
    conn.close()
print("ok")
