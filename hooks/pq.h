/*
 * pq.h - the libpq hooks' process-level state across fork.
 */
#ifndef HK_PQ_H
#define HK_PQ_H

/* pthread_atfork handlers: the connection table's lock is held across
 * fork, and the child forgets the parent's commands in flight. */
void hk_pq_fork_prepare(void);
void hk_pq_fork_parent(void);
void hk_pq_fork_child(void);

#endif
