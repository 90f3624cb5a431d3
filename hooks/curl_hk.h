/*
 * curl_hk.h - the libcurl hooks' process-level state across fork.
 */
#ifndef HK_CURL_HK_H
#define HK_CURL_HK_H

/* pthread_atfork handlers: the hooks' locks are held across fork, and the
 * child forgets the parent's transfers in flight. */
void hk_curl_fork_prepare(void);
void hk_curl_fork_parent(void);
void hk_curl_fork_child(void);

#include <stdbool.h>

#include "../runtime/ctx.h"

/* The transfer in flight whose URL names host node, as the parent for a
 * DNS span made on a thread with no context of its own (libcurl's
 * resolver thread). False when there is none. */
bool hk_curl_dns_parent(const char *node, struct rt_ctx *out);

#endif
