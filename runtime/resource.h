/*
 * resource.h - the process's OpenTelemetry resource: service.name,
 * OTEL_RESOURCE_ATTRIBUTES, telemetry.sdk.*, process.*, host.name.
 *
 * Built once, lazily, on the exporter thread (it may allocate and read
 * /proc); rebuilt in a fork child (process.pid changes).
 */
#ifndef RT_RESOURCE_H
#define RT_RESOURCE_H

#include "span.h"

#define RT_RESOURCE_MAX_ATTRS 64
#define RT_RESOURCE_ARENA 8192

#define RT_SDK_NAME "otelpreload"
#define RT_SDK_LANGUAGE "c"		/* no semconv value for C: a custom one */
#define RT_SDK_VERSION "0.1.0"
#define RT_SCOPE_NAME "otelpreload"
#define RT_SCOPE_VERSION RT_SDK_VERSION

struct rt_resource {
	uint16_t nattrs;
	uint32_t dropped_attrs;
	struct rt_attr attrs[RT_RESOURCE_MAX_ATTRS];	/* owner RT_OWNER_SPAN */
	uint32_t arena_used;
	char arena[RT_RESOURCE_ARENA];			/* keys and values */
};

/*
 * Fill res from the environment values given (any may be NULL):
 * service_name = OTEL_SERVICE_NAME, resource_attrs = OTEL_RESOURCE_ATTRIBUTES.
 * exe is the executable's base name, host the host name, pid the process id.
 * OTEL_SERVICE_NAME wins over service.name in the attribute list; the
 * default is "unknown_service:<exe>". A list with a decoding error is
 * discarded whole (warned once). Can't fail.
 */
void rt_resource_build(struct rt_resource *res, const char *service_name,
		       const char *resource_attrs, const char *exe,
		       const char *host, int64_t pid);

/* The service.name value of res (never NULL once built). */
const char *rt_resource_service_name(const struct rt_resource *res);

#endif
