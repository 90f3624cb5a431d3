/*
 * internal.h - what the exporter thread's modules share.
 */
#ifndef EX_INTERNAL_H
#define EX_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

/* The time after which in-flight work must stop: the exit/exec flush
 * deadline while one is pending, else UINT64_MAX. */
uint64_t ex_cutoff_ns(void);

/* True while an exit/exec flush is pending. */
bool ex_flushing(void);

/* Sleep up to ms, waking early when a flush is requested. */
void ex_sleep_ms(uint32_t ms);

#endif
