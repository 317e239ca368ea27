#!/usr/bin/env python3
"""Peak RSS of a fresh Strata server loading one Parquet file with INSERT ... FROM FILES.

    python bench/rss.py --binary target/release/strata FILE [FILE ...]

Run it on the 10M-row file and on a 5x larger one: memory must stay flat.
"""
import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from run import Strata, files_clause  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    ap.add_argument("files", nargs="+")
    args = ap.parse_args()
    for path in args.files:
        st = Strata(args.binary)
        t0 = time.perf_counter()
        st.sql(f"INSERT INTO t SELECT * FROM {files_clause(os.path.abspath(path))}")
        secs = time.perf_counter() - t0
        rows = st.sql("SELECT count(*) FROM t")[0][0]
        rss = st.stop()
        print(f"{os.path.basename(path)}: {rows:,} rows in {secs:.2f} s, peak RSS {rss:.0f} MB")


if __name__ == "__main__":
    main()
