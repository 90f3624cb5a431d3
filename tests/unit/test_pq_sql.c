/*
 * test_pq_sql.c - Criterion suite for hooks/pq_sql.c, the PostgreSQL
 * query-text analyser (sanitised db.query.text, db.query.summary,
 * db.operation.name, statement count) and the sqlcommenter.
 *
 * The table gives, per input, the sanitised text, the summary, the
 * operation, the statement count and the flags, with the rule each row
 * exercises. Every input is placed so that its last byte is the last
 * readable one before a PROT_NONE page, and the output buffer is exactly cap
 * bytes against another one: a read past qlen or a write past cap faults.
 *
 * Beyond the table: every cap from 1 to past the full length (token
 * boundaries, exact fit), the 1 MiB scan bound, a property test that no
 * literal content ever reaches the output, and the sqlcommenter table.
 *
 * hooks/ is not in build/libcore.a, so the analyser is included here.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "../../hooks/pq_sql.c"

/* ------------------------------------------------------------------ helpers */

#include "guard_page.h"

/* pq_sql_analyse with q and out both against a guard page. out NULL when
 * cap is 0 and no_out; the sanitised text is copied to text (NUL-terminated). */
static void analyse(const void *in, size_t n, size_t cap, bool no_out, struct pq_sql *m, char *text,
		    size_t text_cap)
{
	struct guard gi = guard_new(n), go = guard_new(cap);
	const char *q = (const char *)place(&gi, in, n);
	char *out = no_out ? NULL : (char *)place(&go, NULL, cap);

	memset(m, 0x5a, sizeof(*m));	/* every field must be written */
	if (out && cap)
		memset(out, 'Z', cap);
	pq_sql_analyse(q, n, out, cap, m);
	cr_assert(m->summary_len <= PQ_SQL_SUMMARY_MAX && m->summary[m->summary_len] == 0 &&
		  strlen(m->summary) == m->summary_len, "summary not terminated at summary_len");
	cr_assert(m->op_len <= PQ_SQL_OP_MAX && m->op[m->op_len] == 0 &&
		  strlen(m->op) == m->op_len, "op not terminated at op_len");
	if (out && cap) {
		cr_assert(m->text_len < cap, "text_len %zu, cap %zu", m->text_len, cap);
		cr_assert(out[m->text_len] == 0, "out not NUL-terminated");
		cr_assert(m->text_len < text_cap);
		memcpy(text, out, m->text_len + 1);
	} else {
		cr_assert(m->text_len == 0);
		text[0] = 0;
	}
	guard_free(&gi);
	guard_free(&go);
}

/* ------------------------------------------------------------------ the table */

#define NOOUT ((size_t)-1)	/* cap: out NULL, cap 0 (summary only) */

struct row {
	const char *rule;	/* what it exercises */
	const char *in;
	size_t n;		/* 0: strlen(in) */
	size_t cap;		/* 0: a large buffer; NOOUT: no out */
	const char *text;	/* sanitised text; NULL: the input, unchanged */
	const char *sum;	/* NULL: "" */
	const char *op;		/* NULL: "" */
	unsigned int st;	/* statements */
	const char *flags;	/* exactly the booleans that are true: param comment
				 * trunc sumtrunc */
};

#define TP "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
#define L100 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define L40 "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define L8 "cccccccc"
#define L6 "cccccc"
#define DEEP40 "(((((((((((((((((((((((((((((((((((((((("
#define UNDEEP40 "))))))))))))))))))))))))))))))))))))))))"

static const struct row rows[] = {
	/* --- string constants (scan.l xq, xe, xb, xh, xn, xus) --- */
	{ "plain string", "SELECT 'abc'", .text = "SELECT ?", .sum = "SELECT", .op = "SELECT", .st = 1 },
	{ "'' is a quote inside a string", "SELECT 'it''s', 'x'", .text = "SELECT ?, ?", .sum = "SELECT",
	  .op = "SELECT", .st = 1 },
	{ "E'' with \\' does not end; prefix is part of the literal", "SELECT E'a\\'b', 1",
	  .text = "SELECT ?, ?", .sum = "SELECT", .op = "SELECT", .st = 1 },
	{ "e'' lower case, escaped backslash before the end", "SELECT e'\\\\' AS x",
	  .text = "SELECT ? AS x", .sum = "SELECT", .op = "SELECT", .st = 1 },
	{ "E'' with '' and \\\\ mixed", "SELECT E'a''b\\\\', 2", .text = "SELECT ?, ?", .sum = "SELECT",
	  .op = "SELECT", .st = 1 },
	{ "plain string: backslash is an ordinary byte (standard_conforming_strings)",
	  "SELECT 'a\\', 'b'", .text = "SELECT ?, ?", .sum = "SELECT", .op = "SELECT", .st = 1 },
	{ "B'' X'' N'' prefixed constants", "SELECT B'1010', x'1F', N'nat', b'0'",
	  .text = "SELECT ?, ?, ?, ?", .sum = "SELECT", .op = "SELECT", .st = 1 },
	{ "a word ending in E before a quote is a word, then a string", "SELECT name'x'",
	  .text = "SELECT name?", .sum = "SELECT", .op = "SELECT", .st = 1 },
	{ "U&'' constant", "SELECT U&'d\\0061t\\+000061'", .text = "SELECT ?", .sum = "SELECT",
	  .op = "SELECT", .st = 1 },
	{ "U&'' with UESCAPE: one literal", "SELECT u&'d!0061t' uescape '!' AS x",
	  .text = "SELECT ? AS x", .sum = "SELECT", .op = "SELECT", .st = 1 },
	{ "U&'' then something that is not UESCAPE", "SELECT U&'a' , 'b', uescapex",
	  .text = "SELECT ? , ?, uescapex", .sum = "SELECT", .op = "SELECT", .st = 1 },
	{ "continuation: whitespace with a newline joins constants", "SELECT 'a'\n  'b' FROM t",
	  .text = "SELECT ? FROM t", .sum = "SELECT t", .op = "SELECT", .st = 1 },
	{ "no continuation without a newline", "SELECT 'a' 'b'", .text = "SELECT ? ?", .sum = "SELECT",
	  .op = "SELECT", .st = 1 },
	{ "continuation across a -- comment (scan.l whitespace_with_newline)",
	  "SELECT 'a' -- c\n'b', 1", .text = "SELECT ?, ?", .sum = "SELECT", .op = "SELECT", .st = 1,
	  .flags = "comment" },
	{ "E'' continuation keeps backslash escapes", "SELECT E'a'\n'\\'x', 2", .text = "SELECT ?, ?",
	  .sum = "SELECT", .op = "SELECT", .st = 1 },
	{ "three-part continuation, CR LF", "SELECT 'a'\r\n'b'\r\n\t'c'", .text = "SELECT ?",
	  .sum = "SELECT", .op = "SELECT", .st = 1 },
	{ "a NUL byte inside a literal", "SELECT 'a\0b' FROM t", 19, .text = "SELECT ? FROM t",
	  .sum = "SELECT t", .op = "SELECT", .st = 1 },

	/* --- dollar quotes and parameters --- */
	{ "$$ quote", "SELECT $$it's$$", .text = "SELECT ?", .sum = "SELECT", .op = "SELECT", .st = 1 },
	{ "$tag$ ends only at the same tag", "SELECT $tag$ a $$ b $x$ c $tag$, 1",
	  .text = "SELECT ?, ?", .sum = "SELECT", .op = "SELECT", .st = 1 },
	{ "tags are case-sensitive; unterminated runs to the end", "SELECT $t$ x $T$ y",
	  .text = "SELECT ?", .sum = "SELECT", .op = "SELECT", .st = 1 },
	{ "tag with digits and UTF-8", "SELECT $a1\xc3\xa9$x$a1\xc3\xa9$", .text = "SELECT ?",
	  .sum = "SELECT", .op = "SELECT", .st = 1 },
	{ "$ inside an identifier is not a quote", "SELECT a$b$ FROM t", .sum = "SELECT t", .op = "SELECT",
	  .st = 1 },
	{ "lone $ is an operator byte", "SELECT $ 1", .text = "SELECT $ ?", .sum = "SELECT", .op = "SELECT",
	  .st = 1 },
	{ "$1 $23 are parameters: kept", "SELECT * FROM t WHERE a = $1 AND b = $23",
	  .sum = "SELECT t", .op = "SELECT", .st = 1, .flags = "param" },
	{ "$1 inside literal, comment, quoted identifier is not a parameter",
	  "SELECT '$1', \"$2\" -- $3\n", .text = "SELECT ?, \"$2\" -- $3\n", .sum = "SELECT", .op = "SELECT",
	  .st = 1, .flags = "comment" },

	/* --- numeric constants --- */
	{ "integers, decimals, exponents", "SELECT 42, 3.5, .5, 5., 1e10, 1.5E-3, 2e+4",
	  .text = "SELECT ?, ?, ?, ?, ?, ?, ?", .sum = "SELECT", .op = "SELECT", .st = 1 },
	{ "PG16 hex, octal, binary, underscores", "SELECT 0x1F, 0o17, 0b101, 1_000_000, 0X_ff",
	  .text = "SELECT ?, ?, ?, ?, ?", .sum = "SELECT", .op = "SELECT", .st = 1 },
	{ "digits in identifiers are not numbers", "SELECT t1.col_2, \"a1\", x$1 FROM t2",
	  .sum = "SELECT t2", .op = "SELECT", .st = 1 },
	{ "the sign is not part of the number", "SELECT -5, +3, a-1", .text = "SELECT -?, +?, a-?",
	  .sum = "SELECT", .op = "SELECT", .st = 1 },
	{ "letters after a number are not swallowed", "SELECT 1abc, 1e, 0xZZ",
	  .text = "SELECT ?abc, ?e, ?xZZ", .sum = "SELECT", .op = "SELECT", .st = 1 },
	{ "1..5 is 1, '.', .5", "SELECT a[1:2], 1..5", .text = "SELECT a[?:?], ?.?", .sum = "SELECT",
	  .op = "SELECT", .st = 1 },

	/* --- booleans, NULL, typed literals --- */
	{ "TRUE/FALSE any case are literals; NULL and longer words stay",
	  "SELECT TRUE, false, True, NULL, trueish, t.true", .text = "SELECT ?, ?, ?, NULL, trueish, t.true",
	  .sum = "SELECT", .op = "SELECT", .st = 1 },
	{ "typed literals keep the type", "SELECT DATE '2024-01-01', INTERVAL '1 day', '1'::int, int4 '5'",
	  .text = "SELECT DATE ?, INTERVAL ?, ?::int, int4 ?", .sum = "SELECT", .op = "SELECT", .st = 1 },

	/* --- kept as written --- */
	{ "quoted identifiers with \"\" and U&\"\" are kept",
	  "SELECT \"a\"\"b\", U&\"d\\0061t\" FROM \"my \"\"t\"\"\"", .sum = "SELECT \"my \"\"t\"\"\"",
	  .op = "SELECT", .st = 1 },
	{ "comments are kept, literals in them untouched", "SELECT /* c 'x' 1 */ 1 -- 'y' 2\n",
	  .text = "SELECT /* c 'x' 1 */ ? -- 'y' 2\n", .sum = "SELECT", .op = "SELECT", .st = 1,
	  .flags = "comment" },
	{ "slash-star comments nest", "SELECT /* a /* b */ 'in comment' */ 'lit'",
	  .text = "SELECT /* a /* b */ 'in comment' */ ?", .sum = "SELECT", .op = "SELECT", .st = 1,
	  .flags = "comment" },
	{ "comment markers inside literals are not comments", "SELECT '--', '/*', $$*/$$",
	  .text = "SELECT ?, ?, ?", .sum = "SELECT", .op = "SELECT", .st = 1 },
	{ "a comment inside an operator", "SELECT 2*/* c */3", .text = "SELECT ?*/* c */?",
	  .sum = "SELECT", .op = "SELECT", .st = 1, .flags = "comment" },
	{ "whitespace is copied as written", "SELECT\t1\r\n\f", .text = "SELECT\t?\r\n\f", .sum = "SELECT",
	  .op = "SELECT", .st = 1 },
	{ "UTF-8 identifiers", "SELECT na\xc3\xafve1 FROM caf\xc3\xa9 WHERE x = '\xc3\xa9'",
	  .text = "SELECT na\xc3\xafve1 FROM caf\xc3\xa9 WHERE x = ?", .sum = "SELECT caf\xc3\xa9",
	  .op = "SELECT", .st = 1 },

	/* --- unterminated at the end of the input --- */
	{ "open string: the rest is one ?", "SELECT 'abc FROM t", .text = "SELECT ?", .sum = "SELECT",
	  .op = "SELECT", .st = 1 },
	{ "open E'' ending in \\'", "SELECT E'ab\\'", .text = "SELECT ?", .sum = "SELECT", .op = "SELECT",
	  .st = 1 },
	{ "open dollar quote", "SELECT $x$ secret", .text = "SELECT ?", .sum = "SELECT", .op = "SELECT",
	  .st = 1 },
	{ "open continuation", "SELECT 'a'\n'b", .text = "SELECT ?", .sum = "SELECT", .op = "SELECT",
	  .st = 1 },
	{ "open U&'' UESCAPE literal", "SELECT U&'a' UESCAPE '", .text = "SELECT ?", .sum = "SELECT",
	  .op = "SELECT", .st = 1 },
	{ "open comment is kept", "SELECT 1 /* abc /* d */", .text = "SELECT ? /* abc /* d */",
	  .sum = "SELECT", .op = "SELECT", .st = 1, .flags = "comment" },
	{ "open quoted identifier is kept", "SELECT \"abc", .sum = "SELECT", .op = "SELECT", .st = 1 },

	/* --- summary: the semconv examples --- */
	{ "semconv: single table", "SELECT * FROM wuser_table WHERE username = 'bob'",
	  .text = "SELECT * FROM wuser_table WHERE username = ?", .sum = "SELECT wuser_table",
	  .op = "SELECT", .st = 1 },
	{ "semconv: INSERT ... SELECT",
	  "INSERT INTO shipping_details (order_id, address) SELECT order_id, address FROM orders WHERE order_id = 7",
	  .text = "INSERT INTO shipping_details (order_id, address) SELECT order_id, address FROM orders WHERE order_id = ?",
	  .sum = "INSERT shipping_details SELECT orders", .op = "INSERT", .st = 1 },
	{ "semconv: comma list", "SELECT * FROM songs, artists WHERE songs.artist_id == artists.id",
	  .sum = "SELECT songs artists", .op = "SELECT", .st = 1 },
	{ "semconv: subquery in FROM, aliases skipped",
	  "SELECT order_date FROM (SELECT * FROM orders o JOIN customers c ON o.customer_id = c.customer_id)",
	  .sum = "SELECT SELECT orders customers", .op = "SELECT", .st = 1 },
	{ "semconv: quoted name as written", "SELECT * FROM \"song list\", artists",
	  .sum = "SELECT \"song list\" artists", .op = "SELECT", .st = 1 },

	/* --- summary: targets --- */
	{ "case as written, parameter", "select * from Users u where u.id = $1", .sum = "select Users",
	  .op = "select", .st = 1, .flags = "param" },
	{ "SELECT without a table", "SELECT 1", .text = "SELECT ?", .sum = "SELECT", .op = "SELECT", .st = 1 },
	{ "schema-qualified and quoted parts", "SELECT * FROM public.users, \"S\".\"T\" x, db.s.t",
	  .sum = "SELECT public.users \"S\".\"T\" db.s.t", .op = "SELECT", .st = 1 },
	{ "join kinds", "SELECT * FROM a LEFT OUTER JOIN b ON a.id = b.id CROSS JOIN c NATURAL JOIN d",
	  .sum = "SELECT a b c d", .op = "SELECT", .st = 1 },
	{ "JOIN ... USING (cols) then a comma", "SELECT * FROM a JOIN b USING (id), c",
	  .sum = "SELECT a b c", .op = "SELECT", .st = 1 },
	{ "aliases with and without AS", "SELECT * FROM a AS x, b y, c", .sum = "SELECT a b c",
	  .op = "SELECT", .st = 1 },
	{ "function in FROM is skipped", "SELECT * FROM generate_series(1, 3) g, t",
	  .text = "SELECT * FROM generate_series(?, ?) g, t", .sum = "SELECT t", .op = "SELECT", .st = 1 },
	{ "ONLY and LATERAL are not names", "SELECT * FROM ONLY a, LATERAL (SELECT * FROM b) x",
	  .sum = "SELECT a SELECT b", .op = "SELECT", .st = 1 },
	{ "subquery in WHERE", "SELECT * FROM a WHERE id IN (SELECT a_id FROM b WHERE x = 1)",
	  .text = "SELECT * FROM a WHERE id IN (SELECT a_id FROM b WHERE x = ?)", .sum = "SELECT a SELECT b",
	  .op = "SELECT", .st = 1 },
	{ "UNION arms", "SELECT a FROM t1 UNION ALL SELECT b FROM t2", .sum = "SELECT t1 SELECT t2",
	  .op = "SELECT", .st = 1 },
	{ "IS DISTINCT FROM is not a FROM clause", "SELECT * FROM a WHERE x IS NOT DISTINCT FROM y",
	  .sum = "SELECT a", .op = "SELECT", .st = 1 },
	{ "FROM inside function arguments", "SELECT extract(year FROM ts), substring(s FROM 2) FROM t",
	  .text = "SELECT extract(year FROM ts), substring(s FROM ?) FROM t", .sum = "SELECT t",
	  .op = "SELECT", .st = 1 },
	{ "words after '.' are never keywords", "SELECT t.select, t.from FROM t", .sum = "SELECT t",
	  .op = "SELECT", .st = 1 },
	{ "a trailing '.' is not part of the name", "SELECT * FROM s.", .sum = "SELECT s",
	  .op = "SELECT", .st = 1 },
	{ "a NUL byte in a quoted name: not a target", "SELECT * FROM \"a\0b\", c", 22, .sum = "SELECT c",
	  .op = "SELECT", .st = 1 },
	{ "SELECT INTO names the new table", "SELECT * INTO newt FROM t", .sum = "SELECT newt t",
	  .op = "SELECT", .st = 1 },
	{ "parentheses nested beyond the tracked depth",
	  "SELECT " DEEP40 "SELECT 1 FROM hidden" UNDEEP40 " FROM t",
	  .text = "SELECT " DEEP40 "SELECT ? FROM hidden" UNDEEP40 " FROM t", .sum = "SELECT t",
	  .op = "SELECT", .st = 1 },

	/* --- summary: INSERT UPDATE DELETE MERGE --- */
	{ "INSERT VALUES RETURNING", "INSERT INTO t (a, b) VALUES (1, 'x') RETURNING id",
	  .text = "INSERT INTO t (a, b) VALUES (?, ?) RETURNING id", .sum = "INSERT t", .op = "INSERT",
	  .st = 1 },
	{ "INSERT ON CONFLICT DO UPDATE: UPDATE is not an operation",
	  "INSERT INTO t VALUES ($1) ON CONFLICT (id) DO UPDATE SET a = excluded.a", .sum = "INSERT t",
	  .op = "INSERT", .st = 1, .flags = "param" },
	{ "UPDATE ONLY with FROM list", "UPDATE ONLY accounts a SET balance = b.x FROM bonuses b WHERE a.id = b.id",
	  .sum = "UPDATE accounts bonuses", .op = "UPDATE", .st = 1 },
	{ "DELETE USING", "DELETE FROM orders o USING customers c, regions WHERE o.cid = c.id",
	  .sum = "DELETE orders customers regions", .op = "DELETE", .st = 1 },
	{ "MERGE: INTO and USING, WHEN clauses add nothing",
	  "MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN UPDATE SET a = s.a, b = 1 "
	  "WHEN NOT MATCHED THEN INSERT (id) VALUES (s.id)",
	  .text = "MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN UPDATE SET a = s.a, b = ? "
		  "WHEN NOT MATCHED THEN INSERT (id) VALUES (s.id)",
	  .sum = "MERGE t s", .op = "MERGE", .st = 1 },
	{ "MERGE USING a subquery", "MERGE INTO t USING (SELECT * FROM s) AS src ON t.id = src.id WHEN MATCHED THEN DELETE",
	  .sum = "MERGE t SELECT s", .op = "MERGE", .st = 1 },

	/* --- summary: WITH --- */
	{ "WITH: CTE operations, then the main one; op of the main statement",
	  "WITH x AS (SELECT * FROM a), y AS (SELECT * FROM b) SELECT * FROM x JOIN y ON true",
	  .text = "WITH x AS (SELECT * FROM a), y AS (SELECT * FROM b) SELECT * FROM x JOIN y ON ?",
	  .sum = "SELECT a SELECT b SELECT x y", .op = "SELECT", .st = 1 },
	{ "WITH RECURSIVE, column list, MATERIALIZED",
	  "WITH RECURSIVE r(n) AS MATERIALIZED (SELECT 1 UNION SELECT n + 1 FROM r) SELECT * FROM r",
	  .text = "WITH RECURSIVE r(n) AS MATERIALIZED (SELECT ? UNION SELECT n + ? FROM r) SELECT * FROM r",
	  .sum = "SELECT SELECT r SELECT r", .op = "SELECT", .st = 1 },
	{ "WITH with a data-modifying CTE: op is ambiguous",
	  "WITH d AS (DELETE FROM t RETURNING *) INSERT INTO a SELECT * FROM d",
	  .sum = "DELETE t INSERT a SELECT d", .st = 1 },
	{ "WITH ... UPDATE: op of the main statement", "with v as (select id from s) update t set x = 1 from v",
	  .text = "with v as (select id from s) update t set x = ? from v", .sum = "select s update t v",
	  .op = "update", .st = 1 },

	/* --- summary: DDL --- */
	{ "CREATE TABLE", "CREATE TABLE books (id int PRIMARY KEY, title text DEFAULT 'x')",
	  .text = "CREATE TABLE books (id int PRIMARY KEY, title text DEFAULT ?)", .sum = "CREATE TABLE books",
	  .op = "CREATE TABLE", .st = 1 },
	{ "modifiers and IF NOT EXISTS dropped, case kept", "create temporary table if not exists s.t (a int)",
	  .sum = "create table s.t", .op = "create table", .st = 1 },
	{ "CREATE UNIQUE INDEX: the table after ON is the target",
	  "CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS i ON ONLY public.t USING btree (a)",
	  .sum = "CREATE INDEX public.t", .op = "CREATE INDEX", .st = 1 },
	{ "CREATE INDEX without a name", "CREATE INDEX ON t (a)", .sum = "CREATE INDEX t",
	  .op = "CREATE INDEX", .st = 1 },
	{ "CREATE MATERIALIZED VIEW AS SELECT", "CREATE MATERIALIZED VIEW mv AS SELECT * FROM t",
	  .sum = "CREATE MATERIALIZED VIEW mv SELECT t", .op = "CREATE MATERIALIZED VIEW", .st = 1 },
	{ "CREATE OR REPLACE VIEW", "CREATE OR REPLACE VIEW v AS SELECT 1", .text = "CREATE OR REPLACE VIEW v AS SELECT ?",
	  .sum = "CREATE VIEW v SELECT", .op = "CREATE VIEW", .st = 1 },
	{ "CREATE TABLE AS", "CREATE TABLE t2 AS SELECT * FROM t1", .sum = "CREATE TABLE t2 SELECT t1",
	  .op = "CREATE TABLE", .st = 1 },
	{ "CREATE FUNCTION with a dollar-quoted body: one statement",
	  "CREATE FUNCTION f(int) RETURNS int AS $$ SELECT 1; $$ LANGUAGE sql",
	  .text = "CREATE FUNCTION f(int) RETURNS int AS ? LANGUAGE sql", .sum = "CREATE FUNCTION f",
	  .op = "CREATE FUNCTION", .st = 1 },
	{ "BEGIN ATOMIC ... END keeps its ';' (psql rule); the body adds nothing",
	  "CREATE PROCEDURE p() BEGIN ATOMIC INSERT INTO t VALUES (1); SELECT CASE WHEN x THEN 1 END; END; SELECT 2",
	  .text = "CREATE PROCEDURE p() BEGIN ATOMIC INSERT INTO t VALUES (?); SELECT CASE WHEN x THEN ? END; END; SELECT ?",
	  .sum = "CREATE PROCEDURE p SELECT", .st = 2 },
	{ "DROP TABLE list", "DROP TABLE IF EXISTS a, s.b CASCADE", .sum = "DROP TABLE a s.b",
	  .op = "DROP TABLE", .st = 1 },
	{ "DROP INDEX names the index", "DROP INDEX CONCURRENTLY IF EXISTS i", .sum = "DROP INDEX i",
	  .op = "DROP INDEX", .st = 1 },
	{ "DROP FUNCTION with argument types", "DROP FUNCTION f(int, text), g()", .sum = "DROP FUNCTION f g",
	  .op = "DROP FUNCTION", .st = 1 },
	{ "ALTER TABLE: only the table", "ALTER TABLE ONLY t ADD COLUMN c int DEFAULT 0, ADD CONSTRAINT k CHECK (c > 1)",
	  .text = "ALTER TABLE ONLY t ADD COLUMN c int DEFAULT ?, ADD CONSTRAINT k CHECK (c > ?)",
	  .sum = "ALTER TABLE t", .op = "ALTER TABLE", .st = 1 },
	{ "ALTER SYSTEM has no name", "ALTER SYSTEM SET work_mem = '64MB'", .text = "ALTER SYSTEM SET work_mem = ?",
	  .sum = "ALTER SYSTEM", .op = "ALTER SYSTEM", .st = 1 },
	{ "CREATE EXTENSION", "CREATE EXTENSION IF NOT EXISTS pgcrypto", .sum = "CREATE EXTENSION pgcrypto",
	  .op = "CREATE EXTENSION", .st = 1 },
	{ "three-word type", "CREATE FOREIGN DATA WRAPPER w", .sum = "CREATE FOREIGN DATA WRAPPER w",
	  .op = "CREATE FOREIGN DATA WRAPPER", .st = 1 },
	{ "ALTER DEFAULT PRIVILEGES: GRANT SELECT is not an operation",
	  "ALTER DEFAULT PRIVILEGES IN SCHEMA s GRANT SELECT ON TABLES TO u", .sum = "ALTER DEFAULT PRIVILEGES",
	  .op = "ALTER DEFAULT PRIVILEGES", .st = 1 },
	{ "CREATE POLICY ... FOR SELECT", "CREATE POLICY p ON t FOR SELECT USING (owner = current_user)",
	  .sum = "CREATE POLICY p", .op = "CREATE POLICY", .st = 1 },
	{ "CREATE RULE: ON SELECT is an event, DO INSTEAD SELECT an operation",
	  "CREATE RULE r AS ON SELECT TO t DO INSTEAD SELECT * FROM u", .sum = "CREATE RULE r SELECT u",
	  .op = "CREATE RULE", .st = 1 },
	{ "unknown object type: the verb alone", "CREATE FOO bar", .sum = "CREATE", .op = "CREATE", .st = 1 },
	{ "a type prefix that never completes is dropped", "CREATE TEXT x", .sum = "CREATE", .op = "CREATE",
	  .st = 1 },
	{ "TRUNCATE TABLE list", "TRUNCATE TABLE ONLY a, b RESTART IDENTITY", .sum = "TRUNCATE TABLE a b",
	  .op = "TRUNCATE TABLE", .st = 1 },
	{ "TRUNCATE without TABLE", "truncate a", .sum = "truncate a", .op = "truncate", .st = 1 },

	/* --- summary: other commands --- */
	{ "CALL proc", "CALL do_it(1, 'x')", .text = "CALL do_it(?, ?)", .sum = "CALL do_it", .op = "CALL",
	  .st = 1 },
	{ "COPY t FROM STDIN: no FROM target", "COPY t (a, b) FROM STDIN WITH (FORMAT csv)", .sum = "COPY t",
	  .op = "COPY", .st = 1 },
	{ "COPY (query)", "COPY (SELECT * FROM t WHERE x = 1) TO STDOUT",
	  .text = "COPY (SELECT * FROM t WHERE x = ?) TO STDOUT", .sum = "COPY SELECT t", .op = "COPY", .st = 1 },
	{ "COPY (DELETE ... RETURNING)", "COPY (DELETE FROM t RETURNING *) TO STDOUT", .sum = "COPY DELETE t",
	  .op = "COPY", .st = 1 },
	{ "TABLE t", "TABLE t", .sum = "TABLE t", .op = "TABLE", .st = 1 },
	{ "LOCK TABLE", "LOCK TABLE t IN ACCESS EXCLUSIVE MODE", .sum = "LOCK t", .op = "LOCK", .st = 1 },
	{ "VACUUM options and list", "VACUUM (VERBOSE, ANALYZE) a, b (c)", .sum = "VACUUM a b", .op = "VACUUM",
	  .st = 1 },
	{ "ANALYZE VERBOSE t", "ANALYZE VERBOSE t", .sum = "ANALYZE t", .op = "ANALYZE", .st = 1 },
	{ "EXPLAIN ANALYZE SELECT", "EXPLAIN ANALYZE SELECT * FROM t", .sum = "EXPLAIN SELECT t",
	  .op = "EXPLAIN", .st = 1 },
	{ "EXPLAIN (options) UPDATE", "EXPLAIN (ANALYZE, BUFFERS) UPDATE t SET a = 1",
	  .text = "EXPLAIN (ANALYZE, BUFFERS) UPDATE t SET a = ?", .sum = "EXPLAIN UPDATE t", .op = "EXPLAIN",
	  .st = 1 },
	{ "PREPARE AS SELECT", "PREPARE p (int) AS SELECT * FROM t WHERE id = $1", .sum = "PREPARE SELECT t",
	  .op = "PREPARE", .st = 1, .flags = "param" },
	{ "DECLARE CURSOR FOR", "DECLARE c CURSOR WITH HOLD FOR SELECT * FROM t", .sum = "DECLARE SELECT t",
	  .op = "DECLARE", .st = 1 },
	{ "FETCH ... FROM cursor: no target", "FETCH NEXT FROM c", .sum = "FETCH", .op = "FETCH", .st = 1 },
	{ "START TRANSACTION", "START TRANSACTION ISOLATION LEVEL SERIALIZABLE", .sum = "START TRANSACTION",
	  .op = "START TRANSACTION", .st = 1 },
	{ "GRANT/REVOKE: privileges are not operations", "GRANT SELECT, INSERT ON t TO u; REVOKE SELECT ON t FROM u",
	  .sum = "GRANT REVOKE", .st = 2 },
	{ "keyword-alone commands", "SET search_path = public; SHOW work_mem; RESET ALL; LISTEN ch; "
	  "NOTIFY ch, 'payload'; SAVEPOINT s; RELEASE SAVEPOINT s; ROLLBACK TO SAVEPOINT s; DEALLOCATE p; "
	  "CLOSE c; EXECUTE p(1)",
	  .text = "SET search_path = public; SHOW work_mem; RESET ALL; LISTEN ch; NOTIFY ch, ?; SAVEPOINT s; "
		  "RELEASE SAVEPOINT s; ROLLBACK TO SAVEPOINT s; DEALLOCATE p; CLOSE c; EXECUTE p(?)",
	  .sum = "SET SHOW RESET LISTEN NOTIFY SAVEPOINT RELEASE ROLLBACK DEALLOCATE CLOSE EXECUTE", .st = 11 },
	{ "DO with a dollar body", "DO $$BEGIN NULL; END$$", .text = "DO ?", .sum = "DO", .op = "DO", .st = 1 },
	{ "VALUES statement", "VALUES (1, 'a'), (2, 'b')", .text = "VALUES (?, ?), (?, ?)", .sum = "VALUES",
	  .op = "VALUES", .st = 1 },
	{ "an unknown statement adds nothing", "FOO BAR baz", .st = 1 },

	/* --- statements --- */
	{ "brief: three statements, op empty", "BEGIN; UPDATE a SET x=1; COMMIT",
	  .text = "BEGIN; UPDATE a SET x=?; COMMIT", .sum = "BEGIN UPDATE a COMMIT", .st = 3 },
	{ "two SELECTs: op empty", "SELECT 1; SELECT 2;", .text = "SELECT ?; SELECT ?;", .sum = "SELECT SELECT",
	  .st = 2 },
	{ "empty statements do not count", ";;SELECT 1;; ;", .text = ";;SELECT ?;; ;", .sum = "SELECT",
	  .op = "SELECT", .st = 1 },
	{ "only ';' and whitespace", "  ;  ", .st = 0 },
	{ "empty input", "", .st = 0 },
	{ "only a comment", "-- x", .st = 0, .flags = "comment" },
	{ "';' inside literals, comments and parentheses does not split",
	  "SELECT ';', $$;$$ /* ; */, (1;2); SELECT 3", .text = "SELECT ?, ? /* ; */, (?;?); SELECT ?",
	  .sum = "SELECT SELECT", .st = 2, .flags = "comment" },

	/* --- summary length --- */
	{ "summary stops before an element that does not fit (255)",
	  "SELECT * FROM " L100 ", " L100 ", " L40 L8 "; SELECT 1",
	  .text = "SELECT * FROM " L100 ", " L100 ", " L40 L8 "; SELECT ?",
	  .sum = "SELECT " L100 " " L100, .st = 2, .flags = "sumtrunc" },
	{ "summary of exactly 255 bytes", "SELECT * FROM " L100 ", " L100 ", " L40 L6,
	  .sum = "SELECT " L100 " " L100 " " L40 L6, .op = "SELECT", .st = 1 },

	/* --- output size (cap) --- */
	{ "cap 1: empty output, scan stops at once", "SELECT 'abc'", .cap = 1, .text = "", .st = 0,
	  .flags = "trunc" },
	{ "cap 2: a word is not cut", "SELECT 'abc'", .cap = 2, .text = "", .st = 0, .flags = "trunc" },
	{ "cap 8: stops before the literal's ?", "SELECT 'abc'", .cap = 8, .text = "SELECT ", .sum = "SELECT",
	  .op = "SELECT", .st = 1, .flags = "trunc" },
	{ "cap 9: exactly fits", "SELECT 'abc'", .cap = 9, .text = "SELECT ?", .sum = "SELECT", .op = "SELECT",
	  .st = 1 },
	{ "a table name cut off by cap is not a target", "SELECT * FROM users WHERE x", .cap = 20,
	  .text = "SELECT * FROM users", .sum = "SELECT", .op = "SELECT", .st = 1, .flags = "trunc" },
	{ "a name followed by whitespace before the cut is a target", "SELECT * FROM users WHERE x",
	  .cap = 21, .text = "SELECT * FROM users ", .sum = "SELECT users", .op = "SELECT", .st = 1,
	  .flags = "trunc" },
	{ "a comment is not cut; it was not scanned", "SELECT 1 /* long comment */", .cap = 12,
	  .text = "SELECT ? ", .sum = "SELECT", .op = "SELECT", .st = 1, .flags = "trunc" },
	{ "later statements are not scanned after the cut", "SELECT 1; DELETE FROM t", .cap = 12,
	  .text = "SELECT ?; ", .sum = "SELECT", .op = "SELECT", .st = 1, .flags = "trunc" },
	{ "no out: summary only, nothing truncated", "SELECT * FROM t WHERE a = 'x'", .cap = NOOUT,
	  .sum = "SELECT t", .op = "SELECT", .st = 1 },
};

static bool has_flag(const char *flags, const char *f)
{
	size_t n = strlen(f);
	const char *p = flags;

	if (!flags)
		return false;
	while ((p = strstr(p, f)) != NULL) {
		if ((p == flags || p[-1] == ' ') && (p[n] == 0 || p[n] == ' '))
			return true;
		p += n;
	}
	return false;
}

Test(pq_sql, table)
{
	static char text[8192];
	size_t ri;

	cr_log_info("%zu rows", sizeof(rows) / sizeof(rows[0]));
	for (ri = 0; ri < sizeof(rows) / sizeof(rows[0]); ri++) {
		const struct row *r = &rows[ri];
		size_t n = r->n ? r->n : strlen(r->in);
		bool no_out = r->cap == NOOUT;
		size_t cap = no_out ? 0 : r->cap ? r->cap : 4096;
		struct pq_sql m;

		analyse(r->in, n, cap, no_out, &m, text, sizeof(text));
		if (no_out) {
			cr_expect(m.text_len == 0, "%s: text_len %zu without out", r->rule, m.text_len);
		} else if (r->text) {
			cr_expect(m.text_len == strlen(r->text) && !memcmp(text, r->text, m.text_len),
				  "%s: text \"%s\", want \"%s\"", r->rule, text, r->text);
		} else {
			cr_expect(m.text_len == n && !memcmp(text, r->in, n), "%s: text \"%s\", want the input",
				  r->rule, text);
		}
		cr_expect_str_eq(m.summary, r->sum ? r->sum : "", "%s: summary \"%s\", want \"%s\"", r->rule,
				 m.summary, r->sum ? r->sum : "");
		cr_expect_str_eq(m.op, r->op ? r->op : "", "%s: op \"%s\", want \"%s\"", r->rule, m.op,
				 r->op ? r->op : "");
		cr_expect(m.statements == r->st, "%s: statements %u, want %u", r->rule, m.statements, r->st);
		cr_expect(m.parameterised == has_flag(r->flags, "param"), "%s: parameterised %d", r->rule,
			  m.parameterised);
		cr_expect(m.has_comment == has_flag(r->flags, "comment"), "%s: has_comment %d", r->rule,
			  m.has_comment);
		cr_expect(m.text_truncated == has_flag(r->flags, "trunc"), "%s: text_truncated %d", r->rule,
			  m.text_truncated);
		cr_expect(m.summary_truncated == has_flag(r->flags, "sumtrunc"), "%s: summary_truncated %d",
			  r->rule, m.summary_truncated);
	}
}

/* ------------------------------------------------------------------ caps */

/* Every cap from 1 to past the full length: the output is the full output cut
 * at a token boundary (never inside a literal's '?' or a word), text_len <
 * cap, and truncated exactly when the full output does not fit. */
Test(pq_sql, every_cap_is_a_token_prefix)
{
	static const char *const qs[] = {
		"SELECT * FROM users u JOIN \"Order Items\" o ON u.id = o.uid WHERE u.name = 'SECRETxyz' AND o.n > 987654321",
		"INSERT INTO t VALUES (E'SECRET\\'xyz', $q$DOLLARzz$q$, 0x98765ABC) -- trailing\n",
		"SELECT 'SECRET'\n  'xyz' /* c /* n */ */; UPDATE t SET a = $1",
		"",
	};
	static char full[1024], text[1024];
	size_t qi, cap;

	for (qi = 0; qi < sizeof(qs) / sizeof(qs[0]); qi++) {
		size_t n = strlen(qs[qi]), full_len;
		struct pq_sql m;

		analyse(qs[qi], n, sizeof(full), false, &m, full, sizeof(full));
		full_len = m.text_len;
		cr_assert(!m.text_truncated);
		for (cap = 1; cap <= full_len + 2; cap++) {
			analyse(qs[qi], n, cap, false, &m, text, sizeof(text));
			cr_expect(m.text_len < cap);
			cr_expect(!memcmp(text, full, m.text_len), "q%zu cap %zu: not a prefix: \"%s\"", qi, cap,
				  text);
			cr_expect(m.text_truncated == (cap <= full_len), "q%zu cap %zu: truncated %d", qi, cap,
				  m.text_truncated);
			/* never inside a word ('?' is one byte: never split) */
			if (m.text_len > 0 && m.text_len < full_len) {
				uint8_t a = (uint8_t)full[m.text_len - 1], b = (uint8_t)full[m.text_len];

				cr_expect(!(id_cont(a) && id_cont(b)),
					  "q%zu cap %zu: cut inside a word at \"%s\"", qi, cap, text);
			}
			cr_expect(!strstr(text, "SECRET") && !strstr(text, "DOLLAR") && !strstr(text, "98765"),
				  "q%zu cap %zu: literal leaked: \"%s\"", qi, cap, text);
		}
	}
}

/* ------------------------------------------------------------------ the 1 MiB bound */

Test(pq_sql, scan_stops_at_one_mib)
{
	size_t big = PQ_SQL_SCAN_MAX + 4096, n, i;
	char *q = malloc(big), *out = malloc(big + 1);
	static char text[16];
	struct pq_sql m;
	const char *head = "SELECT * FROM t WHERE a IN (";

	cr_assert(q && out);
	/* a long IN list that runs past the bound */
	n = strlen(head);
	memcpy(q, head, n);
	for (i = n; i + 3 < big; i += 3)
		memcpy(q + i, "11,", 3);
	n = i;
	pq_sql_analyse(q, n, out, big + 1, &m);
	cr_expect(m.text_truncated, "input over 1 MiB: truncated");
	cr_expect(m.text_len < PQ_SQL_SCAN_MAX && out[m.text_len] == 0);
	cr_expect(m.text_len > PQ_SQL_SCAN_MAX / 2, "the scan went far: %zu", m.text_len);
	cr_expect_str_eq(m.summary, "SELECT t");
	/* the same without out: still bounded, still truncated */
	pq_sql_analyse(q, n, NULL, 0, &m);
	cr_expect(m.text_truncated && m.text_len == 0);
	cr_expect_str_eq(m.summary, "SELECT t");

	/* exactly 1 MiB: all of it */
	pq_sql_analyse(q, PQ_SQL_SCAN_MAX, out, big + 1, &m);
	cr_expect(!m.text_truncated);

	/* a literal that reaches past the bound is dropped, never cut */
	memcpy(q, "SELECT '", 8);
	memset(q + 8, 'S', big - 9);
	q[big - 1] = '\'';
	pq_sql_analyse(q, big, out, big + 1, &m);
	cr_expect(m.text_truncated);
	cr_expect_str_eq(out, "SELECT ");
	cr_expect_str_eq(m.summary, "SELECT");

	/* sqlcommenter refuses what it cannot check */
	cr_expect(pq_sql_comment(q, big, TP, NULL, text, sizeof(text)) == 0);
	free(q);
	free(out);
}

/* ------------------------------------------------------------------ no leaks */

/* Fragments with literal content (markers SECRET, DOLLAR, 98765) and without;
 * joined by spaces, none of them merges with its neighbours, so a marker may
 * only ever be inside a literal. */
static const char *const frags[] = {
	"SELECT", "*", "FROM t1", "JOIN \"q t\" ON a = b", "WHERE x =", "AND", ",", "(", ")", ";",
	"\n", "-- comment\n", "/* c /* nested */ */", "$1", "IN (", "::int", "-", "||", "a.b",
	"'SECRETxyz'", "'SECRET''xyz'", "E'SECRET\\'xyz\\\\'", "e'\\'SECRETxyz'", "N'SECRETxyz'",
	"X'SECRETxyz'", "b'SECRETxyz'", "U&'SECRETxyz'", "U&'SECRET!xyz' UESCAPE '!'",
	"'SECRETxyz'\n  'SECRETxyz'", "'a' -- c\n 'SECRETxyz'", "$$DOLLARzz$$", "$q$DOLLARzz$q$",
	"$q$ DOLLARzz $$ DOLLARzz $Q$ $q$", "987654321", "9876.54321", "98765e4", "0x98765", "0b1",
	"1_987_654", ".98765", "TRUE", "DATE '2024-SECRET'", "'SECRET'::text",
};

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rng(void)
{
	uint64_t x = rng_state;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return rng_state = x;
}

Test(pq_sql, no_literal_content_in_the_output)
{
	static char q[4096], text[4096];
	size_t it;

	for (it = 0; it < 20000; it++) {
		size_t nf = 1 + rng() % 14, n = 0, k, cap;
		struct pq_sql m;

		for (k = 0; k < nf; k++) {
			const char *f = frags[rng() % (sizeof(frags) / sizeof(frags[0]))];
			size_t fl = strlen(f);

			if (n + fl + 1 >= sizeof(q))
				break;
			if (n)
				q[n++] = ' ';
			memcpy(q + n, f, fl);
			n += fl;
		}
		/* cut the tail at random: literals may be left open */
		if (rng() % 3 == 0)
			n = rng() % (n + 1);
		cap = rng() % 2 ? sizeof(text) : 1 + rng() % (n + 2);
		analyse(q, n, cap, false, &m, text, sizeof(text));
		if (strstr(text, "SECRET") || strstr(text, "DOLLAR") || strstr(text, "98765"))
			cr_assert(false, "literal leaked:\n in: %.*s\nout: %s", (int)n, q, text);
		cr_assert(!strstr(m.summary, "SECRET") && !strstr(m.summary, "98765"),
			  "literal in the summary: %s", m.summary);
	}
}

/* ------------------------------------------------------------------ tables */

Test(pq_sql, keyword_table_is_sorted_and_found)
{
	size_t i;

	for (i = 1; i < K_COUNT; i++) {
		char lower_s[sizeof(kws[0].s)];
		size_t j, n = strlen(kws[i].s);

		if (i + 1 < K_COUNT)
			cr_expect(strcmp(kws[i].s, kws[i + 1].s) < 0, "%s before %s", kws[i].s, kws[i + 1].s);
		cr_expect(kw_lookup((const uint8_t *)kws[i].s, n) == i, "%s not found", kws[i].s);
		for (j = 0; j <= n; j++)
			lower_s[j] = (char)(kws[i].s[j] >= 'A' && kws[i].s[j] <= 'Z' ? kws[i].s[j] | 0x20 : kws[i].s[j]);
		cr_expect(kw_lookup((const uint8_t *)lower_s, n) == i, "%s not found", lower_s);
	}
	cr_expect(kw_lookup((const uint8_t *)"SELECTX", 7) == K_NONE);
	cr_expect(kw_lookup((const uint8_t *)"SELEC", 5) == K_NONE);
	cr_expect(kw_lookup((const uint8_t *)"S\xc3\xa9LECT", 7) == K_NONE);
}

Test(pq_sql, cap_zero_with_out_leaves_it_alone)
{
	char out[4] = "abc";
	struct pq_sql m;

	pq_sql_analyse("SELECT * FROM t", 15, out, 0, &m);
	cr_expect_str_eq(out, "abc");
	cr_expect(m.text_len == 0 && !m.text_truncated);
	cr_expect_str_eq(m.summary, "SELECT t");
	pq_sql_analyse(NULL, 0, out, sizeof(out), &m);
	cr_expect_str_eq(out, "");
	cr_expect(m.statements == 0 && m.summary_len == 0);
}

/* ------------------------------------------------------------------ sqlcommenter */

struct crow {
	const char *rule;
	const char *in;
	const char *tp, *ts;
	size_t cap;		/* 0: large */
	const char *want;	/* NULL: refused (0) */
};

#define TS "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7"
#define TS_ENC "congo%3Dt61rcWkgMzE%2Crojo%3D00f067aa0ba902b7"
#define C_TP " /*traceparent='" TP "'*/"

static const struct crow crows[] = {
	{ "brief: comment before the final ';', trailing whitespace dropped", "SELECT 1;\n", TP, NULL, 0,
	  "SELECT 1" C_TP ";" },
	{ "no ';'", "SELECT 1", TP, NULL, 0, "SELECT 1" C_TP },
	{ "whitespace before ';' and after it dropped", "SELECT 1 \t;  \n\t", TP, NULL, 0, "SELECT 1" C_TP ";" },
	{ "trailing whitespace without ';'", "SELECT 1\n\n", TP, "", 0, "SELECT 1" C_TP },
	{ "tracestate: keys sorted, = and , percent-encoded", "SELECT 1", TP, TS, 0,
	  "SELECT 1 /*traceparent='" TP "',tracestate='" TS_ENC "'*/" },
	{ "values are percent-encoded, upper-case hex", "SELECT 1", "a'b*/c d~_.-", NULL, 0,
	  "SELECT 1 /*traceparent='a%27b%2A%2Fc%20d~_.-'*/" },
	{ "only the last ';' moves", "SELECT 1;;", TP, NULL, 0, "SELECT 1;" C_TP ";" },
	{ "several statements: at the very end", "BEGIN; SELECT 1", TP, NULL, 0, "BEGIN; SELECT 1" C_TP },
	{ "comment markers inside literals are fine", "SELECT '/* x */', $$--$$;", TP, NULL, 0,
	  "SELECT '/* x */', $$--$$" C_TP ";" },
	{ "existing -- comment: refused", "SELECT 1 -- x", TP, NULL, 0, NULL },
	{ "existing block comment: refused", "/* app */ SELECT 1", TP, NULL, 0, NULL },
	{ "comment inside a string continuation: refused", "SELECT 'a' -- c\n'b'", TP, NULL, 0, NULL },
	{ "open literal: refused", "SELECT 'abc", TP, NULL, 0, NULL },
	{ "open dollar quote: refused", "SELECT $x$ abc", TP, NULL, 0, NULL },
	{ "open quoted identifier: refused", "SELECT \"abc", TP, NULL, 0, NULL },
	{ "no traceparent: refused", "SELECT 1", NULL, TS, 0, NULL },
	{ "empty traceparent: refused", "SELECT 1", "", TS, 0, NULL },
	{ "empty statement: refused", "  ", TP, NULL, 0, NULL },
	{ "only ';': refused", " ; ", TP, NULL, 0, NULL },
	{ "empty input: refused", "", TP, NULL, 0, NULL },
	{ "exactly fits (result + NUL)", "SELECT 1;", TP, NULL, sizeof("SELECT 1" C_TP ";"),
	  "SELECT 1" C_TP ";" },
	{ "one byte short: refused", "SELECT 1;", TP, NULL, sizeof("SELECT 1" C_TP ";") - 1, NULL },
};

Test(pq_sql, sqlcommenter)
{
	size_t ri;

	for (ri = 0; ri < sizeof(crows) / sizeof(crows[0]); ri++) {
		const struct crow *r = &crows[ri];
		size_t n = strlen(r->in), cap = r->cap ? r->cap : 1024, got;
		struct guard gi = guard_new(n), go = guard_new(cap);
		const char *q = (const char *)place(&gi, r->in, n);
		char *out = (char *)place(&go, NULL, cap);

		memset(out, 'Z', cap);
		got = pq_sql_comment(q, n, r->tp, r->ts, out, cap);
		if (r->want) {
			cr_expect(got == strlen(r->want) && !strcmp(out, r->want), "%s: got %zu \"%s\", want \"%s\"",
				  r->rule, got, out, r->want);
		} else {
			cr_expect(got == 0 && out[0] == 0, "%s: got %zu \"%.*s\", want refused", r->rule, got,
				  (int)(got < cap ? got : 0), out);
		}
		guard_free(&gi);
		guard_free(&go);
	}
}

/* The comment the sqlcommenter adds is seen by the analyser as a comment,
 * and the statement's summary does not change. */
Test(pq_sql, commented_statement_analyses_the_same)
{
	static const char q[] = "UPDATE t SET a = 'x' WHERE id = $1;";
	char out[512], text[512];
	struct pq_sql a, b;
	size_t n = pq_sql_comment(q, sizeof(q) - 1, TP, TS, out, sizeof(out));

	cr_assert(n > 0);
	pq_sql_analyse(q, sizeof(q) - 1, text, sizeof(text), &a);
	pq_sql_analyse(out, n, text, sizeof(text), &b);
	cr_expect(!a.has_comment && b.has_comment);
	cr_expect_str_eq(a.summary, b.summary);
	cr_expect_str_eq(b.op, "UPDATE");
	cr_expect(pq_sql_comment(out, n, TP, NULL, text, sizeof(text)) == 0, "a second comment is refused");
}
