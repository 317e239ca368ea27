"""TLS logins with passwords: pymysql and mysql-connector-python over TLS succeed on a server
that requires secure transport, and a plain pymysql connection is refused with MySQL's 3159.

Usage: tls_e2e.py PORT USER PASSWORD
"""
import ssl
import sys

import mysql.connector
import pymysql

port, user, password = int(sys.argv[1]), sys.argv[2], sys.argv[3]

ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
conn = pymysql.connect(host="127.0.0.1", port=port, user=user, password=password, ssl=ctx)
assert conn._sock.version().startswith("TLS"), conn._sock.version()
with conn.cursor() as cur:
    cur.execute("SELECT current_user()")
    assert cur.fetchone()[0] == f"'{user}'@'%'"
conn.close()

# pymysql prefers TLS when the server offers it; a plain connection has to be asked for.
try:
    pymysql.connect(host="127.0.0.1", port=port, user=user, password=password, ssl_disabled=True)
    raise SystemExit("a plain connection was accepted")
except pymysql.err.OperationalError as e:
    assert e.args[0] == 3159, e.args

conn = mysql.connector.connect(
    host="127.0.0.1", port=port, user=user, password=password,
    ssl_disabled=False, ssl_verify_cert=False, ssl_verify_identity=False,
)
cur = conn.cursor()
cur.execute("SELECT 1 + 1")
assert cur.fetchone()[0] == 2
conn.close()
print("ok")
