#define _GNU_SOURCE
#include "CAllocationCounter.h"

#include <dlfcn.h>
#include <stddef.h>
#include <stdint.h>

static _Thread_local uint64_t allocations;

static void *(*real_malloc)(size_t);
static void *(*real_calloc)(size_t, size_t);
static void *(*real_realloc)(void *, size_t);
static void (*real_free)(void *);
static int (*real_posix_memalign)(void **, size_t, size_t);
static void *(*real_aligned_alloc)(size_t, size_t);

// dlsym may itself call calloc before the real one is known: serve those from a static buffer.
static _Alignas(64) unsigned char bootstrap[8192];
static size_t bootstrap_used;
static int resolving;

static void *bootstrap_alloc(size_t size) {
    size = (size + 63) & ~(size_t)63;
    if (bootstrap_used + size > sizeof bootstrap) return NULL;
    void *p = bootstrap + bootstrap_used;
    bootstrap_used += size;
    return p;
}

static void resolve(void) {
    if (real_malloc || resolving) return;
    resolving = 1;
    real_calloc = (void *(*)(size_t, size_t))dlsym(RTLD_NEXT, "calloc");
    real_realloc = (void *(*)(void *, size_t))dlsym(RTLD_NEXT, "realloc");
    real_free = (void (*)(void *))dlsym(RTLD_NEXT, "free");
    real_posix_memalign = (int (*)(void **, size_t, size_t))dlsym(RTLD_NEXT, "posix_memalign");
    real_aligned_alloc = (void *(*)(size_t, size_t))dlsym(RTLD_NEXT, "aligned_alloc");
    real_malloc = (void *(*)(size_t))dlsym(RTLD_NEXT, "malloc");
    resolving = 0;
}

static int from_bootstrap(void *p) {
    return (unsigned char *)p >= bootstrap && (unsigned char *)p < bootstrap + sizeof bootstrap;
}

uint64_t remotair_thread_allocations(void) { return allocations; }

void *malloc(size_t size) {
    resolve();
    if (!real_malloc) return bootstrap_alloc(size);
    allocations++;
    return real_malloc(size);
}

void *calloc(size_t count, size_t size) {
    resolve();
    if (!real_calloc) return bootstrap_alloc(count * size);  // static buffer is zeroed
    allocations++;
    return real_calloc(count, size);
}

void *realloc(void *p, size_t size) {
    resolve();
    allocations++;
    if (p && from_bootstrap(p)) {
        void *q = real_malloc(size);
        if (q) { unsigned char *d = q, *s = p; for (size_t i = 0; i < size && s + i < bootstrap + sizeof bootstrap; i++) d[i] = s[i]; }
        return q;
    }
    return real_realloc(p, size);
}

void free(void *p) {
    if (!p || from_bootstrap(p)) return;
    resolve();
    real_free(p);
}

int posix_memalign(void **out, size_t alignment, size_t size) {
    resolve();
    allocations++;
    return real_posix_memalign(out, alignment, size);
}

void *aligned_alloc(size_t alignment, size_t size) {
    resolve();
    allocations++;
    return real_aligned_alloc(alignment, size);
}
