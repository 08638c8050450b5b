/*
 * clock.h — the two clocks hookd reads: monotonic for intervals and
 * deadlines (never jumps), wall (epoch) for what is stored or shown.
 */
#ifndef HOOKD_CLOCK_H
#define HOOKD_CLOCK_H

#include <stdint.h>

int64_t clock_mono_ms(void);
int64_t clock_mono_us(void);
int64_t clock_wall_ms(void); /* epoch milliseconds */

#endif
