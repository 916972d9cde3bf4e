// Counts heap allocations made by the calling thread, so a test can prove that running an
// execution plan allocates nothing. Linked only into the test executable: it interposes malloc,
// calloc, realloc, posix_memalign and aligned_alloc and forwards each to the C library's own.
#ifndef CALLOCATIONCOUNTER_H
#define CALLOCATIONCOUNTER_H
#include <stdint.h>

/// Allocations made so far by the calling thread.
uint64_t remotair_thread_allocations(void);

#endif
