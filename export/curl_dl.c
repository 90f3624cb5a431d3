/*
 * curl_dl.c - loads libcurl lazily (see curl_dl.h).
 */
#include "curl_dl.h"

#include <dlfcn.h>
#include <stdint.h>

#include "../runtime/log.h"

struct ex_curl ex_curl;
void *ex_curl_handle;

static int state;		/* 0 untried, 1 loaded, -1 unavailable */

#define SYM(field, name)						\
	do {								\
		*(void **)&ex_curl.field = dlsym(h, name);		\
		if (!ex_curl.field)					\
			goto fail;					\
	} while (0)

/*
 * OpenSSL registers OPENSSL_cleanup with atexit on its first initialisation.
 * When that first initialisation is ours, it may run on the exporter thread
 * while the program is already exiting (a short-lived tool that made one
 * span): the handler registered mid-exit then runs while OpenSSL is still
 * being set up on our thread, and the host crashes. Initialising OpenSSL
 * first with OPENSSL_INIT_NO_ATEXIT (OpenSSL >= 1.1.1) means it registers no
 * cleanup at all; the process exit reclaims everything anyway. When the
 * application initialised OpenSSL already, this changes nothing.
 */
static void no_openssl_atexit(void)
{
	int (*init)(uint64_t, const void *);
	void *h = dlopen("libcrypto.so.3", RTLD_LAZY | RTLD_LOCAL | RTLD_NOLOAD);

	if (!h)
		h = dlopen("libcrypto.so.1.1", RTLD_LAZY | RTLD_LOCAL | RTLD_NOLOAD);
	if (!h)
		return;
	*(void **)&init = dlsym(h, "OPENSSL_init_crypto");
	if (init)
		init(0x00080000ull /* OPENSSL_INIT_NO_ATEXIT */, NULL);
	dlclose(h);
}

bool ex_curl_load(void)
{
	static bool warned;
	void *h;

	if (state)
		return state > 0;
	h = dlopen("libcurl.so.4", RTLD_LAZY | RTLD_LOCAL);
	if (!h)
		h = dlopen("libcurl-gnutls.so.4", RTLD_LAZY | RTLD_LOCAL);
	if (!h)
		goto fail;
	/* Before libcurl runs any code: its calls to its own exports reach
	 * the hooks, which need to know where to forward them. */
	__atomic_store_n(&ex_curl_handle, h, __ATOMIC_RELEASE);
	SYM(global_init, "curl_global_init");
	SYM(easy_init, "curl_easy_init");
	SYM(easy_setopt, "curl_easy_setopt");
	SYM(easy_getinfo, "curl_easy_getinfo");
	SYM(easy_cleanup, "curl_easy_cleanup");
	SYM(easy_reset, "curl_easy_reset");
	SYM(easy_strerror, "curl_easy_strerror");
	SYM(slist_append, "curl_slist_append");
	SYM(slist_free_all, "curl_slist_free_all");
	SYM(multi_init, "curl_multi_init");
	SYM(multi_add_handle, "curl_multi_add_handle");
	SYM(multi_remove_handle, "curl_multi_remove_handle");
	SYM(multi_perform, "curl_multi_perform");
	SYM(multi_wait, "curl_multi_wait");
	SYM(multi_info_read, "curl_multi_info_read");
	SYM(multi_cleanup, "curl_multi_cleanup");
	SYM(getdate, "curl_getdate");
	SYM(url, "curl_url");
	SYM(url_set, "curl_url_set");
	SYM(url_get, "curl_url_get");
	SYM(url_cleanup, "curl_url_cleanup");
	SYM(free, "curl_free");
	no_openssl_atexit();
	/* curl_global_init is reference counted and, in libcurl >= 7.84
	 * built thread-safe (Debian's is), safe against an application
	 * calling it at the same time. The library is never unloaded and
	 * curl_global_cleanup is never called from here. */
	if (ex_curl.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		goto fail;
	state = 1;
	return true;
fail:
	state = -1;
	rt_warn_once(&warned, "libcurl (libcurl.so.4, 7.62 or newer) is not available; "
		     "OTLP/HTTP and Zipkin export are off (install libcurl4)");
	return false;
}
