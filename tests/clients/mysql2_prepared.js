// Node's mysql2: `execute` prepares each statement on the server (COM_STMT_PREPARE, then
// COM_STMT_EXECUTE with typed parameters, binary rows) and caches it; `query` is text.
// Run: NODE_PATH=<dir with mysql2> node tests/clients/mysql2_prepared.js PORT
const mysql = require('mysql2/promise');

function check(cond, what) {
  if (!cond) {
    console.log('FAILED: ' + what);
    process.exit(1);
  }
}

(async () => {
  const port = Number(process.argv[2]);
  const c = await mysql.createConnection({ host: '127.0.0.1', port, user: 'root', dateStrings: true });
  await c.query('CREATE DATABASE IF NOT EXISTS node_prep');
  await c.query('CREATE TABLE node_prep.t (k INT, s VARCHAR(64), d DATE, ts DATETIME, f DOUBLE, b BIGINT) DUPLICATE KEY(k) DISTRIBUTED BY HASH(k)');
  const ins = 'INSERT INTO node_prep.t VALUES (?, ?, ?, ?, ?, ?)';
  const [r1] = await c.execute(ins, [1, "it's ?", '2024-01-02', '2024-01-02 03:04:05', 1.5, 42]);
  check(r1.affectedRows === 1, 'affectedRows ' + JSON.stringify(r1));
  await c.execute(ins, [2, null, null, null, null, null]);
  await c.execute(ins, [3, 'x', '2024-03-04', null, -0.5, -7]);
  const [rows] = await c.execute('SELECT k, s, d, ts, f, b FROM node_prep.t WHERE k <= ? ORDER BY k', [2]);
  const got = JSON.stringify(rows);
  const want = JSON.stringify([
    { k: 1, s: "it's ?", d: '2024-01-02', ts: '2024-01-02 03:04:05', f: 1.5, b: 42 },
    { k: 2, s: null, d: null, ts: null, f: null, b: null },
  ]);
  check(got === want, 'rows ' + got);
  // The cached statement again, other values.
  const [again] = await c.execute('SELECT k, s, d, ts, f, b FROM node_prep.t WHERE k <= ? ORDER BY k', [3]);
  check(again.length === 3 && again[2].f === -0.5 && again[2].b === -7, 'again ' + JSON.stringify(again));
  const [inj] = await c.execute('SELECT count(*) AS n FROM node_prep.t WHERE s = ?', ["x' OR '1'='1"]);
  check(inj[0].n === 0, 'injection ' + JSON.stringify(inj));
  let failed = null;
  try {
    await c.execute('SELECT * FROM node_prep.missing WHERE k = ?', [1]);
  } catch (e) {
    failed = e;
  }
  check(failed && failed.errno === 1146, 'missing table: ' + (failed && failed.message));
  const [text] = await c.query('SELECT count(*) AS n FROM node_prep.t');
  check(text[0].n === 3, 'text query ' + JSON.stringify(text));
  await c.end();
  console.log('ok');
})().catch((e) => {
  console.log('FAILED: ' + e.stack);
  process.exit(1);
});
