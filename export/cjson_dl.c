/*
 * cjson_dl.c - dlopen'ed cJSON and the text helpers shared by the encoders
 * (see cjson_dl.h).
 *
 * DESIGN: one pthread_once runs load_once(): dlopen(RTLD_LAZY|RTLD_LOCAL),
 * resolve every symbol into a local table, and publish it into ex_cj only
 * when all required ones were found. A missing library is not an error for
 * the process: the JSON encoders then return -ENOSYS. The handle is kept
 * open for the life of the process (cJSON's code must stay mapped while
 * ex_cj points into it).
 *
 * THREADS: pthread_once orders the writes to ex_cj before any caller that
 * saw ex_cjson_load() return true. The UTF-8, JSON and number helpers are
 * pure functions.
 */
#include "cjson_dl.h"

#include <dlfcn.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct ex_cjson ex_cj;

static pthread_once_t load_once_ctl = PTHREAD_ONCE_INIT;
static bool loaded;			/* written in load_once() only */

/* One symbol to resolve: where it goes in struct ex_cjson. */
struct sym {
	const char *name;
	size_t off;
	bool required;
};

#define SYM(n, m, r) { n, offsetof(struct ex_cjson, m), r }

static const struct sym syms[] = {
	SYM("cJSON_Parse", parse, true),
	SYM("cJSON_ParseWithLength", parse_with_length, false),	/* 1.7.13+ */
	SYM("cJSON_GetObjectItemCaseSensitive", get_object_item, true),
	SYM("cJSON_GetArraySize", get_array_size, true),
	SYM("cJSON_GetArrayItem", get_array_item, true),
	SYM("cJSON_GetStringValue", get_string_value, true),
	SYM("cJSON_GetNumberValue", get_number_value, true),
	SYM("cJSON_IsString", is_string, true),
	SYM("cJSON_IsNumber", is_number, true),
	SYM("cJSON_IsObject", is_object, true),
	SYM("cJSON_IsArray", is_array, true),
	SYM("cJSON_IsBool", is_bool, true),
	SYM("cJSON_IsTrue", is_true, true),
	SYM("cJSON_CreateObject", create_object, true),
	SYM("cJSON_CreateArray", create_array, true),
	SYM("cJSON_CreateString", create_string, true),
	SYM("cJSON_CreateRaw", create_raw, true),
	SYM("cJSON_CreateNumber", create_number, true),
	SYM("cJSON_CreateBool", create_bool, true),
	SYM("cJSON_AddItemToArray", add_item_to_array, true),
	SYM("cJSON_AddItemToObject", add_item_to_object, true),
	SYM("cJSON_AddItemToObjectCS", add_item_to_object_cs, true),
	SYM("cJSON_PrintUnformatted", print_unformatted, true),
	SYM("cJSON_Delete", delete_item, true),
	SYM("cJSON_free", free, true),
};

/* Resolve everything into a scratch table; publish it only when complete.
 * Runs once. Leaves loaded false on any failure. */
static void load_once(void)
{
	struct ex_cjson t;
	void *h, *fn;
	size_t i;

	h = dlopen(EX_CJSON_SONAME, RTLD_LAZY | RTLD_LOCAL);
	if (!h)
		return;
	memset(&t, 0, sizeof(t));
	for (i = 0; i < sizeof(syms) / sizeof(syms[0]); i++) {
		fn = dlsym(h, syms[i].name);
		if (!fn && syms[i].required)
			goto missing;
		/* POSIX: a function pointer and void * have the same size and
		 * representation, which dlsym itself relies on. */
		memcpy((char *)&t + syms[i].off, &fn, sizeof(fn));
	}
	ex_cj = t;
	loaded = true;
	return;
missing:
	dlclose(h);
}

/* See cjson_dl.h. */
bool ex_cjson_load(void)
{
	if (pthread_once(&load_once_ctl, load_once) != 0)
		return false;
	return loaded;
}

/*
 * The well-formed sequence at s (n >= 1 bytes readable): returns its length.
 * When ill-formed returns 0 and sets *skip to the length of the maximal
 * subpart to replace (at least 1). Ranges per Unicode table 3-7.
 */
static size_t utf8_seq(const uint8_t *s, size_t n, size_t *skip)
{
	uint8_t c = s[0], lo = 0x80, hi = 0xBF;
	size_t need, i;

	if (c < 0x80)
		return 1;
	if (c < 0xC2) {			/* stray continuation, or overlong */
		*skip = 1;
		return 0;
	} else if (c < 0xE0) {
		need = 1;
	} else if (c < 0xF0) {
		need = 2;
		if (c == 0xE0)
			lo = 0xA0;		/* no overlongs */
		else if (c == 0xED)
			hi = 0x9F;		/* no surrogates */
	} else if (c < 0xF5) {
		need = 3;
		if (c == 0xF0)
			lo = 0x90;		/* no overlongs */
		else if (c == 0xF4)
			hi = 0x8F;		/* nothing past U+10FFFF */
	} else {
		*skip = 1;
		return 0;
	}
	for (i = 1; i <= need; i++) {
		if (i >= n || s[i] < lo || s[i] > hi) {
			*skip = i;
			return 0;
		}
		lo = 0x80;
		hi = 0xBF;
	}
	return need + 1;
}

/* Bytes at the start of s[0..n) that are all ASCII, 8 at a time; the last
 * (partial) word is read overlapping the one before, never past n. */
static size_t ascii_prefix(const uint8_t *s, size_t n)
{
	size_t i = 0;
	uint64_t w;
	uint32_t a, b;

	while (n - i >= 8) {
		memcpy(&w, s + i, 8);
		if (w & 0x8080808080808080ull)
			break;
		i += 8;
	}
	if (i == n)
		return n;
	if (n >= 8 && i == n - (n & 7)) {
		memcpy(&w, s + n - 8, 8);
		if (!(w & 0x8080808080808080ull))
			return n;
	} else if (n < 8 && n >= 4) {
		memcpy(&a, s, 4);
		memcpy(&b, s + n - 4, 4);
		if (!((a | b) & 0x80808080u))
			return n;
	}
	while (i < n && s[i] < 0x80)
		i++;
	return i;
}

/* See cjson_dl.h. */
bool ex_utf8_valid(const uint8_t *s, size_t n)
{
	size_t i = ascii_prefix(s, n), k, skip;

	while (i < n) {
		if (s[i] < 0x80) {
			i++;
			continue;
		}
		k = utf8_seq(s + i, n - i, &skip);
		if (!k)
			return false;
		i += k;
	}
	return true;
}

/* See cjson_dl.h. */
size_t ex_utf8_repaired_len(const uint8_t *s, size_t n)
{
	size_t i = 0, out = 0, k, skip;

	while (i < n) {
		k = utf8_seq(s + i, n - i, &skip);
		if (k) {
			i += k;
			out += k;
		} else {
			i += skip;
			out += 3;
		}
	}
	return out;
}

/* See cjson_dl.h. */
size_t ex_utf8_repair(uint8_t *dst, const uint8_t *s, size_t n)
{
	size_t i = 0, out = 0, k, skip;

	while (i < n) {
		k = utf8_seq(s + i, n - i, &skip);
		if (k) {
			memcpy(dst + out, s + i, k);
			i += k;
			out += k;
		} else {
			dst[out++] = 0xEF;	/* U+FFFD */
			dst[out++] = 0xBF;
			dst[out++] = 0xBD;
			i += skip;
		}
	}
	return out;
}

/* True for bytes a JSON string can hold as they are (RFC 8259 section 7),
 * ASCII only: multi-byte sequences are checked separately. */
static inline bool json_plain(uint8_t c)
{
	return c >= 0x20 && c < 0x80 && c != '"' && c != '\\';
}

/* See cjson_dl.h. */
void ex_json_put_str(struct ex_buf *b, const char *str, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const uint8_t *s = (const uint8_t *)str;
	size_t i = 0, run, k, skip;
	char esc[6];

	ex_buf_putc(b, '"');
	while (i < n) {
		run = i;
		while (run < n && json_plain(s[run]))
			run++;
		if (run > i) {
			ex_buf_append(b, s + i, run - i);
			i = run;
			continue;
		}
		if (s[i] >= 0x80) {
			k = utf8_seq(s + i, n - i, &skip);
			if (k) {
				ex_buf_append(b, s + i, k);
				i += k;
			} else {
				ex_buf_append(b, "\xEF\xBF\xBD", 3);
				i += skip;
			}
			continue;
		}
		esc[0] = '\\';
		switch (s[i]) {
		case '"': esc[1] = '"'; k = 2; break;
		case '\\': esc[1] = '\\'; k = 2; break;
		case '\b': esc[1] = 'b'; k = 2; break;
		case '\f': esc[1] = 'f'; k = 2; break;
		case '\n': esc[1] = 'n'; k = 2; break;
		case '\r': esc[1] = 'r'; k = 2; break;
		case '\t': esc[1] = 't'; k = 2; break;
		default:
			esc[1] = 'u';
			esc[2] = '0';
			esc[3] = '0';
			esc[4] = hex[s[i] >> 4];
			esc[5] = hex[s[i] & 0xf];
			k = 6;
			break;
		}
		ex_buf_append(b, esc, k);
		i++;
	}
	ex_buf_putc(b, '"');
}

/* See cjson_dl.h. */
size_t ex_fmt_double(char *out, double d)
{
	char tmp[40];
	size_t i, o;
	int prec, n = 0;

	if (isnan(d)) {
		memcpy(out, "NaN", 4);
		return 3;
	}
	if (isinf(d)) {
		if (d < 0) {
			memcpy(out, "-Infinity", 10);
			return 9;
		}
		memcpy(out, "Infinity", 9);
		return 8;
	}
	/* Printed and parsed back in the same (thread's) locale, so the round
	 * trip test is consistent; the decimal point is normalised after. */
	for (prec = 15; prec <= 17; prec++) {
		n = snprintf(tmp, sizeof(tmp), "%.*g", prec, d);
		if (n <= 0 || (size_t)n >= sizeof(tmp))
			break;
		if (prec == 17 || strtod(tmp, NULL) == d)
			break;
	}
	if (n <= 0 || (size_t)n >= sizeof(tmp)) {
		memcpy(out, "0", 2);		/* not reached with %g */
		return 1;
	}
	/* %g yields [-]digits[<point>digits][e(+|-)digits]; anything else is
	 * the locale's decimal point (maybe several bytes): make it one '.'. */
	for (i = 0, o = 0; i < (size_t)n && o < 31; i++) {
		char c = tmp[i];

		if ((c >= '0' && c <= '9') || c == '-' || c == '+' || c == 'e' || c == 'E') {
			out[o++] = c;
		} else if (o == 0 || out[o - 1] != '.') {
			out[o++] = '.';
		}
	}
	out[o] = '\0';
	return o;
}
