"""Writes orc_widths.orc and orc_widths.parquet: the same rows, integers of many bit widths.

The ORC file comes from Apache ORC's C++ writer (through pyarrow), which packs runs at
unaligned widths (3, 5, 23... bits) and patches outliers (PATCHED_BASE); orc-rust's own
writer does neither. A test reads both files and compares (src/query/src/files/orc_json.rs).
Run: python make_orc_widths.py (needs pyarrow).
"""
import random

import pyarrow as pa
import pyarrow.orc as orc
import pyarrow.parquet as pq

ROWS = 2048
rnd = random.Random(6)
cols = {}
for bits in [1, 3, 5, 7, 9, 11, 13, 17, 19, 23, 29, 33, 45, 55, 57, 63]:
    vals = []
    for i in range(ROWS):
        r = i % 600
        if r < 40:
            v = 11  # a repeated run
        elif r < 80:
            v = i * 5 - 900  # a delta run
        elif r < 85:
            v = None
        elif i % 53 == 0 and bits < 50:
            v = rnd.getrandbits(bits + 12)  # an outlier: patched base
        else:
            v = rnd.getrandbits(bits)
            if bits < 63 and rnd.random() < 0.3:
                v = -v
        vals.append(v)
    cols[f"i{bits}"] = pa.array(vals, pa.int64())
cols["s"] = pa.array([None if i % 17 == 0 else "ab" * rnd.randint(0, 30) for i in range(ROWS)])
table = pa.table(cols)
orc.write_table(table, "orc_widths.orc", compression="snappy", compression_block_size=65536)
pq.write_table(table, "orc_widths.parquet")
