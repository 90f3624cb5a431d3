/*
 * curl_dl.h - libcurl, loaded with dlopen(RTLD_LOCAL) on the first OTLP or
 * Zipkin export. Never a DT_NEEDED of the library: a traced process that
 * exports nothing over HTTP never maps it.
 */
#ifndef EX_CURL_DL_H
#define EX_CURL_DL_H

#include <stdbool.h>

#define CURL_DISABLE_TYPECHECK
#include <curl/curl.h>

struct ex_curl {
	CURLcode (*global_init)(long);
	CURL *(*easy_init)(void);
	CURLcode (*easy_setopt)(CURL *, CURLoption, ...);
	CURLcode (*easy_getinfo)(CURL *, CURLINFO, ...);
	void (*easy_cleanup)(CURL *);
	void (*easy_reset)(CURL *);
	const char *(*easy_strerror)(CURLcode);
	struct curl_slist *(*slist_append)(struct curl_slist *, const char *);
	void (*slist_free_all)(struct curl_slist *);
	CURLM *(*multi_init)(void);
	CURLMcode (*multi_add_handle)(CURLM *, CURL *);
	CURLMcode (*multi_remove_handle)(CURLM *, CURL *);
	CURLMcode (*multi_perform)(CURLM *, int *);
	CURLMcode (*multi_wait)(CURLM *, struct curl_waitfd *, unsigned int, int, int *);
	CURLMsg *(*multi_info_read)(CURLM *, int *);
	CURLMcode (*multi_cleanup)(CURLM *);
	time_t (*getdate)(const char *, const time_t *);
	CURLU *(*url)(void);
	CURLUcode (*url_set)(CURLU *, CURLUPart, const char *, unsigned int);
	CURLUcode (*url_get)(CURLU *, CURLUPart, char **, unsigned int);
	void (*url_cleanup)(CURLU *);
	void (*free)(void *);
};

extern struct ex_curl ex_curl;

/* The dlopen handle of the exporter's libcurl, NULL until loaded. libcurl
 * calls its own exports through the PLT, which reach the libcurl hooks
 * (hooks/curl.c): on the exporter's thread they forward into this copy. */
extern void *ex_curl_handle;

/* Load libcurl.so.4 (falling back to the GnuTLS flavour) and initialise it
 * once. Exporter thread only. False when it is not installed or too old
 * (the URL API needs 7.62). */
bool ex_curl_load(void);

#endif
