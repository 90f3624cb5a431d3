/*
 * cjson_dl.h - cJSON loaded on demand with dlopen, plus the text helpers
 * (UTF-8 repair, JSON string escaping, C-locale number formatting) that the
 * encoders share.
 *
 * DESIGN: cJSON is never linked (FIELD-NOTES 1): linked, it would be mapped
 * into every traced process and share its global allocator hooks with an
 * application that also uses cJSON. ex_cjson_load() dlopens libcjson.so.1
 * with RTLD_LOCAL once and fills ex_cj; <cjson/cJSON.h> is used for the
 * types and constants only. cJSON_InitHooks is never called, so cJSON
 * allocates with the process's malloc, and memory it returns (printed text)
 * is released with ex_cj.free.
 *
 * THREADS: ex_cjson_load() is safe from any thread (pthread_once). ex_cj is
 * written once, before the first true return, and read-only afterwards.
 * The text helpers keep no state.
 */
#ifndef EX_CJSON_DL_H
#define EX_CJSON_DL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "buf.h"

#define EX_CJSON_SONAME "libcjson.so.1"

/* The cJSON functions we use, resolved with dlsym. Every member is set
 * after a successful ex_cjson_load(), except parse_with_length, which is
 * NULL with a cJSON older than 1.7.13. */
struct ex_cjson {
	/* parsing (the transport reads OTLP/JSON responses) */
	cJSON *(*parse)(const char *text);
	cJSON *(*parse_with_length)(const char *text, size_t len);	/* optional */
	cJSON *(*get_object_item)(const cJSON *obj, const char *key);	/* case-sensitive */
	int (*get_array_size)(const cJSON *arr);
	cJSON *(*get_array_item)(const cJSON *arr, int i);
	char *(*get_string_value)(const cJSON *item);	/* NULL unless a string */
	double (*get_number_value)(const cJSON *item);	/* NaN unless a number */
	cJSON_bool (*is_string)(const cJSON *item);
	cJSON_bool (*is_number)(const cJSON *item);
	cJSON_bool (*is_object)(const cJSON *item);
	cJSON_bool (*is_array)(const cJSON *item);
	cJSON_bool (*is_bool)(const cJSON *item);
	cJSON_bool (*is_true)(const cJSON *item);
	/* building and printing */
	cJSON *(*create_object)(void);
	cJSON *(*create_array)(void);
	cJSON *(*create_string)(const char *s);	/* copies s */
	cJSON *(*create_raw)(const char *json);	/* copies, printed verbatim */
	cJSON *(*create_number)(double d);
	cJSON *(*create_bool)(cJSON_bool b);
	cJSON_bool (*add_item_to_array)(cJSON *arr, cJSON *item);
	cJSON_bool (*add_item_to_object)(cJSON *obj, const char *key, cJSON *item);	/* copies key */
	cJSON_bool (*add_item_to_object_cs)(cJSON *obj, const char *key, cJSON *item);	/* key must outlive obj */
	char *(*print_unformatted)(const cJSON *item);
	void (*delete_item)(cJSON *item);	/* cJSON_Delete: the item and its children */
	void (*free)(void *p);		/* for print_unformatted's result */
};

extern struct ex_cjson ex_cj;

/*
 * Load libcjson.so.1 and resolve ex_cj, once per process. Returns true when
 * ex_cj is usable; false when the library or one of the required symbols is
 * missing (the handle is closed again and every later call returns false).
 */
bool ex_cjson_load(void);

/* True when s[0..n) is well-formed UTF-8 (no overlongs, no surrogates,
 * nothing above U+10FFFF). NUL bytes are valid. Can't fail. */
bool ex_utf8_valid(const uint8_t *s, size_t n);

/* Length of s[0..n) after ex_utf8_repair(): each maximal ill-formed
 * subsequence counts as U+FFFD (3 bytes). Can't fail. */
size_t ex_utf8_repaired_len(const uint8_t *s, size_t n);

/* Copy s[0..n) to dst, replacing each maximal ill-formed subsequence with
 * U+FFFD (Unicode's "substitution of maximal subparts"). dst must hold
 * ex_utf8_repaired_len(s, n) bytes. Returns the bytes written. */
size_t ex_utf8_repair(uint8_t *dst, const uint8_t *s, size_t n);

/* Append s[0..n) to b as a JSON string, quotes included: '"', '\\' and
 * control characters escaped, invalid UTF-8 replaced by U+FFFD, NUL as
 * \u0000. s may be NULL when n is 0. On failure b is marked failed. */
void ex_json_put_str(struct ex_buf *b, const char *s, size_t n);

/* Format d in the shortest "%.*g" form (15 to 17 digits) that reads back
 * as the same double, with '.' as the decimal point whatever the thread's
 * locale. NaN and infinities give "NaN", "Infinity", "-Infinity" (the
 * proto3 JSON spellings). out must hold 32 bytes; returns the length. */
size_t ex_fmt_double(char *out, double d);

#endif
