/*
 * pq_sql.h - the PostgreSQL query-text analyser of the libpq hooks: one pass
 * over the text an application hands to libpq gives the sanitised text
 * (db.query.text), the summary (db.query.summary), the operation
 * (db.operation.name) and a few facts about the statement; a second entry
 * point appends a sqlcommenter comment carrying the W3C trace context.
 *
 * DESIGN: a lexer that follows PostgreSQL's own lexical rules (scan.l) cuts
 * the text into tokens; each token is copied to the output or replaced by
 * '?', and the significant ones drive a small state machine that finds
 * operations and table names. Nothing is allocated, there is no global
 * mutable state and no recursion (parentheses are an explicit bounded
 * stack), every byte is looked at a bounded number of times (O(n)), q is
 * never read past qlen nor out written past cap. At most PQ_SQL_SCAN_MAX
 * bytes of a query are looked at.
 *
 * SANITISING (semconv "Sanitization of db.query.text": every literal
 * becomes '?'):
 * - string constants '...' ('' is a quote), E'...' (a backslash escapes the
 *   next byte, so \' does not end it), B'', X'', N'' and U&'...': the prefix
 *   is part of the literal (E'a\'b' -> ?). A U&'' constant together with a
 *   following UESCAPE 'c' clause (separated by whitespace only) is one '?'.
 *   Constants separated only by whitespace containing a newline (and --
 *   comments, as PostgreSQL allows there) continue each other: one '?'
 *   (the comments inside are dropped with it; has_comment is set).
 *   standard_conforming_strings is assumed on (the default since 9.1): in a
 *   plain '...' a backslash is an ordinary byte.
 * - $$...$$ and $tag$...$tag$ (tag: [A-Za-z_\x80-\xff][A-Za-z0-9_\x80-\xff]*),
 *   ending only at the identical tag -> '?'. $1, $23 are parameters: kept,
 *   and parameterised is set.
 * - numbers: 42 3.5 .5 5. 1e10 1.5E-3 0x1F 0o17 0b101 1_000_000 -> '?'. The
 *   sign is an operator and stays ("-?"). Digits inside identifiers,
 *   quoted identifiers and parameters are not numbers. Letters right after
 *   a number are not part of it ("1abc" -> "?abc", an alias before PG 15).
 * - TRUE and FALSE (any case, whole word, not after '.') -> '?'; NULL stays.
 * - typed literals need nothing special: DATE '2024-01-01' -> DATE ?,
 *   '1'::int -> ?::int.
 * - kept as written: quoted identifiers "..." and U&"..." ("" inside),
 *   comments (-- to the end of the line; slash-star comments, which nest),
 *   whitespace and everything else.
 * - a literal that runs to the end of the input is one '?'; an open comment
 *   or quoted identifier is kept.
 * - IN (?, ?, ?) is NOT collapsed: the text keeps one '?' per literal, so it
 *   maps token for token onto what the application sent.
 * - tokens are all or nothing: when the next token does not fit in cap-1
 *   bytes the output ends before it, text_truncated is set and the scan
 *   stops there (the summary and the counts describe the part scanned).
 *   A query longer than PQ_SQL_SCAN_MAX is handled as its first
 *   PQ_SQL_SCAN_MAX bytes minus the token that reaches that bound (it may
 *   be cut), and text_truncated is set.
 *
 * SUMMARY (semconv "Generating a summary of the query"): operations and
 * targets in the order they appear, separated by one space, as written (no
 * case change); an element that does not fit in PQ_SQL_SUMMARY_MAX bytes
 * ends the summary there (summary_truncated). Keywords match ASCII
 * case-insensitively; a word right after '.' is never a keyword.
 * - operations: the leading keyword of each top-level statement; every
 *   SELECT (subqueries, UNION arms, INSERT ... SELECT, CREATE TABLE ... AS
 *   SELECT), except privilege and policy lists (GRANT, REVOKE, ALTER DEFAULT
 *   PRIVILEGES, CREATE/ALTER/DROP POLICY) and ON SELECT (rules); INSERT,
 *   UPDATE, DELETE and MERGE where they start a statement, a CTE body or a
 *   COPY (...) query. WITH itself is not an operation. EXPLAIN, PREPARE
 *   name AS and DECLARE name CURSOR FOR are followed by the operations of
 *   the statement they carry ("EXPLAIN SELECT t").
 * - targets: table names after FROM (each of a comma list), JOIN (any
 *   kind), INTO, UPDATE, DELETE FROM, and USING in DELETE and MERGE;
 *   qualified names joined with '.', quoted parts keep their quotes
 *   ("public.users", "\"song list\""). Never an alias; a name followed by
 *   '(' in a FROM list is a function call and is skipped. Reserved words
 *   (ONLY, LATERAL, ...) are not names. A name containing a NUL byte is
 *   skipped.
 * - CREATE, ALTER, DROP: the operation is the verb plus the object type
 *   words, modifiers dropped (OR REPLACE, TEMP/TEMPORARY, GLOBAL/LOCAL,
 *   UNLOGGED, UNIQUE, RECURSIVE, TRUSTED, PROCEDURAL, CONSTRAINT), then the
 *   object name, IF [NOT] EXISTS and CONCURRENTLY skipped: "CREATE TABLE
 *   books", "DROP TABLE a b" (comma list), "ALTER TABLE t". CREATE INDEX
 *   names the table it is ON, not the index: CREATE UNIQUE INDEX i ON t ->
 *   "CREATE INDEX t" (DROP/ALTER INDEX i name the index). Types without a
 *   name (SYSTEM, DEFAULT PRIVILEGES, OWNED, USER MAPPING, CAST, TRANSFORM,
 *   LARGE OBJECT) have no target; an unknown type gives the verb alone.
 * - TRUNCATE [TABLE] a, b -> "TRUNCATE a b" / "TRUNCATE TABLE a b";
 *   START TRANSACTION -> "START TRANSACTION"; a table list after LOCK,
 *   VACUUM and ANALYZE ("LOCK t", "VACUUM a b"); one name after TABLE,
 *   CALL and COPY ("TABLE t", "CALL proc", "COPY t"; COPY (query) gives
 *   the query's operations instead).
 * - the keyword alone: BEGIN COMMIT ROLLBACK ABORT END SAVEPOINT RELEASE SET
 *   SHOW RESET LISTEN NOTIFY UNLISTEN PREPARE EXECUTE DEALLOCATE DECLARE
 *   FETCH MOVE CLOSE GRANT REVOKE DO VALUES EXPLAIN CHECKPOINT DISCARD
 *   REFRESH REINDEX CLUSTER COMMENT. Any other statement adds nothing.
 *
 * OPERATION: with exactly one statement, its first operation as written
 * ("select", "CREATE TABLE"); for a statement starting with WITH the main
 * statement's, or "" when a CTE body is INSERT/UPDATE/DELETE/MERGE.
 *
 * STATEMENTS: split at ';' outside literals, comments and parentheses, and
 * (as psql does) outside BEGIN/CASE ... END inside CREATE FUNCTION or
 * PROCEDURE (SQL-standard bodies, which add nothing to the summary: they
 * are not run by this statement); only statements with a token other than
 * whitespace and comments count.
 *
 * THREADS: none; every call works on its arguments only.
 */
#ifndef HK_PQ_SQL_H
#define HK_PQ_SQL_H

#include <stdbool.h>
#include <stddef.h>

#define PQ_SQL_SUMMARY_MAX 255
#define PQ_SQL_OP_MAX 63
#define PQ_SQL_SCAN_MAX ((size_t)1 << 20)	/* bytes of a query looked at */

struct pq_sql {
	size_t text_len;	/* bytes written to out (sanitised text), NUL not
				 * counted; out is always NUL-terminated when cap > 0.
				 * Input NUL bytes are copied like other bytes */
	bool text_truncated;	/* not all of the input made it into out: the
				 * scan stopped early (out full, or the query is
				 * longer than PQ_SQL_SCAN_MAX). Without out, only
				 * the second reason */
	bool parameterised;	/* a positional parameter $1..$N was seen outside
				 * literals, comments and quoted identifiers */
	bool has_comment;	/* a -- or slash-star comment was seen outside literals */
	unsigned statements;	/* non-empty top-level statements */
	size_t summary_len;
	char summary[PQ_SQL_SUMMARY_MAX + 1];	/* db.query.summary, NUL-terminated, ""
						 * when nothing recognised */
	bool summary_truncated;	/* an element did not fit: the summary ends before it */
	size_t op_len;
	char op[PQ_SQL_OP_MAX + 1];	/* db.operation.name, "" unless exactly one
					 * statement and its operation is unambiguous */
};

/*
 * Analyse q (qlen bytes, not necessarily NUL-terminated; NULL only with qlen
 * 0). The sanitised text goes to out, at most cap-1 bytes plus a NUL; out may
 * be NULL with cap 0 (summary only: out is not touched; cap 0 with a
 * non-NULL out is the same). out must not overlap q. Fills every field of
 * *m. Can't fail.
 */
void pq_sql_analyse(const char *q, size_t qlen, char *out, size_t cap, struct pq_sql *m);

/*
 * sqlcommenter: write q + a trailing comment with the W3C context into out
 * (NUL-terminated), in the form pg_tracing reads (the comment at the very
 * end, at most one ';' after it, no trailing whitespace): trailing
 * whitespace is removed; a final ';' stays after the comment, with the
 * whitespace before it removed; the comment is
 *   " /" "*traceparent='V'*" "/"  or  " /" "*traceparent='V',tracestate='V'*" "/"
 * with each value percent-encoded (every byte outside A-Z a-z 0-9 - . _ ~
 * as %XX, upper case). Returns the length written (NUL not counted), or 0
 * with out[0] = NUL (when cap > 0) when the statement must not get a
 * comment: q already has a comment outside literals, q ends inside a
 * literal, quoted identifier or comment, q has no token but whitespace and
 * ';', q is longer than PQ_SQL_SCAN_MAX, traceparent is NULL or "", or the
 * result and its NUL do not fit in cap. tracestate may be NULL or "" (then
 * omitted). out must not overlap q.
 */
size_t pq_sql_comment(const char *q, size_t qlen, const char *traceparent, const char *tracestate,
		      char *out, size_t cap);

#endif
