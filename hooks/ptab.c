/*
 * ptab.c - records keyed by handle pointers (see ptab.h).
 */
#include "ptab.h"

#include <sched.h>
#include <stdint.h>
#include <stdlib.h>

void hk_spin_lock(int *l)
{
	while (__atomic_exchange_n(l, 1, __ATOMIC_ACQUIRE))
		sched_yield();
}

void hk_spin_unlock(int *l)
{
	__atomic_store_n(l, 0, __ATOMIC_RELEASE);
}

static unsigned bucket(const void *key)
{
	uintptr_t v = (uintptr_t)key;

	return (unsigned)((v >> 4) ^ (v >> 12)) % HK_PTAB_BUCKETS;
}

void *hk_ptab_get(struct hk_ptab *t, const void *key, size_t size)
{
	struct hk_pnode *r, *n = NULL;
	unsigned b = bucket(key);

	if (!key)
		return NULL;
	for (int pass = 0; pass < 2; pass++) {
		hk_spin_lock(&t->lock);
		for (r = t->b[b]; r && r->key != key; r = r->next)
			;
		if (!r && n) {
			n->next = t->b[b];
			t->b[b] = r = n;
			n = NULL;
		}
		hk_spin_unlock(&t->lock);
		if (r || !size)
			break;
		/* Allocate outside the lock, then insert (unless it appeared). */
		if (!(n = calloc(1, size)))
			return NULL;
		n->key = key;
	}
	free(n);
	return r;
}

void *hk_ptab_take(struct hk_ptab *t, const void *key)
{
	struct hk_pnode **pp, *r = NULL;

	hk_spin_lock(&t->lock);
	for (pp = &t->b[bucket(key)]; *pp; pp = &(*pp)->next) {
		if ((*pp)->key == key) {
			r = *pp;
			*pp = r->next;
			break;
		}
	}
	hk_spin_unlock(&t->lock);
	return r;
}

void hk_ptab_each_locked(struct hk_ptab *t, void (*fn)(void *rec))
{
	for (unsigned b = 0; b < HK_PTAB_BUCKETS; b++)
		for (struct hk_pnode *r = t->b[b]; r; r = r->next)
			fn(r);
}
