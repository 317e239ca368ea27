"""The `starrocks` SQLAlchemy dialect and pandas against a Strata server: reflection (what
inspect() reads from information_schema and SHOW CREATE TABLE) and reads into DataFrames.
Run: python sqlalchemy_reflect.py PORT (needs sqlalchemy, starrocks and pandas)."""
import datetime
import decimal
import sys

import pandas as pd
from sqlalchemy import create_engine, inspect, text

port = int(sys.argv[1])


def check(cond, what):
    if not cond:
        print("FAILED:", what)
        sys.exit(1)


setup = create_engine(f"starrocks://root@127.0.0.1:{port}/")
with setup.connect() as c:
    for sql in [
        "CREATE DATABASE sa",
        "CREATE TABLE sa.orders (id BIGINT NOT NULL COMMENT 'order id', "
        "customer VARCHAR(32) NOT NULL DEFAULT 'anon', amount DECIMAL(10, 2), placed DATETIME, "
        "day DATE) DUPLICATE KEY(id) DISTRIBUTED BY HASH(id) BUCKETS 2 COMMENT 'all orders'",
        "INSERT INTO sa.orders VALUES (1, 'ann', 12.50, '2024-03-01 10:00:00', '2024-03-01'), "
        "(2, 'bob', NULL, NULL, NULL), (3, 'cy', 7.25, '2024-03-02 11:30:00', '2024-03-02')",
        "CREATE VIEW sa.big AS SELECT id, amount FROM sa.orders WHERE amount > 10",
    ]:
        c.execute(text(sql))

engine = create_engine(f"starrocks://root@127.0.0.1:{port}/sa")
insp = inspect(engine)
check(insp.get_table_names() == ["orders"], f"tables {insp.get_table_names()}")
check(insp.get_view_names() == ["big"], f"views {insp.get_view_names()}")

cols = insp.get_columns("orders")
got = [(c["name"], str(c["type"]), c["nullable"]) for c in cols]
want = [
    ("id", "BIGINT", False),
    ("customer", "VARCHAR(32)", False),
    ("amount", "DECIMAL(10, 2)", True),
    ("placed", "DATETIME", True),
    ("day", "DATE", True),
]
check(got == want, f"columns {got}")
check(cols[0]["comment"] == "order id", f"comment {cols[0]}")
check("anon" in str(cols[1]["default"]), f"default {cols[1]}")
print("columns", got)

# The dialect reports a table's key columns as its primary key; no secondary indexes.
pk = insp.get_pk_constraint("orders")
check(pk["constrained_columns"] == ["id"], f"pk {pk}")
check(insp.get_indexes("orders") == [], f"indexes {insp.get_indexes('orders')}")
opts = insp.get_table_options("orders")
check(opts.get("starrocks_distributed_by") == "HASH(`id`) BUCKETS 2", f"options {opts}")
check(insp.get_table_comment("orders")["text"] == "all orders", "table comment")
print("pk", pk["constrained_columns"], "indexes []")

view_cols = [c["name"] for c in insp.get_columns("big")]
check(view_cols == ["id", "amount"], f"view columns {view_cols}")

df = pd.read_sql("SELECT * FROM orders ORDER BY id", engine)
check(list(df.columns) == ["id", "customer", "amount", "placed", "day"], f"{df.columns}")
check(df["id"].tolist() == [1, 2, 3], f"ids {df['id'].tolist()}")
check(df["customer"].tolist() == ["ann", "bob", "cy"], f"{df['customer'].tolist()}")
check(df.loc[0, "amount"] == 12.5 and pd.isna(df.loc[1, "amount"]), f"{df['amount'].tolist()}")
check(df.loc[0, "placed"] == pd.Timestamp("2024-03-01 10:00:00"), f"{df['placed'].tolist()}")
check(str(df["placed"].dtype).startswith("datetime64"), f"dtype {df['placed'].dtype}")
check(df.loc[2, "day"] == datetime.date(2024, 3, 2), f"{df['day'].tolist()}")
print("read_sql rows", len(df))

table = pd.read_sql_table("orders", engine).sort_values("id").reset_index(drop=True)
check(table["id"].tolist() == [1, 2, 3], f"read_sql_table ids {table['id'].tolist()}")
check(table.loc[2, "amount"] in (7.25, decimal.Decimal("7.25")), f"{table['amount'].tolist()}")
check(table.loc[0, "day"] == pd.Timestamp("2024-03-01"), f"{table['day'].tolist()}")
check(table.loc[1, "customer"] == "bob", f"{table['customer'].tolist()}")
print("read_sql_table rows", len(table))

big = pd.read_sql_table("big", engine)
check(big["id"].tolist() == [1], f"view rows {big.to_dict('records')}")
print("ok")
