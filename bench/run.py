#!/usr/bin/env python3
"""Strata load and query benchmark against DuckDB and chDB, measured in the same run.

    bench/run.sh [--rows N] [--runs K]       # creates its venv, builds the release binary

Loads N generated rows (the seed's user-behaviour schema, bench/gen_user_behavior.py) from a
local Parquet file with `INSERT INTO t SELECT * FROM FILES(...)` into the seed's declared table,
from local S3-compatible servers too, then runs Q1-Q5 over the MySQL protocol. The S3 servers:
`strata-s3-server` (s3s-fs behind s3s, the tests' server, which serves a range by reading it
from its file) and moto (Python; it copies the whole object for every ranged GET, so its own
CPU time dominates those loads).
Peers load the same file: DuckDB `CREATE TABLE AS read_parquet` into a persistent file, chDB
`INSERT ... FROM file(..., Parquet)` into MergeTree ORDER BY UserID. The systems take turns,
run by run, on every load and query (`interleaved`). Prints one table of times, rows/s, ratios
Strata/peer and peak RSS, and writes it to bench/RESULTS.latest.md (bench/RESULTS.md
keeps the runs worth keeping, with what they mean).
"""
import argparse
import collections
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Callable, NamedTuple, Optional

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

QUERIES = {
    "Q1": "SELECT count(*) FROM t",
    "Q2": "SELECT BehaviorType, count(*) FROM t GROUP BY BehaviorType",
    "Q3": "SELECT UserID, count(*) c FROM t GROUP BY UserID ORDER BY c DESC LIMIT 10",
    "Q4": "SELECT * FROM t WHERE UserID = 12345",
    "Q5": "SELECT count(DISTINCT ItemID) FROM t",
}

DECLARED = """CREATE TABLE t (
    UserID int(11), ItemID int(11), CategoryID int(11),
    BehaviorType varchar(65533), Timestamp datetime
) ENGINE = OLAP DUPLICATE KEY(UserID) DISTRIBUTED BY HASH(UserID)"""


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def settle(limit=10.0):
    """Flushes dirty pages to disk, then waits until the machine is idle (under 10% of one core
    busy over 0.3 s), at most `limit` seconds. Each run must start clean of the previous one's
    leftovers: chDB and DuckDB do not fsync, so their files would be written back during the
    next system's run (and slow its fsyncs), and chDB goes on merging parts in the background
    after its INSERT returns."""
    os.sync()
    def busy():
        with open("/proc/stat") as f:
            x = [int(v) for v in f.readline().split()[1:]]
        return sum(x) - x[3] - x[4], sum(x)
    end = time.time() + limit
    while time.time() < end:
        b0, t0 = busy()
        time.sleep(0.3)
        b1, t1 = busy()
        cores = os.cpu_count() or 1
        if (b1 - b0) / max(t1 - t0, 1) * cores < 0.1:
            return


def warm(path):
    """Reads `path` into the page cache. This machine's kernel evicts cold pages within a
    minute even with memory free, so a file read a while ago would come partly from disk,
    for whichever system happens to run first."""
    with open(path, "rb") as f:
        while f.read(8 << 20):
            pass


def timed(fn, warm_file=None):
    """Seconds `fn` takes, started with `warm_file` in the page cache and the machine settled."""
    if warm_file:
        warm(warm_file)
    settle()
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def interleaved(systems, runs, warm_file=None):
    """Times each system's `fn` once per round, `runs` rounds, and returns each one's median.

    The systems take turns (the order reversed every other round) instead of one finishing all
    its runs before the next starts: this machine's speed drifts by up to 20% over minutes, and
    a ratio between two systems measured minutes apart would carry that drift."""
    times = {name: [] for name in systems}
    order = list(systems)
    for i in range(runs):
        for name in (order if i % 2 == 0 else reversed(order)):
            times[name].append(timed(systems[name], warm_file))
    return {name: statistics.median(t) for name, t in times.items()}


def peak_rss_mb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def reset_peak_rss(pid):
    """Starts a new VmHWM for `pid` (Linux: `5` into clear_refs), so each load's peak is its own."""
    with open(f"/proc/{pid}/clear_refs", "w") as f:
        f.write("5")


def self_peak_rss_mb():
    import resource
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


EXT = {"parquet": "parquet", "csv": "csv", "orc": "orc", "json": "jsonl"}


def generate(rows, fmt="parquet"):
    path = os.path.join(HERE, "data", f"ub_{rows}.{EXT[fmt]}")
    if not os.path.exists(path):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        subprocess.check_call([sys.executable, os.path.join(HERE, "gen_user_behavior.py"),
                               "--rows", str(rows), "--format", fmt, "--out", path])
    return path


def generate_dir(rows, files):
    """A folder of `files` Parquet files holding `rows` rows in all (the pipe's folder shape)."""
    path = os.path.join(HERE, "data", f"ub_{rows}_{files}files")
    if not os.path.exists(path):
        subprocess.check_call([sys.executable, os.path.join(HERE, "gen_user_behavior.py"),
                               "--rows", str(rows), "--files", str(files), "--out", path + "/"])
    return path


def csv_has_header(path):
    with open(path) as f:
        return f.readline().lstrip('"').startswith("UserID")


class Strata:
    def __init__(self, binary):
        self.dir = tempfile.mkdtemp(prefix="strata-bench-")
        self.port = free_port()
        self.proc = subprocess.Popen(
            [binary, "--data-dir", self.dir, "--mysql-addr", f"127.0.0.1:{self.port}",
             "--http-addr", f"127.0.0.1:{free_port()}", "--log", "warn",
             "--allow-local-path", os.path.join(HERE, "data")])
        import pymysql
        for _ in range(600):
            try:
                self.conn = pymysql.connect(host="127.0.0.1", port=self.port, user="root",
                                            autocommit=True)
                break
            except Exception:
                time.sleep(0.1)
        self.cur = self.conn.cursor()
        self.cur.execute("CREATE DATABASE b")
        self.cur.execute("USE b")
        self.cur.execute(DECLARED)

    def sql(self, q):
        self.cur.execute(q)
        return self.cur.fetchall()

    def stop(self):
        rss = peak_rss_mb(self.proc.pid)
        self.proc.kill()
        self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)
        return rss


# One S3-compatible server holding the Parquet file: `name` labels its rows in the table;
# `root` is the directory it serves, if it is one of ours to remove.
S3 = collections.namedtuple("S3", "name proc endpoint bucket key ak sk root")


def stop_s3(s3):
    s3.proc.kill()
    if s3.root:
        shutil.rmtree(s3.root, ignore_errors=True)


def files_clause(path, s3=None):
    if s3 is None:
        return f'FILES("path" = "file://{path}", "format" = "parquet")'
    return (f'FILES("path" = "s3://{s3.bucket}/{s3.key}", "format" = "parquet", '
            f'"aws.s3.endpoint" = "{s3.endpoint}", "aws.s3.access_key" = "{s3.ak}", '
            f'"aws.s3.secret_key" = "{s3.sk}", "aws.s3.region" = "us-east-1")')


class Load(NamedTuple):
    """One of Strata's loads: its function, the file to warm first, and its source as
    `Chdb.source` takes it (path, format, S3 server), for the peers to load the same."""
    fn: Callable[[], None]
    warm_file: Optional[str]
    source: tuple


def strata_loads(st, path, s3, others):
    """Strata's loads, by operation name ([`Load`])."""
    def load(src, cols="*"):
        def f():
            st.sql("TRUNCATE TABLE t")
            st.sql(f"INSERT INTO t SELECT {cols} FROM {src}")
        return f
    ops = {}
    for fmt, p in others.items():
        props = f'"path" = "file://{p}", "format" = "{fmt}"'
        cols = "*"
        if fmt == "csv":
            props += ', "csv.column_separator" = ",", "csv.enclose" = \'"\''
            if csv_has_header(p):
                props += ', "csv.skip_header" = "1"'
            cols = "$1, $2, $3, $4, $5"
        if fmt == "json":
            cols = "UserID, ItemID, CategoryID, BehaviorType, Timestamp"
        ops[f"load {fmt} file://"] = Load(load(f"FILES({props})", cols), p, (p, fmt, None))
    ops["load file://"] = Load(load(files_clause(path)), path, (path, "parquet", None))
    for x in s3:
        ops[f"load s3 ({x.name})"] = Load(load(files_clause(path, x)), None, (path, "parquet", x))
    return ops


class Duck:
    """DuckDB: `CREATE TABLE AS read_parquet` into a persistent file, timed with `close()`."""

    def __init__(self):
        import duckdb
        self.duckdb = duckdb
        self.dir = tempfile.mkdtemp(prefix="duck-bench-")
        self.db = os.path.join(self.dir, "b.duckdb")
        self.con = None

    def load(self, path):
        def f():
            if self.con:
                self.con.close()
                self.con = None
            if os.path.exists(self.db):
                os.remove(self.db)
            con = self.duckdb.connect(self.db)
            con.execute(f"""CREATE TABLE t AS SELECT UserID::INT AS UserID,
                ItemID::INT AS ItemID, CategoryID::INT AS CategoryID, BehaviorType,
                Timestamp::TIMESTAMP AS Timestamp FROM read_parquet('{path}')""")
            con.close()
        return f

    def query(self, text):
        if self.con is None:
            self.con = self.duckdb.connect(self.db)
        return lambda: self.con.execute(text).fetchall()

    def close(self):
        if self.con:
            self.con.close()
        shutil.rmtree(self.dir, ignore_errors=True)


class Chdb:
    """chDB: `INSERT ... SELECT` into `MergeTree ORDER BY UserID`; one session for the whole
    run (chDB allows one per process)."""
    NAMES = {"parquet": "Parquet", "csv": "CSVWithNames", "orc": "ORC", "json": "JSONEachRow"}

    def __init__(self):
        from chdb import session
        self.dir = tempfile.mkdtemp(prefix="chdb-bench-")
        self.s = session.Session(self.dir)
        self.s.query("CREATE DATABASE IF NOT EXISTS b")

    def load(self, src):
        def f():
            self.s.query("DROP TABLE IF EXISTS b.t")
            self.s.query("CREATE TABLE b.t (UserID Int32, ItemID Int32, CategoryID Int32, "
                         "BehaviorType String, Timestamp DateTime) "
                         "ENGINE = MergeTree ORDER BY UserID")
            self.s.query(f"INSERT INTO b.t SELECT * FROM {src}")
        return f

    @classmethod
    def source(cls, path, fmt="parquet", s3=None):
        if s3:
            return f"s3('{s3.endpoint}/{s3.bucket}/{s3.key}', '{s3.ak}', '{s3.sk}', Parquet)"
        name = cls.NAMES[fmt] if fmt != "csv" or csv_has_header(path) else "CSV"
        return f"file('{path}', {name})"

    def query(self, text):
        text = text.replace("FROM t", "FROM b.t")
        return lambda: self.s.query(text)

    def close(self):
        self.s.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def bench(binary, path, runs, s3, others):
    """Every load, then every query, each system taking turns (see `interleaved`). Returns
    {operation: {system: median seconds}} and Strata's peak RSS per operation and overall."""
    st, duck, ch = Strata(binary), Duck(), Chdb()
    times, rss = {}, {}
    try:
        for op, load in strata_loads(st, path, s3, others).items():
            systems = {"Strata": load.fn}
            if load.source == (path, "parquet", None):
                systems["DuckDB"] = duck.load(path)
            systems["chDB"] = ch.load(Chdb.source(*load.source))
            print(f"{time.strftime('%H:%M:%S')} {op}", file=sys.stderr, flush=True)
            reset_peak_rss(st.proc.pid)
            times[op] = interleaved(systems, runs, load.warm_file)
            rss[op] = peak_rss_mb(st.proc.pid)
        # The tables now hold what each system loaded last: the same 10M rows.
        assert st.sql("SELECT count(*) FROM t")[0][0] > 0, "nothing loaded"
        for q, text in QUERIES.items():
            systems = {"Strata": lambda text=text: st.sql(text), "DuckDB": duck.query(text),
                       "chDB": ch.query(text)}
            for fn in systems.values():
                fn()
            times[q] = interleaved(systems, 5)
    finally:
        rss["whole run"] = st.stop()
        duck.close()
        ch.close()
    return times, rss


def broker_load(st, path, s3=None, label=[0]):
    """A Broker Load of `path` into `t`, from submit to FINISHED (polled every 50 ms: each poll
    is a query the server plans and runs, on the cores the load uses)."""
    label[0] += 1
    name = f"bench_{os.getpid()}_{label[0]}"
    if s3 is None:
        src, broker = f"file://{path}", ""
    else:
        src = f"s3://{s3.bucket}/{s3.key}"
        broker = (f'("aws.s3.endpoint" = "{s3.endpoint}", "aws.s3.access_key" = "{s3.ak}", '
                  f'"aws.s3.secret_key" = "{s3.sk}", "aws.s3.region" = "us-east-1")')
    st.sql("TRUNCATE TABLE t")
    st.sql(f'LOAD LABEL {name} (DATA INFILE("{src}") INTO TABLE t FORMAT AS "parquet") '
           f'WITH BROKER {broker} PROPERTIES ("timeout" = "72000")')
    while True:
        state, err = st.sql("SELECT STATE, ERROR_MSG FROM information_schema.loads "
                            f"WHERE LABEL = '{name}'")[0]
        if state == "FINISHED":
            return
        assert state != "CANCELLED", f"broker load failed: {err}"
        time.sleep(0.05)


def broker_bench(binary, path, runs, s3, big_rows):
    """Broker Load (submit → FINISHED) beside the same INSERT, taking turns on one server;
    then the peak RSS of a Broker Load of `path` and of a file `big_rows` long."""
    st = Strata(binary)
    times, rss = {}, {}
    try:
        sources = [("file://", None)] + [(f"s3 ({x.name})", x) for x in s3]
        for name, x in sources:
            def insert(x=x):
                st.sql("TRUNCATE TABLE t")
                st.sql(f"INSERT INTO t SELECT * FROM {files_clause(path, x)}")
            systems = {"Broker Load": lambda x=x: broker_load(st, path, x), "INSERT": insert}
            print(f"{time.strftime('%H:%M:%S')} broker load {name}", file=sys.stderr, flush=True)
            times[f"broker load {name}"] = interleaved(systems, runs, path if x is None else None)
        if big_rows:
            big = generate(big_rows)
            for rows, p in [(ROWS_OF(path), path), (big_rows, big)]:
                reset_peak_rss(st.proc.pid)
                broker_load(st, p)
                rss[rows] = peak_rss_mb(st.proc.pid)
    finally:
        st.stop()
    return times, rss


def pipe_load(st, folder, files):
    """A pipe over `folder` (AUTO_INGEST = FALSE), from CREATE to every file FINISHED."""
    st.sql("TRUNCATE TABLE t")
    st.sql("DROP PIPE IF EXISTS bench_pipe")
    st.sql('CREATE PIPE bench_pipe PROPERTIES ("AUTO_INGEST" = "FALSE") AS INSERT INTO t '
           f'SELECT * FROM FILES("path" = "file://{folder}/*", "format" = "parquet")')
    while True:
        state, done = st.sql("SELECT STATE, FINISHED_FILES FROM information_schema.pipes "
                             "WHERE PIPE_NAME = 'bench_pipe'")[0]
        if state == "FINISHED":
            assert done == files, f"pipe finished {done} of {files} files"
            return
        assert state != "ERROR", "pipe failed"
        time.sleep(0.02)


def pipe_bench(binary, path, runs, rows, small_files):
    """The 57-file pipe load beside the single-file INSERT, taking turns on one server; then a
    folder of `small_files` small files through a pipe: files per second and peak RSS."""
    folder = generate_dir(rows, 57)
    st = Strata(binary)
    times, extra = {}, {}
    try:
        def insert():
            st.sql("TRUNCATE TABLE t")
            st.sql(f"INSERT INTO t SELECT * FROM {files_clause(path)}")
        systems = {"Pipe": lambda: pipe_load(st, folder, 57), "INSERT": insert}
        print(f"{time.strftime('%H:%M:%S')} pipe 57 files", file=sys.stderr, flush=True)
        times["pipe 57 files file://"] = interleaved(systems, runs, path)
        if small_files:
            small = generate_dir(small_files * 100, small_files)
            print(f"{time.strftime('%H:%M:%S')} pipe {small_files} small files", file=sys.stderr,
                  flush=True)
            reset_peak_rss(st.proc.pid)
            t0 = time.perf_counter()
            pipe_load(st, small, small_files)
            secs = time.perf_counter() - t0
            extra = {"files": small_files, "secs": secs, "rss": peak_rss_mb(st.proc.pid)}
    finally:
        st.stop()
    return times, extra


def ROWS_OF(path):
    return int(os.path.basename(path).split("_")[1].split(".")[0])


def upload(s3, path):
    """Creates the bucket and uploads the file through a real S3 client (boto3)."""
    import boto3  # installed with moto
    c = boto3.client("s3", endpoint_url=s3.endpoint, aws_access_key_id=s3.ak,
                     aws_secret_access_key=s3.sk, region_name="us-east-1")
    c.create_bucket(Bucket=s3.bucket)
    c.upload_file(path, s3.bucket, s3.key)
    return s3


def start_moto(path):
    port = free_port()
    env = dict(os.environ, AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing")
    proc = subprocess.Popen([os.path.join(os.path.dirname(sys.executable), "moto_server"),
                             "-H", "127.0.0.1", "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    endpoint = f"http://127.0.0.1:{port}"
    import urllib.request
    for _ in range(100):
        try:
            urllib.request.urlopen(endpoint)
            break
        except Exception:
            time.sleep(0.1)
    return upload(S3("moto", proc, endpoint, "bench", "ub.parquet", "testing", "testing", None),
                  path)


def start_s3s(binary, path):
    """Starts `strata-s3-server` on a fresh directory; it prints its endpoint once it listens.
    Its keys are checked (SigV4), so they are not moto's anything-goes `testing`."""
    root = tempfile.mkdtemp(prefix="s3s-bench-")
    ak, sk = "AKIASTRATABENCH00001", "strata/bench/secret/key/000000000000001"
    proc = subprocess.Popen([binary, "--root", root, "--access-key", ak, "--secret-key", sk],
                            stdout=subprocess.PIPE, text=True)
    endpoint = proc.stdout.readline().strip()
    assert endpoint.startswith("http://"), f"strata-s3-server printed {endpoint!r}"
    return upload(S3("s3s-fs", proc, endpoint, "bench", "ub.parquet", ak, sk, root), path)


def versus_insert(name, times, intro):
    """The lines of a table of `name`'s times beside INSERT's, with their ratio."""
    if not times:
        return []
    lines = ["", intro, "", f"| source | {name} | INSERT | {name}/INSERT |", "|---|---|---|---|"]
    for op, t in times.items():
        x, i = t.get(name), t.get("INSERT")
        lines.append(f"| {op} | {fmt(x)} | {fmt(i)} | {x / i:.2f}× |")
    return lines


def fmt(v):
    return "—" if v is None else (f"{v:.3f} s" if v >= 0.1 else f"{v * 1000:.1f} ms")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--binary", required=True)
    ap.add_argument("--s3-server", help="the strata-s3-server binary (run.sh builds it)")
    ap.add_argument("--no-s3", action="store_true")
    ap.add_argument("--formats", default="", help="also load these formats, e.g. csv,orc,json "
                    "(json uses a tenth of the rows)")
    ap.add_argument("--broker", action="store_true",
                    help="also time Broker Load beside the same INSERT")
    ap.add_argument("--broker-rss-rows", type=int, default=0,
                    help="with --broker: also the peak RSS of a Broker Load of this many rows "
                    "(e.g. 50000000) beside the --rows one")
    ap.add_argument("--only-broker", action="store_true",
                    help="run only the Broker Load (and, with --pipe, pipe) comparisons")
    ap.add_argument("--pipe", action="store_true",
                    help="also time a pipe over the 57-file folder beside the same INSERT")
    ap.add_argument("--pipe-small-files", type=int, default=0,
                    help="with --pipe: also a folder of this many 100-row files (e.g. 10000)")
    args = ap.parse_args()
    path = generate(args.rows)
    others = {}
    for kind in [f for f in args.formats.split(",") if f]:
        others[kind] = generate(args.rows // 10 if kind == "json" else args.rows, kind)
    s3 = []
    try:
        if not args.no_s3:
            if args.s3_server:
                s3.append(start_s3s(args.s3_server, path))
            s3.append(start_moto(path))
        if args.only_broker:
            times, rss = {}, {"whole run": 0}
        else:
            times, rss = bench(args.binary, path, args.runs, s3, others)
        if args.broker or args.only_broker:
            btimes, brss = broker_bench(args.binary, path, args.runs, s3,
                                        args.broker_rss_rows)
        else:
            btimes, brss = {}, {}
        if args.pipe:
            ptimes, psmall = pipe_bench(args.binary, path, args.runs, args.rows,
                                        args.pipe_small_files)
        else:
            ptimes, psmall = {}, {}
    finally:
        for x in s3:
            stop_s3(x)
    peers_rss = self_peak_rss_mb()
    cpu = platform.processor() or "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(l.split(":", 1)[1].strip() for l in f if l.startswith("model name"))
    except Exception:
        pass
    lines = [
        f"Machine: {os.cpu_count()} cores, {cpu}. Date: {time.strftime('%Y-%m-%d')}. "
        f"Rows: {args.rows:,} (JSON: {args.rows // 10:,}); loads: median of {args.runs}, "
        "queries: median of 5 (warm); the systems take turns run by run. Loads are INSERT ... "
        "SELECT FROM FILES into the seed's declared table (int ids, DATETIME); peers load the "
        "same files.",
        "",
        "| operation | Strata | Strata rows/s | DuckDB | chDB | Strata/DuckDB | Strata/chDB "
        "| Strata peak RSS |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for op, t in times.items():
        s, d, c = t.get("Strata"), t.get("DuckDB"), t.get("chDB")
        r1 = f"{s / d:.2f}×" if s and d else "—"
        r2 = f"{s / c:.2f}×" if s and c else "—"
        rows = ""
        if op.startswith("load"):
            n = args.rows // 10 if op.startswith("load json") else args.rows
            rows = f"{n / s:,.0f}"
        mb = f"{rss[op]:.0f} MB" if op in rss else ""
        lines.append(f"| {op} | {fmt(s)} | {rows} | {fmt(d)} | {fmt(c)} | {r1} | {r2} | {mb} |")
    if times:
        lines.append(f"| peak RSS, whole run | {rss['whole run']:.0f} MB (server, loads then "
                     f"queries) | | {peers_rss:.0f} MB (bench process, DuckDB+chDB in-process) "
                     "| | | | |")
        lines.append("")
        lines.append("Strata peak RSS of a load: the server's VmHWM over that load's runs (reset "
                     "before them), on the one server that runs every load in turn.")
    else:
        lines = lines[:1]
    lines += versus_insert("Broker Load", btimes,
                           "Broker Load, from submit to FINISHED (polled every 50 ms), beside the "
                           "same INSERT on the same server, taking turns:")
    if brss:
        (r1, m1), (r2, m2) = sorted(brss.items())
        lines += ["", f"Broker Load peak RSS (server VmHWM): {r1:,} rows {m1:.0f} MB, "
                  f"{r2:,} rows {m2:.0f} MB: {m2 / m1:.2f}×."]
    lines += versus_insert("Pipe", ptimes,
                           "Pipe over the 57-file folder (AUTO_INGEST = FALSE, from CREATE PIPE to "
                           "every file FINISHED, polled every 20 ms) beside the single-file INSERT, "
                           "taking turns:")
    if psmall:
        lines += ["", f"Pipe over {psmall['files']:,} files of 100 rows: {fmt(psmall['secs'])}, "
                  f"{psmall['files'] / psmall['secs']:,.0f} files/s, server peak RSS "
                  f"{psmall['rss']:.0f} MB."]
    text = "\n".join(lines)
    print(text)
    # The latest run goes to RESULTS.latest.md; RESULTS.md is the curated history.
    with open(os.path.join(HERE, "RESULTS.latest.md"), "w") as f:
        f.write("# Latest benchmark run\n\nProduced by `bench/run.sh` (see bench/run.py).\n\n")
        f.write(text + "\n")


if __name__ == "__main__":
    main()
