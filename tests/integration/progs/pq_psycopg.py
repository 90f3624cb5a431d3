#!/usr/bin/python3
"""
pq_psycopg.py - a couple of queries through psycopg2 (Debian's, so run it
with /usr/bin/python3). psycopg2's extension module is loaded by Python
with RTLD_LOCAL and brings libpq with it: the libpq calls come from inside
a dlopen'ed object. No tracing code.

usage: pq_psycopg.py CONNINFO
prints one line per query: "tag=<name> result=<value>"
"""
import sys

import psycopg2

conn = psycopg2.connect(sys.argv[1])
conn.autocommit = True
cur = conn.cursor()
# psycopg2 interpolates parameters on the client: the literal is in the
# statement text the server (and libpq) sees
cur.execute("SELECT count(*) FROM pg_class WHERE relname <> %s", ("SECRETpy",))
print("tag=py_count result=%s" % ("many" if cur.fetchone()[0] > 10 else "few"))
cur.execute("SELECT %s::integer + 1 AS py_sum", (41999917,))
print("tag=py_sum result=%d" % cur.fetchone()[0])
cur.close()
conn.close()
