/*
 * dns.c - getaddrinfo: one CLIENT span per name lookup.
 *
 * There is no semantic convention for a DNS span; this one is the
 * project's design (FIELD-NOTES 8): name "getaddrinfo", attributes
 * dns.question.name and dns.answers (the distinct addresses returned), and
 * on failure error.type named after the getaddrinfo code with status Error.
 * Lookups of IP literals, AI_NUMERICHOST lookups and lookups without a
 * node (bind addresses) are not DNS and make no span.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <string.h>

#include "../runtime/context.h"
#include "../runtime/span.h"
#include "curl_hk.h"
#include "hook.h"

#define MAX_ANSWERS 16

static bool is_ip_literal(const char *node)
{
	unsigned char buf[sizeof(struct in6_addr)];

	return inet_pton(AF_INET, node, buf) == 1 || inet_pton(AF_INET6, node, buf) == 1;
}

/* error.type for a getaddrinfo failure (names of the EAI_* codes). */
static const char *eai_name(int rc, int err)
{
	switch (rc) {
	case EAI_NONAME: return "host_not_found";
	case EAI_AGAIN: return "temporary_failure";
	case EAI_FAIL: return "non_recoverable_failure";
	case EAI_NODATA: return "no_data";
	case EAI_ADDRFAMILY: return "no_address_for_family";
	case EAI_FAMILY: return "family_not_supported";
	case EAI_SOCKTYPE: return "socktype_not_supported";
	case EAI_SERVICE: return "service_not_found";
	case EAI_BADFLAGS: return "bad_flags";
	case EAI_MEMORY: return "out_of_memory";
	case EAI_OVERFLOW: return "overflow";
	case EAI_SYSTEM: return hk_errno_name(err);
	default: return "_OTHER";
	}
}

static void record_answers(struct rt_span *sp, const struct addrinfo *ai)
{
	char bufs[MAX_ANSWERS][INET6_ADDRSTRLEN];
	const char *vals[MAX_ANSWERS];
	size_t n = 0;

	for (; ai && n < MAX_ANSWERS; ai = ai->ai_next) {
		const void *a;
		bool dup = false;

		if (ai->ai_family == AF_INET && ai->ai_addr)
			a = &((const struct sockaddr_in *)ai->ai_addr)->sin_addr;
		else if (ai->ai_family == AF_INET6 && ai->ai_addr)
			a = &((const struct sockaddr_in6 *)ai->ai_addr)->sin6_addr;
		else
			continue;
		if (!inet_ntop(ai->ai_family, a, bufs[n], sizeof(bufs[n])))
			continue;
		/* One entry per address, not per socktype. */
		for (size_t i = 0; i < n && !dup; i++)
			dup = strcmp(vals[i], bufs[n]) == 0;
		if (!dup) {
			vals[n] = bufs[n];
			n++;
		}
	}
	rt_span_set_strarr(sp, "dns.answers", vals, n);
}

HK_EXPORT int getaddrinfo(const char *node, const char *service, const struct addrinfo *hints,
			  struct addrinfo **res)
{
	struct rt_span *sp = NULL;
	int saved = errno, rc, err;

	if (!hk_enter_checked(PL_FAM_NET))
		return PL_REAL(getaddrinfo)(node, service, hints, res);
	if (node && !(hints && (hints->ai_flags & AI_NUMERICHOST)) && !is_ip_literal(node)) {
		struct rt_ctx parent;
		bool curl = !rt_ctx_current_span(&parent) && hk_curl_dns_parent(node, &parent);

		sp = rt_span_start("getaddrinfo", RT_KIND_CLIENT, curl ? &parent : NULL, 0);
		rt_span_set_cstr(sp, "dns.question.name", node);
	}
	errno = saved;
	rc = PL_REAL(getaddrinfo)(node, service, hints, res);
	err = errno;
	if (sp) {
		if (rc == 0) {
			record_answers(sp, *res);
		} else {
			rt_span_set_cstr(sp, "error.type", eai_name(rc, err));
			/* Not gai_strerror: it may take locale locks. */
			rt_span_set_status(sp, RT_STATUS_ERROR, eai_name(rc, err));
		}
		rt_span_end(sp, 0);
	}
	hk_leave(PL_FAM_NET);
	errno = err;
	return rc;
}
