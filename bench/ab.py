#!/usr/bin/env python3
"""A/B of single loads: each binary loads the same file on a fresh server, alternating, and
the wall time and the server's CPU time (user+system, from /proc) of each load are printed.

    python bench/ab.py --binary A=/path/to/strata --binary B=/other/strata [--pairs 5] FILE

With `--same-server` each binary gets one server for all its loads, warmed by one load first,
as bench/run.py runs them: what a server keeps between loads (memory, buffers) then counts.
Page faults of each load are printed too.

With `--chdb` the same file is also loaded by chDB between the pairs, so the ratio to the
peer comes from the same minutes. With `--s3-server PATH` (a strata-s3-server binary) a Parquet
file is uploaded to it and every load, chDB's too, reads it from there. Same data, same table
as bench/run.py.
"""
import argparse
import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from run import Chdb, Strata, start_s3s, stop_s3, strata_loads, timed, warm  # noqa: E402

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_and_faults(pid):
    """The process's CPU seconds (user+system) and minor page faults so far."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS, int(fields[7])


def server_load(st, path, fmt, s3=None):
    """The load bench/run.py times (`strata_loads`) on server `st`."""
    path = os.path.abspath(path)
    others = {} if fmt == "parquet" else {fmt: path}
    op = (f"load s3 ({s3.name})" if s3 else
          "load file://" if fmt == "parquet" else f"load {fmt} file://")
    return strata_loads(st, path, [s3] if s3 else [], others)[op].fn


def measured(st, load, path):
    """Times `load` on `st` as bench/run.py does (`timed`): (wall s, CPU s, page faults)."""
    c0, f0 = cpu_and_faults(st.proc.pid)
    wall = timed(load, path)
    c1, f1 = cpu_and_faults(st.proc.pid)
    return wall, c1 - c0, f1 - f0


def strata_load(binary, path, fmt, s3=None):
    """One load on a fresh server: (wall s, CPU s, page faults, peak RSS MB)."""
    warm(binary)
    st = Strata(binary)
    try:
        result = measured(st, server_load(st, path, fmt, s3), path)
    finally:
        rss = st.stop()
    return (*result, rss)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", action="append", required=True, help="NAME=PATH")
    ap.add_argument("--pairs", type=int, default=5)
    ap.add_argument("--format", default="parquet")
    ap.add_argument("--chdb", action="store_true")
    ap.add_argument("--s3-server", help="load from this strata-s3-server (Parquet only)")
    ap.add_argument("--same-server", action="store_true",
                    help="one warmed server per binary for all its loads")
    ap.add_argument("file")
    args = ap.parse_args()
    bins = [b.split("=", 1) for b in args.binary]
    res = {name: [] for name, _ in bins}
    ch = []
    peer = Chdb() if args.chdb else None
    s3 = start_s3s(args.s3_server, args.file) if args.s3_server else None
    servers = {}
    if args.same_server:
        for name, path in bins:
            st = Strata(path)
            load = server_load(st, args.file, args.format, s3)
            load()
            servers[name] = (st, load)
    for i in range(args.pairs):
        order = bins if i % 2 == 0 else list(reversed(bins))
        for name, path in order:
            if args.same_server:
                st, load = servers[name]
                wall, cpu, faults = measured(st, load, args.file)
                rss = float("nan")
            else:
                wall, cpu, faults, rss = strata_load(path, args.file, args.format, s3)
            res[name].append((wall, cpu, rss, faults))
            peak = "" if args.same_server else f", peak {rss:.0f} MB"
            print(f"{name}: {wall:.3f} s, {cpu:.2f} CPU-s, {faults} page faults{peak}",
                  flush=True)
        if peer:
            peer_load = peer.load(Chdb.source(os.path.abspath(args.file), args.format, s3))
            ch.append(timed(peer_load, args.file))
            print(f"chDB: {ch[-1]:.3f} s", flush=True)
    if s3:
        stop_s3(s3)
    # A shared server's peak is over all its loads, warm-up included.
    peaks = {name: st.stop() for name, (st, _) in servers.items()}
    for name, rows in res.items():
        wall = statistics.median(r[0] for r in rows)
        cpu = statistics.median(r[1] for r in rows)
        faults = statistics.median(r[3] for r in rows)
        rss = peaks.get(name) or max(r[2] for r in rows)
        line = (f"{name}: median {wall:.3f} s, {cpu:.2f} CPU-s, {faults:.0f} page faults, "
                f"peak {rss:.0f} MB")
        if ch:
            line += f", {wall / statistics.median(ch):.2f}x chDB ({statistics.median(ch):.3f} s)"
        print(line)


if __name__ == "__main__":
    main()
