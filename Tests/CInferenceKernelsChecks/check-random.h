// The reproducible random numbers of the kernel checks (kernel-check.c, float-check.c): a 64-bit LCG,
// seeded by each program's SEED argument, so a failing case can be replayed.
#ifndef REMOTAIR_CHECK_RANDOM_H
#define REMOTAIR_CHECK_RANDOM_H
#include <stdint.h>

static uint64_t state;
static uint32_t next(void) {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (uint32_t)(state >> 33);
}
static int32_t range(int32_t lo, int32_t hi) { return lo + (int32_t)(next() % (uint32_t)(hi - lo + 1)); }
static float uniform(float lo, float hi) { return lo + (hi - lo) * (float)(next() % 1000000) / 1000000.0f; }

#endif
