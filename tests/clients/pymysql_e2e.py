"""End-to-end run of pymysql against a Strata server: python pymysql_e2e.py PORT."""
import datetime
import sys

import pymysql

port = int(sys.argv[1])


def check(cond, what):
    if not cond:
        print("FAILED:", what)
        sys.exit(1)


conn = pymysql.connect(host="127.0.0.1", port=port, user="root", password="",
                       client_flag=pymysql.constants.CLIENT.MULTI_STATEMENTS, autocommit=True)
cur = conn.cursor()
cur.execute("CREATE DATABASE IF NOT EXISTS py_db")
conn.select_db("py_db")
cur.execute("CREATE TABLE t (k INT, s VARCHAR(20), d DATETIME, f DOUBLE, dt DATE) "
            "DUPLICATE KEY(k) DISTRIBUTED BY HASH(k)")
n = cur.execute("INSERT INTO t VALUES (1, 'a', '2017-11-25 01:21:25', 1.5, '2017-11-25'), "
                "(2, NULL, NULL, NULL, NULL)")
check(n == 2, f"affected rows {n}")
check("'status':'VISIBLE'" in (conn._result.message or b"").decode(), f"info {conn._result.message!r}")
cur.execute("SELECT k, s, d, f, dt FROM t ORDER BY k")
rows = cur.fetchall()
check(rows[0] == (1, "a", datetime.datetime(2017, 11, 25, 1, 21, 25), 1.5, datetime.date(2017, 11, 25)),
      f"typed row {rows[0]!r}")
check(rows[1] == (2, None, None, None, None), f"null row {rows[1]!r}")
check([c[0] for c in cur.description] == ["k", "s", "d", "f", "dt"], f"names {cur.description!r}")

# Warnings count = filtered rows.
n = cur.execute("INSERT INTO t PROPERTIES ('max_filter_ratio' = '0.9') VALUES (3, 'x', 'bad', 1, NULL), "
                "(4, 'y', '2017-01-01', 2, NULL)")
check(n == 1, f"loaded with filter {n}")
check(conn._result.warning_count == 1, f"warning count {conn._result.warning_count}")
cur.execute("SHOW WARNINGS")
w = cur.fetchall()
check(len(w) == 1 and "bad" in w[0][2], f"warnings {w!r}")

# Errors carry MySQL numbers, and the connection survives them.
try:
    cur.execute("SELECT * FROM no_such_table")
    check(False, "no error for unknown table")
except pymysql.err.ProgrammingError as e:
    check(e.args[0] == 1146, f"unknown table code {e.args!r}")
try:
    cur.execute("SELEC 1")
    check(False, "no syntax error")
except pymysql.err.ProgrammingError as e:
    check(e.args[0] == 1064, f"syntax code {e.args!r}")

# Multi-statement: one result set per statement.
cur.execute("SELECT 1; SELECT 2 AS two; INSERT INTO t VALUES (9, 'z', NULL, NULL, NULL)")
check(cur.fetchall() == ((1,),), "first result")
check(cur.nextset(), "second result exists")
check(cur.fetchall() == ((2,),), "second result")
check(cur.nextset(), "third result exists")
check(cur.rowcount == 1, f"insert rowcount {cur.rowcount}")
check(not cur.nextset(), "no fourth result")

cur.execute("SELECT count(*) FROM t")
check(cur.fetchone()[0] == 4, "count after multi-statement")

# NULL is NULL in every type, also where MySQL's functions propagate it.
cur.execute("CREATE TABLE nulls (k INT, ti TINYINT, si SMALLINT, bi BIGINT, b BOOLEAN, "
            "fl FLOAT, de DECIMAL(10, 2), c CHAR(3), v VARCHAR(5), st STRING, d DATE, dt DATETIME) "
            "DUPLICATE KEY(k) DISTRIBUTED BY HASH(k)")
cur.execute("INSERT INTO nulls VALUES (1, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)")
cur.execute("SELECT * FROM nulls")
check(cur.fetchall() == ((1,) + (None,) * 11,), "NULL in every column type")
cur.execute("SELECT NULL, CAST(NULL AS INT), concat('a', NULL), concat_ws('-', NULL, 'b'), NULL IS NULL")
check(cur.fetchall() == ((None, None, None, "b", 1),), "NULL from expressions")

# A wrong user is refused.
try:
    pymysql.connect(host="127.0.0.1", port=port, user="nobody", password="x")
    check(False, "bad user accepted")
except pymysql.err.OperationalError as e:
    check(e.args[0] in (1045, 1698), f"bad user code {e.args!r}")

cur.execute("DROP DATABASE py_db")
print("pymysql OK")
