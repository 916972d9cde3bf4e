// A fixed pool of worker threads for `inference.threads` > 1: the big kernels split their pixels or
// output rows into one part per thread. Created with the plan; a run allocates nothing and hands the
// workers a task through a generation counter, so an inference stays free of heap allocation.
#include "CInferenceKernels.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>

// Between layers (tens of microseconds apart) threads spin briefly instead of sleeping: a condition
// variable's wake-up costs about as much as a small layer. Between inferences (seconds apart in the
// daemon) they sleep, so an idle pool burns no CPU.
#define RK_SPIN 4000

static inline void relax(void) {
#if defined(__x86_64__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

struct rk_pool {
    pthread_mutex_t lock;
    pthread_cond_t wake, done;
    pthread_t *workers;
    int32_t threads;                 // including the caller's thread
    int32_t started;                 // workers actually running
    _Atomic uint64_t generation;     // bumped for every task (release: publishes task and context)
    _Atomic int32_t pending;         // worker parts not finished yet
    _Atomic int32_t stopping;
    rk_task task;
    void *context;
};

typedef struct {
    rk_pool *pool;
    int32_t part;
} worker_start;

static void *worker_main(void *argument) {
    worker_start start = *(worker_start *)argument;
    free(argument);
    rk_pool *pool = start.pool;
    uint64_t seen = 0;
    for (;;) {
        uint64_t generation = atomic_load_explicit(&pool->generation, memory_order_acquire);
        for (int spin = 0; generation == seen && spin < RK_SPIN && !atomic_load_explicit(&pool->stopping, memory_order_relaxed); spin++) {
            relax();
            generation = atomic_load_explicit(&pool->generation, memory_order_acquire);
        }
        if (generation == seen) {
            pthread_mutex_lock(&pool->lock);
            while (!atomic_load(&pool->stopping) && (generation = atomic_load(&pool->generation)) == seen)
                pthread_cond_wait(&pool->wake, &pool->lock);
            pthread_mutex_unlock(&pool->lock);
        }
        if (atomic_load(&pool->stopping)) break;
        seen = generation;
        pool->task(pool->context, start.part, pool->threads);
        if (atomic_fetch_sub_explicit(&pool->pending, 1, memory_order_acq_rel) == 1) {
            pthread_mutex_lock(&pool->lock);
            pthread_cond_signal(&pool->done);
            pthread_mutex_unlock(&pool->lock);
        }
    }
    return NULL;
}

rk_pool *rk_pool_create(int32_t threads) {
    if (threads < 1) threads = 1;
    rk_pool *pool = calloc(1, sizeof(rk_pool));
    if (!pool) return NULL;
    pthread_mutex_init(&pool->lock, NULL);
    pthread_cond_init(&pool->wake, NULL);
    pthread_cond_init(&pool->done, NULL);
    atomic_init(&pool->generation, 0);
    atomic_init(&pool->pending, 0);
    atomic_init(&pool->stopping, 0);
    pool->threads = 1;
    if (threads > 1) {
        // Workers start with every signal blocked, so SIGTERM, SIGHUP and the like always reach the threads
        // that wait for them (the daemon's signal handling), never a worker busy in a kernel.
        sigset_t all, previous;
        sigfillset(&all);
        pthread_sigmask(SIG_SETMASK, &all, &previous);
        pool->workers = calloc((size_t)threads - 1, sizeof(pthread_t));
        for (int32_t i = 1; pool->workers && i < threads; i++) {
            worker_start *start = malloc(sizeof(worker_start));
            if (!start) break;
            start->pool = pool;
            start->part = i;
            if (pthread_create(&pool->workers[i - 1], NULL, worker_main, start) != 0) {
                free(start);
                break;
            }
            pool->started++;
        }
        pthread_sigmask(SIG_SETMASK, &previous, NULL);
        // Fewer threads than asked (a resource limit): run with the ones that started. Workers read
        // `threads` only after the first task is published, which orders this write before their reads.
        pool->threads = pool->started + 1;
    }
    return pool;
}

int32_t rk_pool_threads(const rk_pool *pool) { return pool ? pool->threads : 1; }

void rk_pool_run(rk_pool *pool, rk_task task, void *context) {
    if (!pool || pool->threads == 1) {
        task(context, 0, 1);
        return;
    }
    pool->task = task;
    pool->context = context;
    atomic_store_explicit(&pool->pending, pool->threads - 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&pool->generation, 1, memory_order_release);
    // Sleeping workers check the generation under the lock before they wait: no wake-up is lost.
    pthread_mutex_lock(&pool->lock);
    pthread_cond_broadcast(&pool->wake);
    pthread_mutex_unlock(&pool->lock);
    task(context, 0, pool->threads);
    for (int spin = 0; atomic_load_explicit(&pool->pending, memory_order_acquire) > 0 && spin < RK_SPIN; spin++) relax();
    if (atomic_load_explicit(&pool->pending, memory_order_acquire) > 0) {
        pthread_mutex_lock(&pool->lock);
        while (atomic_load(&pool->pending) > 0) pthread_cond_wait(&pool->done, &pool->lock);
        pthread_mutex_unlock(&pool->lock);
    }
}

void rk_pool_destroy(rk_pool *pool) {
    if (!pool) return;
    pthread_mutex_lock(&pool->lock);
    atomic_store(&pool->stopping, 1);
    pthread_cond_broadcast(&pool->wake);
    pthread_mutex_unlock(&pool->lock);
    for (int32_t i = 0; i < pool->started; i++) pthread_join(pool->workers[i], NULL);
    free(pool->workers);
    pthread_cond_destroy(&pool->wake);
    pthread_cond_destroy(&pool->done);
    pthread_mutex_destroy(&pool->lock);
    free(pool);
}

// MARK: - Parallel forms of the big kernels

typedef struct {
    int32_t P, M, K;
    const uint8_t *a;
    int64_t lda;
    uint8_t flip;
    const int8_t *packed;
    const int32_t *bias;
    uint8_t *out;
    int64_t ldc;
    const rk_requant *rq;
} gemm_job;

static void gemm_part(void *context, int32_t part, int32_t parts) {
    const gemm_job *job = context;
    // Whole tiles of 12 pixels per part, so no part splits a tile.
    const int32_t tiles = (job->P + 11) / 12;
    const int32_t first = (int32_t)((int64_t)tiles * part / parts) * 12;
    int32_t last = (int32_t)((int64_t)tiles * (part + 1) / parts) * 12;
    if (last > job->P) last = job->P;
    if (first >= last) return;
    rk_qgemm_u8s8(last - first, job->M, job->K, job->a + (int64_t)first * job->lda, job->lda, job->flip, job->packed, job->bias,
                  job->out + (int64_t)first * job->ldc, job->ldc, job->rq);
}

void rk_qgemm_u8s8_parallel(rk_pool *pool, int32_t P, int32_t M, int32_t K, const uint8_t *a, int64_t lda, uint8_t flip,
                            const int8_t *packed, const int32_t *bias, void *out, int64_t ldc, const rk_requant *rq) {
    gemm_job job = {P, M, K, a, lda, flip, packed, bias, (uint8_t *)out, ldc, rq};
    if (rk_pool_threads(pool) == 1 || P < 24) {
        gemm_part(&job, 0, 1);
        return;
    }
    rk_pool_run(pool, gemm_part, &job);
}

typedef struct {
    const rk_conv_geometry *g;
    const void *in;
    int32_t inputSigned, zero;
    const int32_t *weight, *bias;
    const rk_depthwise_packed *packed;
    uint8_t *out;
    const rk_requant *rq;
    uint8_t *scratch;
    int64_t scratchStride;
} depthwise_job;

static void depthwise_part(void *context, int32_t part, int32_t parts) {
    const depthwise_job *job = context;
    const rk_conv_geometry *g = job->g;
    const int32_t first = (int32_t)((int64_t)g->outHeight * part / parts), last = (int32_t)((int64_t)g->outHeight * (part + 1) / parts);
    if (first >= last) return;
    // Output rows [first, last) are the convolution of the same input with the top padding moved up by
    // `first` strides (negative once inside the image, which the kernels' index arithmetic allows).
    rk_conv_geometry rows = *g;
    rows.outHeight = last - first;
    rows.padTop = g->padTop - first * g->strideHeight;
    rk_qdepthwise_nhwc(&rows, job->in, job->inputSigned, job->zero, job->weight, job->bias, job->packed,
                       job->out + (int64_t)first * g->outWidth * g->outChannels, job->rq, job->scratch + part * job->scratchStride);
}

void rk_qdepthwise_nhwc_parallel(rk_pool *pool, const rk_conv_geometry *g, const void *in, int32_t inputSigned, int32_t zero,
                                 const int32_t *weight, const int32_t *bias, const rk_depthwise_packed *packed, void *out,
                                 const rk_requant *rq, void *scratch, int64_t scratchStride) {
    depthwise_job job = {g, in, inputSigned, zero, weight, bias, packed, (uint8_t *)out, rq, (uint8_t *)scratch, scratchStride};
    if (rk_pool_threads(pool) == 1 || g->outHeight < 2) {
        depthwise_part(&job, 0, 1);
        return;
    }
    rk_pool_run(pool, depthwise_part, &job);
}
