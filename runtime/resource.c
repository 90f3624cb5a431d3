/*
 * resource.c - builds the process resource (OTel resource semantic
 * conventions: service.*, telemetry.sdk.*, process.*, host.*).
 *
 * Precedence (OTel SDK environment variable spec): OTEL_SERVICE_NAME over
 * service.name in OTEL_RESOURCE_ATTRIBUTES; OTEL_RESOURCE_ATTRIBUTES over
 * the detected process/host attributes; telemetry.sdk.* are the SDK's own.
 */
#include "resource.h"

#include <stdio.h>
#include <string.h>

#include "kvlist.h"
#include "log.h"

static const char *res_copy(struct rt_resource *res, const char *s, size_t len)
{
	char *d;

	if (len + 1 > RT_RESOURCE_ARENA - res->arena_used)
		return NULL;
	d = res->arena + res->arena_used;
	memcpy(d, s, len);
	d[len] = 0;
	res->arena_used += (uint32_t)len + 1;
	return d;
}

static struct rt_attr *res_find(struct rt_resource *res, const char *key)
{
	for (uint16_t i = 0; i < res->nattrs; i++)
		if (strcmp(res->attrs[i].key, key) == 0)
			return &res->attrs[i];
	return NULL;
}

/* Set key to a string (replacing an earlier value). */
static void res_set_str(struct rt_resource *res, const char *key, size_t klen,
			const char *val, size_t vlen)
{
	struct rt_attr *a;
	const char *k, *v;
	char kbuf[256];

	if (klen >= sizeof(kbuf)) {
		res->dropped_attrs++;
		return;
	}
	memcpy(kbuf, key, klen);
	kbuf[klen] = 0;
	a = res_find(res, kbuf);
	v = res_copy(res, val, vlen);
	if (!v) {
		res->dropped_attrs++;
		return;
	}
	if (!a) {
		if (res->nattrs >= RT_RESOURCE_MAX_ATTRS || !(k = res_copy(res, key, klen))) {
			res->dropped_attrs++;
			return;
		}
		a = &res->attrs[res->nattrs++];
		a->key = k;
		a->owner = RT_OWNER_SPAN;
	}
	a->type = RT_V_STR;
	a->s = v;
	a->len = (uint16_t)(vlen > UINT16_MAX ? UINT16_MAX : vlen);
}

static void res_set_cstr(struct rt_resource *res, const char *key, const char *val)
{
	res_set_str(res, key, strlen(key), val, strlen(val));
}

static void res_set_int(struct rt_resource *res, const char *key, int64_t val)
{
	struct rt_attr *a = res_find(res, key);
	const char *k;

	if (!a) {
		if (res->nattrs >= RT_RESOURCE_MAX_ATTRS || !(k = res_copy(res, key, strlen(key)))) {
			res->dropped_attrs++;
			return;
		}
		a = &res->attrs[res->nattrs++];
		a->key = k;
		a->owner = RT_OWNER_SPAN;
	}
	a->type = RT_V_INT;
	a->v.i = val;
	a->s = NULL;
	a->len = 0;
}

static void add_member(const char *key, size_t klen, const char *val, size_t vlen, void *arg)
{
	res_set_str(arg, key, klen, val, vlen);
}

void rt_resource_build(struct rt_resource *res, const char *service_name,
		       const char *resource_attrs, const char *exe,
		       const char *host, int64_t pid)
{
	static bool warned;
	char scratch[RT_RESOURCE_ARENA];
	char def[300];

	memset(res, 0, offsetof(struct rt_resource, arena));
	res->arena_used = 0;

	/* The SDK's own attributes and service.name first, so that no user
	 * list, however long, can crowd them out of the table; then the
	 * detected ones; the user's list overrides those (not service.name
	 * when OTEL_SERVICE_NAME is set, not telemetry.sdk.*). */
	res_set_cstr(res, "service.name", "");
	res_set_cstr(res, "telemetry.sdk.name", RT_SDK_NAME);
	res_set_cstr(res, "telemetry.sdk.language", RT_SDK_LANGUAGE);
	res_set_cstr(res, "telemetry.sdk.version", RT_SDK_VERSION);
	if (host && *host)
		res_set_cstr(res, "host.name", host);
	res_set_int(res, "process.pid", pid);
	if (exe && *exe)
		res_set_cstr(res, "process.executable.name", exe);

	if (resource_attrs && *resource_attrs &&
	    !rt_kvlist_parse(resource_attrs, scratch, sizeof(scratch), add_member, res))
		rt_warn_once(&warned, "OTEL_RESOURCE_ATTRIBUTES is malformed; ignored");

	if (service_name && *service_name) {
		res_set_cstr(res, "service.name", service_name);
	} else if (!res_find(res, "service.name")->len) {
		snprintf(def, sizeof(def), "unknown_service:%s", exe && *exe ? exe : "");
		res_set_cstr(res, "service.name", def);
	}
	res_set_cstr(res, "telemetry.sdk.name", RT_SDK_NAME);
	res_set_cstr(res, "telemetry.sdk.language", RT_SDK_LANGUAGE);
	res_set_cstr(res, "telemetry.sdk.version", RT_SDK_VERSION);
}

const char *rt_resource_service_name(const struct rt_resource *res)
{
	for (uint16_t i = 0; i < res->nattrs; i++)
		if (strcmp(res->attrs[i].key, "service.name") == 0)
			return res->attrs[i].s;
	return "unknown_service";
}
