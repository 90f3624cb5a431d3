/*
 * pq_sql.c - the PostgreSQL query-text analyser declared in pq_sql.h:
 * sanitised text, summary, operation and statement count in one pass, and
 * the sqlcommenter that appends the trace context.
 *
 * DESIGN: lex() cuts the text into tokens by PostgreSQL's lexical rules
 * (src/backend/parser/scan.l): whitespace, comments, words, quoted
 * identifiers, string/dollar/numeric constants, parameters, punctuation.
 * pq_sql_analyse() copies each token to the output or writes '?' for a
 * literal, all or nothing, and hands every significant token to the
 * summariser (struct sm), a state machine with one small record per open
 * parenthesis (struct lvl, a bounded array: nesting deeper than LVL_MAX is
 * only counted). The summariser never looks back at the text: it keeps the
 * previous token's kind, the operation it is building and the name it is
 * reading; a name is appended to the summary as it is read and taken back
 * when it turns out not to be a target (a function call) or not to fit.
 *
 * Costs: each byte is lexed once, plus once more for the few lookaheads
 * (string continuation, UESCAPE), whose spans are then lexed normally; a
 * dollar-quoted body is searched with a compare that stops at the next '$',
 * so the search is linear too. Keywords are found by binary search in a
 * sorted table.
 *
 * THREADS: none; everything lives on the caller's stack.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "pq_sql.h"

/* ------------------------------------------------------------------ keywords */

#define F_RES 0x01	/* reserved in PostgreSQL: never a table name */
#define F_END 0x02	/* ends a FROM list (and a pending table position) */
#define F_MOD 0x04	/* a modifier between CREATE and the object type: dropped */

struct kwd {
	char s[18];	/* upper case; the table is sorted by it (strcmp) */
	uint8_t fl;	/* F_* */
};

/* Keyword ids: indices into kws[], in the table's order. */
enum {
	K_NONE,
	K_ABORT,
	K_ACCESS,
	K_AGGREGATE,
	K_ALL,
	K_ALTER,
	K_ANALYSE,
	K_ANALYZE,
	K_AND,
	K_ANY,
	K_ARRAY,
	K_AS,
	K_ASC,
	K_ASYMMETRIC,
	K_AUTHORIZATION,
	K_BEGIN,
	K_BINARY,
	K_BOTH,
	K_CALL,
	K_CASE,
	K_CAST,
	K_CHECK,
	K_CHECKPOINT,
	K_CLASS,
	K_CLOSE,
	K_CLUSTER,
	K_COLLATE,
	K_COLLATION,
	K_COLUMN,
	K_COMMENT,
	K_COMMIT,
	K_CONCURRENTLY,
	K_CONFIGURATION,
	K_CONSTRAINT,
	K_CONVERSION,
	K_COPY,
	K_CREATE,
	K_CROSS,
	K_CURRENT_CATALOG,
	K_CURRENT_DATE,
	K_CURRENT_ROLE,
	K_CURRENT_SCHEMA,
	K_CURRENT_TIME,
	K_CURRENT_TIMESTAMP,
	K_CURRENT_USER,
	K_DATA,
	K_DATABASE,
	K_DEALLOCATE,
	K_DECLARE,
	K_DEFAULT,
	K_DEFERRABLE,
	K_DELETE,
	K_DESC,
	K_DICTIONARY,
	K_DISCARD,
	K_DISTINCT,
	K_DO,
	K_DOMAIN,
	K_DROP,
	K_ELSE,
	K_END,
	K_EVENT,
	K_EXCEPT,
	K_EXECUTE,
	K_EXISTS,
	K_EXPLAIN,
	K_EXTENSION,
	K_FALSE,
	K_FAMILY,
	K_FETCH,
	K_FOR,
	K_FOREIGN,
	K_FREEZE,
	K_FROM,
	K_FULL,
	K_FUNCTION,
	K_GLOBAL,
	K_GRANT,
	K_GROUP,
	K_HAVING,
	K_IF,
	K_ILIKE,
	K_IN,
	K_INDEX,
	K_INITIALLY,
	K_INNER,
	K_INSERT,
	K_INTERSECT,
	K_INTO,
	K_IS,
	K_ISNULL,
	K_JOIN,
	K_LANGUAGE,
	K_LARGE,
	K_LATERAL,
	K_LEADING,
	K_LEFT,
	K_LIKE,
	K_LIMIT,
	K_LISTEN,
	K_LOCAL,
	K_LOCALTIME,
	K_LOCALTIMESTAMP,
	K_LOCK,
	K_MAPPING,
	K_MATERIALIZED,
	K_MERGE,
	K_METHOD,
	K_MOVE,
	K_NATURAL,
	K_NOT,
	K_NOTIFY,
	K_NOTNULL,
	K_NULL,
	K_OBJECT,
	K_OFFSET,
	K_ON,
	K_ONLY,
	K_OPERATOR,
	K_OR,
	K_ORDER,
	K_OUTER,
	K_OVERLAPS,
	K_OWNED,
	K_PARSER,
	K_PLACING,
	K_POLICY,
	K_PREPARE,
	K_PRIMARY,
	K_PRIVILEGES,
	K_PROCEDURAL,
	K_PROCEDURE,
	K_PUBLICATION,
	K_RECURSIVE,
	K_REFERENCES,
	K_REFRESH,
	K_REINDEX,
	K_RELEASE,
	K_REPLACE,
	K_RESET,
	K_RETURNING,
	K_REVOKE,
	K_RIGHT,
	K_ROLE,
	K_ROLLBACK,
	K_ROUTINE,
	K_RULE,
	K_SAVEPOINT,
	K_SCHEMA,
	K_SEARCH,
	K_SELECT,
	K_SEQUENCE,
	K_SERVER,
	K_SESSION_USER,
	K_SET,
	K_SHOW,
	K_SIMILAR,
	K_SOME,
	K_START,
	K_STATISTICS,
	K_SUBSCRIPTION,
	K_SYMMETRIC,
	K_SYSTEM,
	K_SYSTEM_USER,
	K_TABLE,
	K_TABLESAMPLE,
	K_TABLESPACE,
	K_TEMP,
	K_TEMPLATE,
	K_TEMPORARY,
	K_TEXT,
	K_THEN,
	K_TO,
	K_TRAILING,
	K_TRANSACTION,
	K_TRANSFORM,
	K_TRIGGER,
	K_TRUE,
	K_TRUNCATE,
	K_TRUSTED,
	K_TYPE,
	K_UNION,
	K_UNIQUE,
	K_UNLISTEN,
	K_UNLOGGED,
	K_UPDATE,
	K_USER,
	K_USING,
	K_VACUUM,
	K_VALUES,
	K_VARIADIC,
	K_VERBOSE,
	K_VIEW,
	K_WHEN,
	K_WHERE,
	K_WINDOW,
	K_WITH,
	K_WRAPPER,
	K_COUNT,
};

static const struct kwd kws[K_COUNT] = {
	[K_NONE] = { "", 0 },
	[K_ABORT] = { "ABORT", 0 },
	[K_ACCESS] = { "ACCESS", 0 },
	[K_AGGREGATE] = { "AGGREGATE", 0 },
	[K_ALL] = { "ALL", F_RES },
	[K_ALTER] = { "ALTER", 0 },
	[K_ANALYSE] = { "ANALYSE", F_RES },
	[K_ANALYZE] = { "ANALYZE", F_RES },
	[K_AND] = { "AND", F_RES },
	[K_ANY] = { "ANY", F_RES },
	[K_ARRAY] = { "ARRAY", F_RES },
	[K_AS] = { "AS", F_RES },
	[K_ASC] = { "ASC", F_RES },
	[K_ASYMMETRIC] = { "ASYMMETRIC", F_RES },
	[K_AUTHORIZATION] = { "AUTHORIZATION", F_RES },
	[K_BEGIN] = { "BEGIN", 0 },
	[K_BINARY] = { "BINARY", F_RES },
	[K_BOTH] = { "BOTH", F_RES },
	[K_CALL] = { "CALL", 0 },
	[K_CASE] = { "CASE", F_RES },
	[K_CAST] = { "CAST", F_RES },
	[K_CHECK] = { "CHECK", F_RES },
	[K_CHECKPOINT] = { "CHECKPOINT", 0 },
	[K_CLASS] = { "CLASS", 0 },
	[K_CLOSE] = { "CLOSE", 0 },
	[K_CLUSTER] = { "CLUSTER", 0 },
	[K_COLLATE] = { "COLLATE", F_RES },
	[K_COLLATION] = { "COLLATION", F_RES },
	[K_COLUMN] = { "COLUMN", F_RES },
	[K_COMMENT] = { "COMMENT", 0 },
	[K_COMMIT] = { "COMMIT", 0 },
	[K_CONCURRENTLY] = { "CONCURRENTLY", F_RES },
	[K_CONFIGURATION] = { "CONFIGURATION", 0 },
	[K_CONSTRAINT] = { "CONSTRAINT", F_RES | F_MOD },
	[K_CONVERSION] = { "CONVERSION", 0 },
	[K_COPY] = { "COPY", 0 },
	[K_CREATE] = { "CREATE", F_RES },
	[K_CROSS] = { "CROSS", F_RES },
	[K_CURRENT_CATALOG] = { "CURRENT_CATALOG", F_RES },
	[K_CURRENT_DATE] = { "CURRENT_DATE", F_RES },
	[K_CURRENT_ROLE] = { "CURRENT_ROLE", F_RES },
	[K_CURRENT_SCHEMA] = { "CURRENT_SCHEMA", F_RES },
	[K_CURRENT_TIME] = { "CURRENT_TIME", F_RES },
	[K_CURRENT_TIMESTAMP] = { "CURRENT_TIMESTAMP", F_RES },
	[K_CURRENT_USER] = { "CURRENT_USER", F_RES },
	[K_DATA] = { "DATA", 0 },
	[K_DATABASE] = { "DATABASE", 0 },
	[K_DEALLOCATE] = { "DEALLOCATE", 0 },
	[K_DECLARE] = { "DECLARE", 0 },
	[K_DEFAULT] = { "DEFAULT", F_RES },
	[K_DEFERRABLE] = { "DEFERRABLE", F_RES },
	[K_DELETE] = { "DELETE", 0 },
	[K_DESC] = { "DESC", F_RES },
	[K_DICTIONARY] = { "DICTIONARY", 0 },
	[K_DISCARD] = { "DISCARD", 0 },
	[K_DISTINCT] = { "DISTINCT", F_RES },
	[K_DO] = { "DO", F_RES },
	[K_DOMAIN] = { "DOMAIN", 0 },
	[K_DROP] = { "DROP", 0 },
	[K_ELSE] = { "ELSE", F_RES },
	[K_END] = { "END", F_RES },
	[K_EVENT] = { "EVENT", 0 },
	[K_EXCEPT] = { "EXCEPT", F_RES | F_END },
	[K_EXECUTE] = { "EXECUTE", 0 },
	[K_EXISTS] = { "EXISTS", 0 },
	[K_EXPLAIN] = { "EXPLAIN", 0 },
	[K_EXTENSION] = { "EXTENSION", 0 },
	[K_FALSE] = { "FALSE", F_RES },
	[K_FAMILY] = { "FAMILY", 0 },
	[K_FETCH] = { "FETCH", F_RES | F_END },
	[K_FOR] = { "FOR", F_RES | F_END },
	[K_FOREIGN] = { "FOREIGN", F_RES },
	[K_FREEZE] = { "FREEZE", F_RES },
	[K_FROM] = { "FROM", F_RES | F_END },
	[K_FULL] = { "FULL", F_RES },
	[K_FUNCTION] = { "FUNCTION", 0 },
	[K_GLOBAL] = { "GLOBAL", F_MOD },
	[K_GRANT] = { "GRANT", F_RES },
	[K_GROUP] = { "GROUP", F_RES | F_END },
	[K_HAVING] = { "HAVING", F_RES | F_END },
	[K_IF] = { "IF", 0 },
	[K_ILIKE] = { "ILIKE", F_RES },
	[K_IN] = { "IN", F_RES },
	[K_INDEX] = { "INDEX", 0 },
	[K_INITIALLY] = { "INITIALLY", F_RES },
	[K_INNER] = { "INNER", F_RES },
	[K_INSERT] = { "INSERT", 0 },
	[K_INTERSECT] = { "INTERSECT", F_RES | F_END },
	[K_INTO] = { "INTO", F_RES | F_END },
	[K_IS] = { "IS", F_RES },
	[K_ISNULL] = { "ISNULL", F_RES },
	[K_JOIN] = { "JOIN", F_RES },
	[K_LANGUAGE] = { "LANGUAGE", 0 },
	[K_LARGE] = { "LARGE", 0 },
	[K_LATERAL] = { "LATERAL", F_RES },
	[K_LEADING] = { "LEADING", F_RES },
	[K_LEFT] = { "LEFT", F_RES },
	[K_LIKE] = { "LIKE", F_RES },
	[K_LIMIT] = { "LIMIT", F_RES | F_END },
	[K_LISTEN] = { "LISTEN", 0 },
	[K_LOCAL] = { "LOCAL", F_MOD },
	[K_LOCALTIME] = { "LOCALTIME", F_RES },
	[K_LOCALTIMESTAMP] = { "LOCALTIMESTAMP", F_RES },
	[K_LOCK] = { "LOCK", 0 },
	[K_MAPPING] = { "MAPPING", 0 },
	[K_MATERIALIZED] = { "MATERIALIZED", 0 },
	[K_MERGE] = { "MERGE", 0 },
	[K_METHOD] = { "METHOD", 0 },
	[K_MOVE] = { "MOVE", 0 },
	[K_NATURAL] = { "NATURAL", F_RES },
	[K_NOT] = { "NOT", F_RES },
	[K_NOTIFY] = { "NOTIFY", 0 },
	[K_NOTNULL] = { "NOTNULL", F_RES },
	[K_NULL] = { "NULL", F_RES },
	[K_OBJECT] = { "OBJECT", 0 },
	[K_OFFSET] = { "OFFSET", F_RES | F_END },
	[K_ON] = { "ON", F_RES },
	[K_ONLY] = { "ONLY", F_RES },
	[K_OPERATOR] = { "OPERATOR", 0 },
	[K_OR] = { "OR", F_RES | F_MOD },
	[K_ORDER] = { "ORDER", F_RES | F_END },
	[K_OUTER] = { "OUTER", F_RES },
	[K_OVERLAPS] = { "OVERLAPS", F_RES },
	[K_OWNED] = { "OWNED", 0 },
	[K_PARSER] = { "PARSER", 0 },
	[K_PLACING] = { "PLACING", F_RES },
	[K_POLICY] = { "POLICY", 0 },
	[K_PREPARE] = { "PREPARE", 0 },
	[K_PRIMARY] = { "PRIMARY", F_RES },
	[K_PRIVILEGES] = { "PRIVILEGES", 0 },
	[K_PROCEDURAL] = { "PROCEDURAL", F_MOD },
	[K_PROCEDURE] = { "PROCEDURE", 0 },
	[K_PUBLICATION] = { "PUBLICATION", 0 },
	[K_RECURSIVE] = { "RECURSIVE", F_MOD },
	[K_REFERENCES] = { "REFERENCES", F_RES },
	[K_REFRESH] = { "REFRESH", 0 },
	[K_REINDEX] = { "REINDEX", 0 },
	[K_RELEASE] = { "RELEASE", 0 },
	[K_REPLACE] = { "REPLACE", F_MOD },
	[K_RESET] = { "RESET", 0 },
	[K_RETURNING] = { "RETURNING", F_RES | F_END },
	[K_REVOKE] = { "REVOKE", 0 },
	[K_RIGHT] = { "RIGHT", F_RES },
	[K_ROLE] = { "ROLE", 0 },
	[K_ROLLBACK] = { "ROLLBACK", 0 },
	[K_ROUTINE] = { "ROUTINE", 0 },
	[K_RULE] = { "RULE", 0 },
	[K_SAVEPOINT] = { "SAVEPOINT", 0 },
	[K_SCHEMA] = { "SCHEMA", 0 },
	[K_SEARCH] = { "SEARCH", 0 },
	[K_SELECT] = { "SELECT", F_RES | F_END },
	[K_SEQUENCE] = { "SEQUENCE", 0 },
	[K_SERVER] = { "SERVER", 0 },
	[K_SESSION_USER] = { "SESSION_USER", F_RES },
	[K_SET] = { "SET", F_END },
	[K_SHOW] = { "SHOW", 0 },
	[K_SIMILAR] = { "SIMILAR", F_RES },
	[K_SOME] = { "SOME", F_RES },
	[K_START] = { "START", 0 },
	[K_STATISTICS] = { "STATISTICS", 0 },
	[K_SUBSCRIPTION] = { "SUBSCRIPTION", 0 },
	[K_SYMMETRIC] = { "SYMMETRIC", F_RES },
	[K_SYSTEM] = { "SYSTEM", 0 },
	[K_SYSTEM_USER] = { "SYSTEM_USER", F_RES },
	[K_TABLE] = { "TABLE", F_RES },
	[K_TABLESAMPLE] = { "TABLESAMPLE", F_RES },
	[K_TABLESPACE] = { "TABLESPACE", 0 },
	[K_TEMP] = { "TEMP", F_MOD },
	[K_TEMPLATE] = { "TEMPLATE", 0 },
	[K_TEMPORARY] = { "TEMPORARY", F_MOD },
	[K_TEXT] = { "TEXT", 0 },
	[K_THEN] = { "THEN", F_RES },
	[K_TO] = { "TO", F_RES },
	[K_TRAILING] = { "TRAILING", F_RES },
	[K_TRANSACTION] = { "TRANSACTION", 0 },
	[K_TRANSFORM] = { "TRANSFORM", 0 },
	[K_TRIGGER] = { "TRIGGER", 0 },
	[K_TRUE] = { "TRUE", F_RES },
	[K_TRUNCATE] = { "TRUNCATE", 0 },
	[K_TRUSTED] = { "TRUSTED", F_MOD },
	[K_TYPE] = { "TYPE", 0 },
	[K_UNION] = { "UNION", F_RES | F_END },
	[K_UNIQUE] = { "UNIQUE", F_RES | F_MOD },
	[K_UNLISTEN] = { "UNLISTEN", 0 },
	[K_UNLOGGED] = { "UNLOGGED", F_MOD },
	[K_UPDATE] = { "UPDATE", 0 },
	[K_USER] = { "USER", F_RES },
	[K_USING] = { "USING", F_RES },
	[K_VACUUM] = { "VACUUM", 0 },
	[K_VALUES] = { "VALUES", F_END },
	[K_VARIADIC] = { "VARIADIC", F_RES },
	[K_VERBOSE] = { "VERBOSE", F_RES },
	[K_VIEW] = { "VIEW", 0 },
	[K_WHEN] = { "WHEN", F_RES | F_END },
	[K_WHERE] = { "WHERE", F_RES | F_END },
	[K_WINDOW] = { "WINDOW", F_RES | F_END },
	[K_WITH] = { "WITH", F_RES },
	[K_WRAPPER] = { "WRAPPER", 0 },
};

/* The keyword id of p[0..n) (ASCII case-insensitive), or K_NONE. */
static uint8_t kw_lookup(const uint8_t *p, size_t n)
{
	char u[sizeof(kws[0].s)];
	size_t i, lo = 1, hi = K_COUNT;

	if (n == 0 || n >= sizeof(u))
		return K_NONE;
	for (i = 0; i < n; i++) {
		uint8_t c = p[i];

		if (c >= 'a' && c <= 'z')
			c = (uint8_t)(c - 'a' + 'A');
		else if (!((c >= 'A' && c <= 'Z') || c == '_'))
			return K_NONE;
		u[i] = (char)c;
	}
	u[n] = 0;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(u, kws[mid].s);

		if (c == 0)
			return (uint8_t)mid;
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return K_NONE;
}

/* ------------------------------------------------------------------ lexer */

enum {
	T_WS,		/* whitespace */
	T_COMMENT,	/* -- or slash-star */
	T_WORD,		/* identifier or keyword */
	T_QIDENT,	/* "..." or U&"..." */
	T_STRING,	/* '...' in all its forms, continuations and UESCAPE included */
	T_DOLLAR,	/* $tag$...$tag$ */
	T_NUMBER,
	T_PARAM,	/* $1 */
	T_LPAREN,
	T_RPAREN,
	T_COMMA,
	T_DOT,
	T_SEMI,
	T_OTHER,	/* any other byte (operators one byte at a time) */
	T_BOOL,		/* not from lex(): a T_WORD that is TRUE or FALSE */
};

struct tok {
	uint8_t type;		/* T_* */
	bool open;		/* literal, quoted identifier or comment runs to the end */
	bool comment;		/* a -- comment inside a string continuation */
};

static inline bool is_space(uint8_t c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

static inline bool is_digit(uint8_t c)
{
	return (unsigned int)(c - '0') < 10u;
}

static inline bool is_alpha(uint8_t c)
{
	return (unsigned int)((c | 0x20) - 'a') < 26u;
}

/* First byte of an identifier or dollar-quote tag. */
static inline bool id_start(uint8_t c)
{
	return is_alpha(c) || c == '_' || c >= 0x80;
}

/* Later bytes of an identifier. */
static inline bool id_cont(uint8_t c)
{
	return id_start(c) || is_digit(c) || c == '$';
}

/*
 * After a string constant that ends before i: the index of the quote that
 * continues it, or 0. PostgreSQL: whitespace containing a newline, where
 * -- comments may appear, then a quote (scan.l quotecontinue).
 */
static size_t str_continues(const uint8_t *q, size_t i, size_t n, bool *comment)
{
	bool nl = false, cm = false;

	while (i < n) {
		uint8_t c = q[i];

		if (c == '\n' || c == '\r') {
			nl = true;
			i++;
		} else if (is_space(c)) {
			i++;
		} else if (c == '-' && i + 1 < n && q[i + 1] == '-') {
			cm = true;
			for (i += 2; i < n && q[i] != '\n' && q[i] != '\r'; i++)
				;
		} else {
			break;
		}
	}
	if (!nl || i >= n || q[i] != '\'')
		return 0;
	if (cm)
		*comment = true;
	return i;
}

/* A string constant whose opening quote is at j; esc: a backslash escapes
 * the next byte (E''). Returns its end, continuations included. */
static size_t lex_string(const uint8_t *q, size_t j, size_t n, bool esc, struct tok *t)
{
	for (;;) {
		size_t k = j + 1;

		while (k < n) {
			uint8_t c = q[k];

			if (c == '\'') {
				if (k + 1 < n && q[k + 1] == '\'') {
					k += 2;
					continue;
				}
				break;
			}
			k += c == '\\' && esc ? 2 : 1;
		}
		if (k >= n) {
			t->open = true;
			return n;
		}
		j = str_continues(q, k + 1, n, &t->comment);
		if (!j)
			return k + 1;
	}
}

/* After a U&'' constant ending at k: the end of a UESCAPE 'c' clause that
 * follows it (whitespace between), or k. */
static size_t lex_uescape(const uint8_t *q, size_t k, size_t n, struct tok *t)
{
	static const char kw[] = "uescape";
	size_t j = k, i;

	while (j < n && is_space(q[j]))
		j++;
	if (n - j < 7)
		return k;
	for (i = 0; i < 7; i++)
		if ((q[j + i] | 0x20) != kw[i])
			return k;
	j += 7;
	if (j < n && id_cont(q[j]))
		return k;
	while (j < n && is_space(q[j]))
		j++;
	if (j >= n || q[j] != '\'')
		return k;
	return lex_string(q, j, n, false, t);
}

/* A quoted identifier whose opening quote is at j ("" inside). */
static size_t lex_qident(const uint8_t *q, size_t j, size_t n, struct tok *t)
{
	size_t k;

	for (k = j + 1; k < n; k++) {
		if (q[k] != '"')
			continue;
		if (k + 1 < n && q[k + 1] == '"') {
			k++;
			continue;
		}
		return k + 1;
	}
	t->open = true;
	return n;
}

/* A slash-star comment starting at i; they nest. */
static size_t lex_block(const uint8_t *q, size_t i, size_t n, struct tok *t)
{
	size_t depth = 1, k = i + 2;

	while (k < n) {
		if (q[k] == '*' && k + 1 < n && q[k + 1] == '/') {
			k += 2;
			if (--depth == 0)
				return k;
		} else if (q[k] == '/' && k + 1 < n && q[k + 1] == '*') {
			k += 2;
			depth++;
		} else {
			k++;
		}
	}
	t->open = true;
	return n;
}

/*
 * A dollar-quoted constant: its opening tag is q[i..b) (both '$' included),
 * the body starts at b. The closing tag is searched at each '$'; the
 * compare stops at the first difference, which comes at the latest at the
 * next '$' of the body (a tag has no '$' inside), so the search is linear.
 */
static size_t lex_dollar(const uint8_t *q, size_t i, size_t b, size_t n, struct tok *t)
{
	size_t tlen = b - i, p = b;

	while (p < n) {
		const uint8_t *d = memchr(q + p, '$', n - p);
		size_t k;

		if (!d)
			break;
		p = (size_t)(d - q);
		for (k = 1; k < tlen && p + k < n && q[p + k] == q[i + k]; k++)
			;
		if (k == tlen)
			return p + tlen;
		p++;
	}
	t->open = true;
	return n;
}

/* digit (_? digit)*, from the digit at k. */
static size_t lex_decimal(const uint8_t *q, size_t k, size_t n)
{
	k++;
	while (k < n) {
		if (is_digit(q[k]))
			k++;
		else if (q[k] == '_' && k + 1 < n && is_digit(q[k + 1]))
			k += 2;
		else
			break;
	}
	return k;
}

static bool in_base(uint8_t c, uint8_t base)
{
	if (base == 'x')
		return is_digit(c) || (unsigned int)((c | 0x20) - 'a') < 6u;
	if (base == 'o')
		return c >= '0' && c <= '7';
	return c == '0' || c == '1';
}

/* A numeric constant at i (a digit, or '.' and a digit): 0x1F 0o17 0b101,
 * 1_000, 3.5, .5, 5., 1e10, 1.5E-3. "1..5" is 1 then "..". */
static size_t lex_number(const uint8_t *q, size_t i, size_t n)
{
	size_t k = i;

	if (q[i] == '0' && i + 1 < n) {
		uint8_t base = q[i + 1] | 0x20;

		if (base == 'x' || base == 'o' || base == 'b') {
			size_t j = i + 2;
			bool any = false;

			while (j < n) {
				if (in_base(q[j], base))
					j++;
				else if (q[j] == '_' && j + 1 < n && in_base(q[j + 1], base))
					j += 2;
				else
					break;
				any = true;
			}
			if (any)
				return j;
		}
	}
	if (is_digit(q[k]))
		k = lex_decimal(q, k, n);
	if (k < n && q[k] == '.' && !(k + 1 < n && q[k + 1] == '.')) {
		k++;
		if (k < n && is_digit(q[k]))
			k = lex_decimal(q, k, n);
	}
	if (k < n && (q[k] | 0x20) == 'e') {
		size_t j = k + 1;

		if (j < n && (q[j] == '+' || q[j] == '-'))
			j++;
		if (j < n && is_digit(q[j]))
			k = lex_decimal(q, j, n);
	}
	return k;
}

/* The token starting at i < n: sets *t, returns its end (> i, <= n). */
static size_t lex(const uint8_t *q, size_t i, size_t n, struct tok *t)
{
	uint8_t c = q[i], d = i + 1 < n ? q[i + 1] : 0;
	size_t k;

	t->open = false;
	t->comment = false;
	if (is_space(c)) {
		for (k = i + 1; k < n && is_space(q[k]); k++)
			;
		t->type = T_WS;
		return k;
	}
	if (c == '-' && d == '-') {
		for (k = i + 2; k < n && q[k] != '\n' && q[k] != '\r'; k++)
			;
		t->type = T_COMMENT;
		return k;
	}
	if (c == '/' && d == '*') {
		t->type = T_COMMENT;
		return lex_block(q, i, n, t);
	}
	if (c == '\'') {
		t->type = T_STRING;
		return lex_string(q, i, n, false, t);
	}
	if (c == '"') {
		t->type = T_QIDENT;
		return lex_qident(q, i, n, t);
	}
	if (id_start(c)) {
		uint8_t l = c | 0x20;

		if (d == '\'' && (l == 'e' || l == 'b' || l == 'x' || l == 'n')) {
			t->type = T_STRING;
			return lex_string(q, i + 1, n, l == 'e', t);
		}
		if (l == 'u' && d == '&' && i + 2 < n && q[i + 2] == '\'') {
			t->type = T_STRING;
			k = lex_string(q, i + 2, n, false, t);
			return t->open ? k : lex_uescape(q, k, n, t);
		}
		if (l == 'u' && d == '&' && i + 2 < n && q[i + 2] == '"') {
			t->type = T_QIDENT;
			return lex_qident(q, i + 2, n, t);
		}
		for (k = i + 1; k < n && id_cont(q[k]); k++)
			;
		t->type = T_WORD;
		return k;
	}
	if (is_digit(c) || (c == '.' && is_digit(d))) {
		t->type = T_NUMBER;
		return lex_number(q, i, n);
	}
	if (c == '$') {
		if (is_digit(d)) {
			for (k = i + 2; k < n && is_digit(q[k]); k++)
				;
			t->type = T_PARAM;
			return k;
		}
		k = i + 1;
		if (d != '$' && i + 1 < n && id_start(d))
			for (k = i + 2; k < n && (id_start(q[k]) || is_digit(q[k])); k++)
				;
		if (k < n && q[k] == '$' && (k == i + 1 || id_start(d))) {
			t->type = T_DOLLAR;
			return lex_dollar(q, i, k + 1, n, t);
		}
		t->type = T_OTHER;
		return i + 1;
	}
	switch (c) {
	case '(':
		t->type = T_LPAREN;
		break;
	case ')':
		t->type = T_RPAREN;
		break;
	case ',':
		t->type = T_COMMA;
		break;
	case '.':
		t->type = T_DOT;
		break;
	case ';':
		t->type = T_SEMI;
		break;
	default:
		t->type = T_OTHER;
		break;
	}
	return i + 1;
}

/* ------------------------------------------------------------------ object types */

#define TY_NONAME 0x01	/* no object name follows */
#define TY_NOSEL 0x02	/* SELECT later in the statement is a privilege, not an operation */
#define TY_INDEX 0x04	/* CREATE: the target is the table after ON */
#define TY_BODY 0x08	/* CREATE: BEGIN/CASE ... END nest ';' (SQL-standard bodies) */

/* The words of the object types after CREATE/ALTER/DROP (and TRUNCATE,
 * START): the longest sequence matched is the type. Fewer than 64 entries
 * (a candidate bit mask). */
static const struct objtype {
	uint8_t w[3];	/* keyword ids; K_NONE past the last word */
	uint8_t n;	/* words */
	uint8_t fl;	/* TY_* */
} types[] = {
	{ { K_TABLE }, 1, 0 },	/* TYPE_TABLE: also TRUNCATE [TABLE] */
	{ { K_TRANSACTION }, 1, 0 },	/* TYPE_TRANSACTION: START only */
	{ { K_INDEX }, 1, TY_INDEX },
	{ { K_VIEW }, 1, 0 },
	{ { K_MATERIALIZED, K_VIEW }, 2, 0 },
	{ { K_SEQUENCE }, 1, 0 },
	{ { K_FUNCTION }, 1, TY_BODY },
	{ { K_PROCEDURE }, 1, TY_BODY },
	{ { K_ROUTINE }, 1, 0 },
	{ { K_TRIGGER }, 1, 0 },
	{ { K_EVENT, K_TRIGGER }, 2, 0 },
	{ { K_SCHEMA }, 1, 0 },
	{ { K_DATABASE }, 1, 0 },
	{ { K_EXTENSION }, 1, 0 },
	{ { K_TYPE }, 1, 0 },
	{ { K_ROLE }, 1, 0 },
	{ { K_USER }, 1, 0 },
	{ { K_USER, K_MAPPING }, 2, TY_NONAME },
	{ { K_GROUP }, 1, 0 },
	{ { K_DOMAIN }, 1, 0 },
	{ { K_FOREIGN, K_TABLE }, 2, 0 },
	{ { K_FOREIGN, K_DATA, K_WRAPPER }, 3, 0 },
	{ { K_SERVER }, 1, 0 },
	{ { K_TABLESPACE }, 1, 0 },
	{ { K_AGGREGATE }, 1, 0 },
	{ { K_OPERATOR }, 1, 0 },
	{ { K_OPERATOR, K_CLASS }, 2, 0 },
	{ { K_OPERATOR, K_FAMILY }, 2, 0 },
	{ { K_COLLATION }, 1, 0 },
	{ { K_CONVERSION }, 1, 0 },
	{ { K_DEFAULT, K_CONVERSION }, 2, 0 },
	{ { K_CAST }, 1, TY_NONAME },
	{ { K_LANGUAGE }, 1, 0 },
	{ { K_POLICY }, 1, TY_NOSEL },
	{ { K_PUBLICATION }, 1, 0 },
	{ { K_SUBSCRIPTION }, 1, 0 },
	{ { K_RULE }, 1, 0 },
	{ { K_STATISTICS }, 1, 0 },
	{ { K_TEXT, K_SEARCH, K_CONFIGURATION }, 3, 0 },
	{ { K_TEXT, K_SEARCH, K_DICTIONARY }, 3, 0 },
	{ { K_TEXT, K_SEARCH, K_PARSER }, 3, 0 },
	{ { K_TEXT, K_SEARCH, K_TEMPLATE }, 3, 0 },
	{ { K_ACCESS, K_METHOD }, 2, 0 },
	{ { K_TRANSFORM }, 1, TY_NONAME },
	{ { K_DEFAULT, K_PRIVILEGES }, 2, TY_NONAME | TY_NOSEL },
	{ { K_LARGE, K_OBJECT }, 2, TY_NONAME },
	{ { K_OWNED }, 1, TY_NONAME },
	{ { K_SYSTEM }, 1, TY_NONAME },
};

#define NTYPES (sizeof(types) / sizeof(types[0]))
#define TYPE_TABLE 0
#define TYPE_TRANSACTION 1
#define TYPE_BIT(i) ((uint64_t)1 << (i))
#define TYPES_ALL (TYPE_BIT(NTYPES) - 1)
_Static_assert(NTYPES < 64, "object types are a 64-bit candidate mask");

/* ------------------------------------------------------------------ summariser */

#define LVL_MAX 32	/* parentheses tracked; deeper ones are only counted */

enum {			/* how a level was opened */
	P_TOP,		/* the statement itself */
	P_QUERY,	/* any other '(' (a subquery if SELECT follows) */
	P_FROM,		/* '(' where a table was expected: subquery or joined tables */
	P_CTE,		/* a CTE body: WITH x AS ( */
	P_COPY,		/* COPY ( query ) */
};

enum {			/* what the level expects */
	C_NONE,
	C_TABLE,	/* one table name (INTO, UPDATE, TABLE, CALL, COPY, DDL) */
	C_LIST,		/* a FROM-list item (FROM, JOIN, USING); name( is a function */
	C_AFTER,	/* after a FROM-list item: alias, ON ...; ',' or JOIN: next */
	C_DLIST,	/* a list item of DROP, TRUNCATE, LOCK, VACUUM, ANALYZE */
	C_DAFTER,	/* after one: ',' for the next */
	C_IDXON,	/* CREATE INDEX: the words up to ON */
};

enum {			/* what a word at this point may start */
	A_NONE,
	A_QUERY,	/* SELECT, WITH */
	A_DML,		/* and INSERT, UPDATE, DELETE, MERGE */
	A_ALL,		/* any statement */
};

enum {
	W_NONE,
	W_CTES,		/* reading the CTE list of a WITH */
	W_AFTER,	/* a CTE body closed: ',' or the main statement */
};

#define L_QMODE 0x01	/* FROM, JOIN, INTO, USING mean tables here */
#define L_NOSEL 0x02	/* SELECT is a privilege here (GRANT, REVOKE, policies) */
#define L_JOIN 0x04	/* a JOIN was seen in the current FROM list */

struct lvl {
	uint8_t kind;	/* P_* */
	uint8_t stmt;	/* keyword id of the statement at this level, or K_NONE */
	uint8_t clause;	/* C_* */
	uint8_t start;	/* A_*: for the next word only */
	uint8_t with;	/* W_* */
	uint8_t flags;	/* L_* */
};

enum { N_NONE, N_PART, N_DOT };	/* the name being read: nothing, after a part, after '.' */

enum { X_NONE, X_DDL, X_TRUNCATE, X_START };	/* words that may extend the operation */

struct sm {
	struct pq_sql *m;
	unsigned int depth;	/* open parentheses of the statement */
	struct lvl lv[LVL_MAX];
	uint8_t prev_type;	/* previous significant token, T_* */
	uint8_t prev_kw;	/* its keyword id when a word not after '.' */

	/* the current statement */
	bool stmt_open;		/* it has a significant token */
	bool stmt_with;		/* it starts with WITH */
	bool stmt_op_done;	/* its operation was found */
	bool cte_dml;		/* a CTE body of it modifies data */
	bool explain;		/* level 0 reads EXPLAIN options */
	bool ddl;		/* IF and EXISTS are skipped before names */
	bool body_ok;		/* CREATE FUNCTION/PROCEDURE: BEGIN/CASE..END nest */
	unsigned int body;	/* that nesting */
	bool op_ambiguous;	/* statement 1 is a WITH whose CTEs modify data */

	/* the operation being built (extended by object type words) */
	char op[PQ_SQL_OP_MAX + 1];
	size_t op_len;
	size_t op_ok;		/* op_len at the last complete object type */
	bool op_stmt;		/* it is its statement's operation */
	uint8_t ext;		/* X_* */
	uint8_t ext_verb;	/* keyword id of CREATE ALTER DROP TRUNCATE START */
	uint8_t ext_k;		/* type words matched */
	int ext_type;		/* index in types[] of the longest match, -1 none */
	uint64_t ext_cand;	/* types still matching */

	/* the qualified name being read (already in the summary) */
	uint8_t name;		/* N_* */
	uint8_t name_next;	/* clause after it */
	bool name_func;		/* '(' after it: a function call */
	bool name_nul;		/* has a NUL byte: never a target */
	bool name_over;		/* did not fit */
	bool name_gap;		/* whitespace or a comment after its last part */
	size_t name_mark;	/* summary_len before it */

	bool full;		/* the summary is closed: an element did not fit */
};

/* Appends p[0..n) to the summary; false (nothing appended) if it does not fit. */
static bool sum_put(struct pq_sql *m, const void *p, size_t n)
{
	if (n > PQ_SQL_SUMMARY_MAX - m->summary_len)
		return false;
	memcpy(m->summary + m->summary_len, p, n);
	m->summary_len += n;
	m->summary[m->summary_len] = 0;
	return true;
}

static void sum_cut(struct pq_sql *m, size_t len)
{
	m->summary_len = len;
	m->summary[len] = 0;
}

static void sum_close(struct sm *s)
{
	s->full = true;
	s->m->summary_truncated = true;
}

/* Starts an operation with its first word. */
static void op_begin(struct sm *s, const uint8_t *p, size_t n)
{
	if (n > PQ_SQL_OP_MAX)
		n = PQ_SQL_OP_MAX;
	memcpy(s->op, p, n);
	s->op_len = s->op_ok = n;
	s->op_stmt = !s->stmt_op_done && (!s->stmt_with || s->depth == 0);
	if (s->op_stmt)
		s->stmt_op_done = true;
}

/* Adds " word" (when it fits; operations are a few keywords). */
static void op_extend(struct sm *s, const uint8_t *p, size_t n)
{
	if (n + 1 > PQ_SQL_OP_MAX - s->op_len)
		return;
	s->op[s->op_len++] = ' ';
	memcpy(s->op + s->op_len, p, n);
	s->op_len += n;
}

/* The operation is complete (cut back to its last complete object type):
 * into the summary, and into m->op when it is statement 1's. */
static void op_finish(struct sm *s)
{
	struct pq_sql *m = s->m;
	size_t mark = m->summary_len;

	s->op_len = s->op_ok;
	s->op[s->op_len] = 0;
	if (!s->full && !((mark == 0 || sum_put(m, " ", 1)) && sum_put(m, s->op, s->op_len))) {
		sum_cut(m, mark);
		sum_close(s);
	}
	if (s->op_stmt && m->statements == 1) {
		memcpy(m->op, s->op, s->op_len + 1);
		m->op_len = s->op_len;
	}
	s->ext = X_NONE;
}

static void op_word(struct sm *s, const uint8_t *p, size_t n)
{
	op_begin(s, p, n);
	op_finish(s);
}

/* The operation may go on with object type words (types[] in cand). */
static void op_begin_ext(struct sm *s, const uint8_t *p, size_t n, uint8_t verb, uint8_t ext,
			 uint64_t cand)
{
	op_begin(s, p, n);
	s->ext = ext;
	s->ext_verb = verb;
	s->ext_k = 0;
	s->ext_type = -1;
	s->ext_cand = cand;
}

/* A word while the operation may be extended: true when it was taken. */
static bool ext_word(struct sm *s, uint8_t kw, const uint8_t *p, size_t n)
{
	uint64_t mask = 0;
	size_t i;

	if (kw == K_NONE)
		return false;
	if (s->ext == X_DDL && s->ext_k == 0 && (kws[kw].fl & F_MOD))
		return true;
	if (s->ext_k >= 3)
		return false;
	for (i = 0; i < NTYPES; i++)
		if ((s->ext_cand >> i & 1) && types[i].w[s->ext_k] == kw)
			mask |= (uint64_t)1 << i;
	if (!mask)
		return false;
	op_extend(s, p, n);
	s->ext_k++;
	s->ext_cand = mask;
	for (i = 0; i < NTYPES; i++)
		if ((mask >> i & 1) && types[i].n == s->ext_k) {
			s->op_ok = s->op_len;
			s->ext_type = (int)i;
		}
	return true;
}

/* The object type is known: finish the operation, then expect the name.
 * Extensions only happen at level 0 (statements start there). */
static void ext_end(struct sm *s)
{
	struct lvl *L = &s->lv[0];
	uint8_t verb = s->ext_verb, fl;
	int ti = s->ext_type;

	op_finish(s);
	if (verb == K_START)
		return;
	if (verb == K_TRUNCATE) {
		L->clause = C_DLIST;
		return;
	}
	if (ti < 0)
		return;
	fl = types[ti].fl;
	if (fl & TY_NOSEL)
		L->flags |= L_NOSEL;
	if ((fl & TY_BODY) && verb == K_CREATE)
		s->body_ok = true;
	if (fl & TY_NONAME)
		return;
	if ((fl & TY_INDEX) && verb == K_CREATE)
		L->clause = C_IDXON;
	else
		L->clause = verb == K_DROP ? C_DLIST : C_TABLE;
}

/* Appends one part of the name being read (after ' ' or '.'). */
static void name_part(struct sm *s, const uint8_t *p, size_t n)
{
	struct pq_sql *m = s->m;

	if (memchr(p, 0, n))
		s->name_nul = true;
	if (!s->full && !s->name_over && !s->name_nul) {
		bool ok;

		if (s->name == N_NONE)
			ok = m->summary_len == 0 || sum_put(m, " ", 1);
		else
			ok = sum_put(m, ".", 1);
		if (!ok || !sum_put(m, p, n))
			s->name_over = true;
	}
	s->name = N_PART;
	s->name_gap = false;
}

/* A name starts at level L, which expects a table (C_TABLE, C_LIST, C_DLIST). */
static void name_begin(struct sm *s, struct lvl *L, const uint8_t *p, size_t n)
{
	s->name = N_NONE;
	s->name_mark = s->m->summary_len;
	s->name_nul = false;
	s->name_over = false;
	s->name_func = L->clause == C_LIST;
	s->name_next = L->clause == C_LIST ? C_AFTER : L->clause == C_DLIST ? C_DAFTER : C_NONE;
	name_part(s, p, n);
}

/* The name ended: a target (commit) or not. */
static void name_end(struct sm *s, bool commit)
{
	struct pq_sql *m = s->m;
	struct lvl *L = s->depth < LVL_MAX ? &s->lv[s->depth] : NULL;

	if (!commit || s->name_nul || s->name_over || s->full) {
		sum_cut(m, s->name_mark);
		if (commit && s->name_over && !s->name_nul && !s->full)
			sum_close(s);
	}
	if (L)
		L->clause = commit ? s->name_next : C_AFTER;
	s->name = N_NONE;
}

/* The current statement ended (';' at level 0, or the end of the scan). */
static void stmt_end(struct sm *s)
{
	if (s->stmt_open && s->m->statements == 1 && s->stmt_with && s->cte_dml)
		s->op_ambiguous = true;
	s->stmt_open = false;
	s->stmt_with = false;
	s->stmt_op_done = false;
	s->cte_dml = false;
	s->explain = false;
	s->ddl = false;
	s->body_ok = false;
	s->body = 0;
	s->depth = 0;
	memset(&s->lv[0], 0, sizeof(s->lv[0]));
	s->lv[0].kind = P_TOP;
	s->lv[0].start = A_ALL;
}

/*
 * A word where L->start allowed a statement to begin (a is that A_*):
 * true when the word was taken as that statement's start.
 */
static bool start_word(struct sm *s, struct lvl *L, uint8_t kw, uint8_t a, const uint8_t *p,
		       size_t n)
{
	switch (kw) {
	case K_WITH:
		L->with = W_CTES;
		L->stmt = K_WITH;
		return true;
	case K_INSERT:
	case K_UPDATE:
	case K_DELETE:
	case K_MERGE:
		if (a < A_DML)
			return false;
		if (L->kind == P_CTE)
			s->cte_dml = true;
		op_word(s, p, n);
		L->stmt = kw;
		L->flags |= L_QMODE;
		if (kw == K_UPDATE)
			L->clause = C_TABLE;
		return true;
	default:
		break;
	}
	if (a < A_ALL)
		return false;
	switch (kw) {
	case K_TABLE:
	case K_CALL:
	case K_COPY:
		op_word(s, p, n);
		L->clause = C_TABLE;
		break;
	case K_LOCK:
	case K_VACUUM:
	case K_ANALYZE:
	case K_ANALYSE:
		op_word(s, p, n);
		L->clause = C_DLIST;
		break;
	case K_CREATE:
	case K_ALTER:
	case K_DROP:
		op_begin_ext(s, p, n, kw, X_DDL, TYPES_ALL & ~TYPE_BIT(TYPE_TRANSACTION));
		s->ddl = true;
		break;
	case K_TRUNCATE:
		op_begin_ext(s, p, n, kw, X_TRUNCATE, TYPE_BIT(TYPE_TABLE));
		s->ddl = true;
		break;
	case K_START:
		op_begin_ext(s, p, n, kw, X_START, TYPE_BIT(TYPE_TRANSACTION));
		break;
	case K_EXPLAIN:
		op_word(s, p, n);
		s->explain = true;
		L->start = A_ALL;
		break;
	case K_GRANT:
	case K_REVOKE:
		op_word(s, p, n);
		L->flags |= L_NOSEL;
		break;
	case K_VALUES:
	case K_PREPARE:
	case K_DECLARE:
	case K_BEGIN:
	case K_COMMIT:
	case K_ROLLBACK:
	case K_ABORT:
	case K_END:
	case K_SAVEPOINT:
	case K_RELEASE:
	case K_SET:
	case K_SHOW:
	case K_RESET:
	case K_LISTEN:
	case K_NOTIFY:
	case K_UNLISTEN:
	case K_EXECUTE:
	case K_DEALLOCATE:
	case K_FETCH:
	case K_MOVE:
	case K_CLOSE:
	case K_DO:
	case K_CHECKPOINT:
	case K_DISCARD:
	case K_REFRESH:
	case K_REINDEX:
	case K_CLUSTER:
	case K_COMMENT:
		op_word(s, p, n);
		break;
	default:
		return false;
	}
	L->stmt = kw;
	return true;
}

/* '(' at level L (depth < LVL_MAX): opens a child level. */
static void sm_open(struct sm *s, struct lvl *L)
{
	uint8_t kind = P_QUERY;
	struct lvl *c;

	if (!(s->explain && s->depth == 0)) {	/* EXPLAIN (options): the start stays */
		L->start = A_NONE;
		if (L->with == W_CTES && (s->prev_kw == K_AS || s->prev_kw == K_MATERIALIZED)) {
			kind = P_CTE;
			L->with = W_AFTER;
		} else {
			L->with = W_NONE;
			if (L->clause == C_LIST) {
				kind = P_FROM;
				L->clause = C_AFTER;
			} else if (L->clause == C_TABLE && L->stmt == K_COPY) {
				kind = P_COPY;
				L->clause = C_NONE;
			}
		}
	}
	if (++s->depth >= LVL_MAX)
		return;
	c = &s->lv[s->depth];
	memset(c, 0, sizeof(*c));
	c->kind = kind;
	switch (kind) {
	case P_FROM:
		c->clause = C_LIST;
		c->flags = L_QMODE;
		c->start = A_QUERY;
		break;
	case P_CTE:
	case P_COPY:
		c->start = A_DML;
		break;
	default:
		c->start = A_QUERY;
		break;
	}
}

/* A word (not after '.') or a quoted identifier at level L. */
static void sm_word(struct sm *s, struct lvl *L, uint8_t kw, const uint8_t *p, size_t n)
{
	uint8_t fl = kws[kw].fl;

	if (s->explain && s->depth == 0) {
		if (kw == K_ANALYZE || kw == K_ANALYSE || kw == K_VERBOSE)
			return;
		s->explain = false;
	}
	if (L->with == W_AFTER) {	/* the main statement of a WITH */
		L->with = W_NONE;
		L->start = s->depth ? A_QUERY : A_ALL;
	}
	if (L->start) {
		uint8_t a = L->start;

		L->start = A_NONE;
		if (kw && start_word(s, L, kw, a, p, n))
			return;
	}
	if (kw == K_SELECT && !(L->flags & L_NOSEL) && s->prev_kw != K_ON) {
		op_word(s, p, n);
		if (!L->stmt)
			L->stmt = K_SELECT;
		L->flags |= L_QMODE;
		L->clause = C_NONE;
		return;
	}
	switch (L->clause) {
	case C_TABLE:
	case C_LIST:
	case C_DLIST:
		if (fl & F_END) {
			L->clause = C_NONE;
			break;
		}
		if (fl & F_RES)
			return;
		if (s->ddl && (kw == K_IF || kw == K_EXISTS))
			return;
		name_begin(s, L, p, n);
		return;
	case C_IDXON:
		if (kw == K_ON)
			L->clause = C_TABLE;
		return;
	case C_AFTER:
		if (kw == K_JOIN) {
			L->clause = C_LIST;
			L->flags |= L_JOIN;
			return;
		}
		if (fl & F_END)
			L->clause = C_NONE;
		break;
	default:
		break;
	}
	if (L->flags & L_QMODE) {
		switch (kw) {
		case K_FROM:
			if (s->prev_kw != K_DISTINCT) {	/* IS [NOT] DISTINCT FROM */
				L->clause = C_LIST;
				L->flags &= (uint8_t)~L_JOIN;
			}
			return;
		case K_JOIN:
			L->clause = C_LIST;
			L->flags |= L_JOIN;
			return;
		case K_INTO:
			L->clause = C_TABLE;
			return;
		case K_USING:	/* DELETE ... USING, MERGE ... USING; not JOIN ... USING */
			if ((L->stmt == K_DELETE || L->stmt == K_MERGE) && !(L->flags & L_JOIN))
				L->clause = C_LIST;
			return;
		default:
			break;
		}
	}
	if (s->depth == 0) {
		if (kw == K_AS && L->stmt == K_PREPARE)
			L->start = A_ALL;
		else if (kw == K_AS && L->stmt == K_CREATE)	/* CREATE TABLE/VIEW ... AS query */
			L->start = A_DML;
		else if (kw == K_FOR && L->stmt == K_DECLARE)
			L->start = A_ALL;
	}
}

/* One significant token: type T_*, bytes p[0..n). */
static void sm_token(struct sm *s, uint8_t type, const uint8_t *p, size_t n)
{
	uint8_t kw = K_NONE;
	struct lvl *L;

	if (type == T_WORD && s->prev_type != T_DOT)
		kw = kw_lookup(p, n);
	if (s->ext) {
		if (type == T_WORD && ext_word(s, kw, p, n))
			goto done;
		ext_end(s);
	}
	if (s->name != N_NONE) {
		if (s->name == N_PART && type == T_DOT) {
			s->name = N_DOT;
			s->name_gap = false;
			goto done;
		}
		if (s->name == N_DOT && (type == T_WORD || type == T_QIDENT)) {
			name_part(s, p, n);
			goto done;
		}
		name_end(s, !(type == T_LPAREN && s->name_func));
	}
	if (type == T_SEMI && s->depth == 0 && s->body == 0) {
		stmt_end(s);
		goto done;
	}
	if (!s->stmt_open) {
		s->stmt_open = true;
		s->m->statements++;
		s->stmt_with = kw == K_WITH;
	}
	if (s->body_ok) {	/* a SQL-standard body is not run here: not summarised */
		if (kw == K_BEGIN || kw == K_CASE)
			s->body++;
		else if (kw == K_END && s->body)
			s->body--;
		if (s->body || kw == K_END)
			goto done;
	}
	if (type == T_RPAREN) {
		if (s->depth)
			s->depth--;
		else
			s->lv[0].start = A_NONE;
		goto done;
	}
	if (s->depth >= LVL_MAX) {
		if (type == T_LPAREN)
			s->depth++;
		goto done;
	}
	L = &s->lv[s->depth];
	if (type == T_LPAREN) {
		sm_open(s, L);
		goto done;
	}
	if (type == T_WORD) {
		sm_word(s, L, kw, p, n);
		goto done;
	}
	/* a quoted identifier, a literal, a parameter or punctuation */
	s->explain = false;
	L->start = A_NONE;
	if (type == T_COMMA && L->with == W_AFTER) {
		L->with = W_CTES;
		goto done;
	}
	if (L->with == W_AFTER)
		L->with = W_NONE;
	if (type == T_QIDENT && (L->clause == C_TABLE || L->clause == C_LIST || L->clause == C_DLIST)) {
		name_begin(s, L, p, n);
		goto done;
	}
	if (type == T_COMMA && L->clause == C_AFTER)
		L->clause = C_LIST;
	else if (type == T_COMMA && L->clause == C_DAFTER)
		L->clause = C_DLIST;
	else if (L->clause == C_TABLE || L->clause == C_LIST || L->clause == C_DLIST)
		L->clause = C_NONE;
done:
	s->prev_type = type;
	s->prev_kw = kw;
}

/* The scan ended; truncated: early (the last name may be cut). */
static void sm_finish(struct sm *s, bool truncated)
{
	struct pq_sql *m = s->m;

	if (s->ext)
		ext_end(s);
	if (s->name != N_NONE)
		name_end(s, !truncated || (s->name == N_PART && s->name_gap));
	stmt_end(s);
	if (m->statements != 1 || s->op_ambiguous) {
		m->op[0] = 0;
		m->op_len = 0;
	}
}

/* ------------------------------------------------------------------ entry points */

void pq_sql_analyse(const char *q, size_t qlen, char *out, size_t cap, struct pq_sql *m)
{
	const uint8_t *b = (const uint8_t *)q;
	bool text = out && cap > 0, truncated = false;
	size_t lim, i = 0;
	struct sm s;

	if (!m) {
		if (text)
			out[0] = 0;
		return;
	}
	if (!q)
		qlen = 0;
	m->text_len = 0;
	m->text_truncated = false;
	m->parameterised = false;
	m->has_comment = false;
	m->statements = 0;
	m->summary_len = 0;
	m->summary[0] = 0;
	m->summary_truncated = false;
	m->op_len = 0;
	m->op[0] = 0;

	memset(&s, 0, sizeof(s));
	s.m = m;
	s.prev_type = T_WS;
	stmt_end(&s);

	lim = qlen < PQ_SQL_SCAN_MAX ? qlen : PQ_SQL_SCAN_MAX;
	while (i < lim) {
		struct tok t;
		size_t end = lex(b, i, lim, &t);
		bool lit;

		if (end == lim && lim < qlen) {	/* may be cut by the bound */
			truncated = true;
			break;
		}
		if (t.type == T_WORD && s.prev_type != T_DOT && end - i <= 5) {
			uint8_t kw = kw_lookup(b + i, end - i);

			if (kw == K_TRUE || kw == K_FALSE)
				t.type = T_BOOL;
		}
		lit = t.type == T_STRING || t.type == T_DOLLAR || t.type == T_NUMBER || t.type == T_BOOL;
		if (text) {
			size_t n = lit ? 1 : end - i;

			if (n > cap - 1 - m->text_len) {
				truncated = true;
				break;
			}
			if (lit)
				out[m->text_len] = '?';
			else
				memcpy(out + m->text_len, b + i, n);
			m->text_len += n;
		}
		if (t.type == T_COMMENT || t.comment)
			m->has_comment = true;
		if (t.type == T_PARAM)
			m->parameterised = true;
		if (t.type == T_WS || t.type == T_COMMENT) {
			if (s.name != N_NONE)
				s.name_gap = true;
		} else {
			sm_token(&s, t.type, b + i, end - i);
		}
		i = end;
	}
	if (text)
		out[m->text_len] = 0;
	m->text_truncated = truncated;
	sm_finish(&s, truncated);
}

/* Bytes kept by the sqlcommenter percent-encoding (RFC 3986 unreserved). */
static bool unreserved(uint8_t c)
{
	return is_alpha(c) || is_digit(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

static size_t enc_len(const char *v)
{
	size_t n = 0;

	for (; *v; v++)
		n += unreserved((uint8_t)*v) ? 1 : 3;
	return n;
}

static size_t put(char *out, size_t o, const char *s, size_t n)
{
	memcpy(out + o, s, n);
	return o + n;
}

static size_t put_enc(char *out, size_t o, const char *v)
{
	static const char hex[] = "0123456789ABCDEF";

	for (; *v; v++) {
		uint8_t c = (uint8_t)*v;

		if (unreserved(c)) {
			out[o++] = (char)c;
		} else {
			out[o++] = '%';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		}
	}
	return o;
}

size_t pq_sql_comment(const char *q, size_t qlen, const char *traceparent, const char *tracestate,
		      char *out, size_t cap)
{
	static const char tp_key[] = " /*traceparent='", ts_key[] = "',tracestate='", tail[] = "'*/";
	const uint8_t *b = (const uint8_t *)q;
	size_t i = 0, base = 0, need, o;
	bool semi = false, ts;

	if (!out || cap == 0)
		return 0;
	out[0] = 0;
	if (!traceparent || !*traceparent || !q || qlen == 0 || qlen > PQ_SQL_SCAN_MAX)
		return 0;
	/* Refuse a comment or an open literal anywhere; find the last token
	 * that is not whitespace: base is its end. */
	while (i < qlen) {
		struct tok t;
		size_t end = lex(b, i, qlen, &t);

		if (t.type == T_COMMENT || t.comment || t.open)
			return 0;
		if (t.type != T_WS)
			base = end;
		i = end;
	}
	/* A final ';' (a token: nothing is open) goes after the comment. */
	if (base && b[base - 1] == ';') {
		semi = true;
		for (base--; base && is_space(b[base - 1]); base--)
			;
	}
	if (!base)	/* nothing but whitespace and one ';' */
		return 0;
	ts = tracestate && *tracestate;
	need = base + sizeof(tp_key) - 1 + enc_len(traceparent) + sizeof(tail) - 1 + semi;
	if (ts)
		need += sizeof(ts_key) - 1 + enc_len(tracestate);
	if (need >= cap)
		return 0;
	o = put(out, 0, q, base);
	o = put(out, o, tp_key, sizeof(tp_key) - 1);
	o = put_enc(out, o, traceparent);
	if (ts) {
		o = put(out, o, ts_key, sizeof(ts_key) - 1);
		o = put_enc(out, o, tracestate);
	}
	o = put(out, o, tail, sizeof(tail) - 1);
	if (semi)
		out[o++] = ';';
	out[o] = 0;
	return o;
}
