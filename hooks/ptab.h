/*
 * ptab.h - records keyed by an API's handle pointer (a PGconn, a CURL easy
 * handle), for the libpq and libcurl hooks.
 *
 * A record starts with struct hk_pnode; hk_ptab_get allocates it zeroed
 * (calloc, outside the lock) the first time a handle is seen. The table's
 * spin lock is held only while a chain is walked or relinked, never
 * across a call into the API, so it needs no more than a spin.
 *
 * THREADS: the table is shared; a record belongs to the thread using its
 * handle (both libraries require a handle to be used by one thread at a
 * time). Across fork: lock in prepare, unlock in parent and child.
 */
#ifndef HK_PTAB_H
#define HK_PTAB_H

#include <stdbool.h>
#include <stddef.h>

#define HK_PTAB_BUCKETS 256

struct hk_pnode {
	const void *key;
	struct hk_pnode *next;
};

struct hk_ptab {
	struct hk_pnode *b[HK_PTAB_BUCKETS];
	int lock;
};

void hk_spin_lock(int *l);
void hk_spin_unlock(int *l);

/* key's record; with size > 0 one of size bytes is created when there is
 * none (NULL when out of memory). key NULL: NULL. */
void *hk_ptab_get(struct hk_ptab *t, const void *key, size_t size);

/* Unlink and return key's record (NULL when there is none); the caller
 * frees it. */
void *hk_ptab_take(struct hk_ptab *t, const void *key);

/* Call fn on every record. The caller holds t->lock (a fork child). */
void hk_ptab_each_locked(struct hk_ptab *t, void (*fn)(void *rec));

#endif
