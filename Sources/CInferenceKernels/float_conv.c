// Float convolutions over NCHW planes: pointwise (1x1) layers and im2col copies as a register-blocked
// matrix product, depthwise layers as a per-plane stencil. One generic source (clang vector extensions)
// is instantiated per instruction set and chosen at run time: AVX-512F or AVX2+FMA on x86-64, NEON on
// AArch64 (the vector multiply-adds become vfmadd / fmla, since each `acc += w * x` may be contracted),
// and plain scalar C everywhere as the reference the tests compare against.
#include "CInferenceKernels.h"

#include <string.h>

#if defined(__x86_64__) && defined(__clang__)
#define RK_F_X86 1
#define RK_F_AVX512 __attribute__((target("avx512f,fma")))
#define RK_F_AVX2 __attribute__((target("avx2,fma")))
#else
#define RK_F_X86 0
#endif
#if defined(__aarch64__) && defined(__clang__)
#define RK_F_NEON 1
#else
#define RK_F_NEON 0
#endif

#define MR RK_SGEMM_ROWS
#define RK_ALWAYS_INLINE static inline __attribute__((always_inline))

// Unaligned vectors: activations are read at any float offset.
typedef float rk_f16 __attribute__((vector_size(64), aligned(4)));
typedef float rk_f8 __attribute__((vector_size(32), aligned(4)));
typedef float rk_f4 __attribute__((vector_size(16), aligned(4)));

typedef enum { FLOAT_PORTABLE, FLOAT_AVX2, FLOAT_AVX512, FLOAT_NEON } float_set;

static float_set best_float(void) {
#if RK_F_X86
    static int32_t cached = -1;
    if (cached < 0) {
        __builtin_cpu_init();
        cached = __builtin_cpu_supports("avx512f") ? FLOAT_AVX512
            : (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) ? FLOAT_AVX2 : FLOAT_PORTABLE;
    }
    return (float_set)cached;
#elif RK_F_NEON
    return FLOAT_NEON;
#else
    return FLOAT_PORTABLE;
#endif
}

static int32_t float_selected = -1;
static float_set float_kernels(void) { return float_selected >= 0 ? (float_set)float_selected : best_float(); }

const char *rk_float_kernels(void) {
    switch (float_kernels()) {
    case FLOAT_AVX512: return "avx512";
    case FLOAT_AVX2: return "avx2";
    case FLOAT_NEON: return "neon";
    default: return "portable";
    }
}

int32_t rk_select_float_kernels(const char *name) {
    if (name == NULL) {
        float_selected = -1;
        return 1;
    }
    const float_set best = best_float();
    float_set set;
    if (strcmp(name, "portable") == 0) set = FLOAT_PORTABLE;
    else if (strcmp(name, "avx2") == 0 && (best == FLOAT_AVX2 || best == FLOAT_AVX512)) set = FLOAT_AVX2;
    else if (strcmp(name, "avx512") == 0 && best == FLOAT_AVX512) set = FLOAT_AVX512;
    else if (strcmp(name, "neon") == 0 && best == FLOAT_NEON) set = FLOAT_NEON;
    else return 0;
    float_selected = (int32_t)set;
    return 1;
}

// MARK: - Matrix product

int64_t rk_sgemm_packed_floats(int32_t M, int32_t K) { return ((int64_t)M + MR - 1) / MR * MR * (int64_t)K; }

void rk_sgemm_pack(const float *weight, int32_t M, int32_t K, float *packed) {
    const int32_t panels = (M + MR - 1) / MR;
    for (int32_t b = 0; b < panels; b++)
        for (int32_t k = 0; k < K; k++)
            for (int32_t r = 0; r < MR; r++) {
                const int32_t m = b * MR + r;
                packed[((int64_t)b * K + k) * MR + r] = m < M ? weight[(int64_t)m * K + k] : 0.0f;
            }
}

// One tile: MR output channels x NV vectors of pixels over depth [k0, k0 + kc), accumulators in registers.
// The first depth block starts from the bias, later ones from what the previous block stored; the last
// applies the clamp. Rows past `rows` (the zero-padded end of the last panel) are computed, not stored.
#define RK_SGEMM_TILE(NAME, VEC, NV)                                                                           \
    RK_ALWAYS_INLINE void NAME(const float *w, const float *in, int64_t ld, float *out, int32_t kc, const float *bias, \
                               int first, int last, float lo, float hi, int32_t rows) {                       \
        enum { VL = sizeof(VEC) / sizeof(float) };                                                            \
        VEC acc[MR][NV];                                                                                      \
        for (int r = 0; r < MR; r++)                                                                          \
            for (int v = 0; v < NV; v++) {                                                                    \
                if (first) acc[r][v] = (VEC){0} + bias[r];                                                    \
                else acc[r][v] = *(const VEC *)(out + (int64_t)(r < rows ? r : rows - 1) * ld + v * VL);      \
            }                                                                                                 \
        for (int32_t k = 0; k < kc; k++) {                                                                    \
            VEC x[NV];                                                                                        \
            for (int v = 0; v < NV; v++) x[v] = *(const VEC *)(in + (int64_t)k * ld + v * VL);               \
            for (int r = 0; r < MR; r++) {                                                                    \
                const float wr = w[k * MR + r];                                                               \
                for (int v = 0; v < NV; v++) acc[r][v] += wr * x[v];                                          \
            }                                                                                                 \
        }                                                                                                     \
        for (int r = 0; r < MR; r++) {                                                                        \
            if (r >= rows) break;                                                                             \
            for (int v = 0; v < NV; v++) {                                                                    \
                VEC value = acc[r][v];                                                                        \
                if (last) value = __builtin_elementwise_min(__builtin_elementwise_max(value, (VEC){0} + lo), (VEC){0} + hi); \
                *(VEC *)(out + (int64_t)r * ld + v * VL) = value;                                             \
            }                                                                                                 \
        }                                                                                                     \
    }

// The last columns of a block (fewer than one vector): copied with zeros after them into a buffer of whole
// vectors, run through the one-vector tile (row stride VL), and the valid columns copied back. The same
// instructions in the same order as a full tile, so every value is the one a full tile would give.
#define RK_SGEMM_TAIL(NAME, ONE, VL, KC)                                                                      \
    RK_ALWAYS_INLINE void NAME(int32_t M, int32_t K, int32_t P, const float *packed, const float *bias, const float *in, \
                               float *out, float lo, float hi, int32_t p, int32_t n, int32_t b0, int32_t b1, int32_t k0, \
                               int32_t kc, int first, int last) {                                             \
        float block[KC][VL], tile[MR][VL];                                                                    \
        for (int32_t k = 0; k < kc; k++)                                                                      \
            for (int32_t j = 0; j < VL; j++) block[k][j] = j < n ? in[(int64_t)(k0 + k) * P + p + j] : 0.0f;  \
        for (int32_t b = b0; b < b1; b++) {                                                                   \
            const int32_t rows = M - b * MR < MR ? M - b * MR : MR;                                           \
            float *o = out + (int64_t)b * MR * P + p;                                                         \
            for (int32_t r = 0; r < MR; r++)                                                                  \
                for (int32_t j = 0; j < VL; j++) tile[r][j] = !first && r < rows && j < n ? o[(int64_t)r * P + j] : 0.0f; \
            ONE(packed + ((int64_t)b * K + k0) * MR, &block[0][0], VL, &tile[0][0], kc, bias + b * MR, first, last, lo, hi, rows); \
            for (int32_t r = 0; r < rows; r++)                                                                \
                for (int32_t j = 0; j < n; j++) o[(int64_t)r * P + j] = tile[r][j];                           \
        }                                                                                                     \
    }

// Pixels [p0, p1) of panels [b0, b1): depth blocks of KC keep the input block under one tile in L1 while
// every panel of weights passes over it. Wide tiles first, then one narrower tile of the whole vectors
// left, then the tail.
#define RK_SGEMM_DRIVER(NAME, ATTR, WIDE, NV, NARROW, TAIL, VL, KC)                                           \
    ATTR static void NAME(int32_t M, int32_t K, int32_t P, const float *packed, const float *bias, const float *in, \
                          float *out, float lo, float hi, int32_t p0, int32_t p1, int32_t b0, int32_t b1) {   \
        for (int32_t k0 = 0; k0 < K; k0 += KC) {                                                              \
            const int32_t kc = K - k0 < KC ? K - k0 : KC;                                                     \
            const int first = k0 == 0, last = k0 + kc == K;                                                   \
            int32_t p = p0;                                                                                   \
            for (; p + (NV) * (VL) <= p1; p += (NV) * (VL))                                                   \
                for (int32_t b = b0; b < b1; b++)                                                             \
                    WIDE(packed + ((int64_t)b * K + k0) * MR, in + (int64_t)k0 * P + p, P, out + (int64_t)b * MR * P + p, kc, \
                         bias + b * MR, first, last, lo, hi, M - b * MR);                                     \
            const int32_t vectors = (p1 - p) / (VL);                                                          \
            if (vectors > 0) {                                                                                \
                for (int32_t b = b0; b < b1; b++)                                                             \
                    NARROW(vectors, packed + ((int64_t)b * K + k0) * MR, in + (int64_t)k0 * P + p, P, out + (int64_t)b * MR * P + p, \
                           kc, bias + b * MR, first, last, lo, hi, M - b * MR);                               \
                p += vectors * (VL);                                                                          \
            }                                                                                                 \
            if (p < p1) TAIL(M, K, P, packed, bias, in, out, lo, hi, p, p1 - p, b0, b1, k0, kc, first, last); \
        }                                                                                                     \
    }

// A tile of 1 to 3 vectors (what is left after the wide tiles).
#define RK_SGEMM_NARROW(NAME, ONE, TWO, THREE)                                                                \
    RK_ALWAYS_INLINE void NAME(int32_t vectors, const float *w, const float *in, int64_t ld, float *out, int32_t kc, \
                               const float *bias, int first, int last, float lo, float hi, int32_t rows) {    \
        if (vectors == 1) ONE(w, in, ld, out, kc, bias, first, last, lo, hi, rows);                           \
        else if (vectors == 2) TWO(w, in, ld, out, kc, bias, first, last, lo, hi, rows);                      \
        else THREE(w, in, ld, out, kc, bias, first, last, lo, hi, rows);                                      \
    }

RK_SGEMM_TILE(tile_scalar, float, 1)
// The reference: one pixel at a time, the same depth blocks and summation order as the vector sets.
static void sgemm_portable(int32_t M, int32_t K, int32_t P, const float *packed, const float *bias, const float *in, float *out,
                           float lo, float hi, int32_t p0, int32_t p1, int32_t b0, int32_t b1) {
    for (int32_t k0 = 0; k0 < K; k0 += 256) {
        const int32_t kc = K - k0 < 256 ? K - k0 : 256;
        for (int32_t p = p0; p < p1; p++)
            for (int32_t b = b0; b < b1; b++)
                tile_scalar(packed + ((int64_t)b * K + k0) * MR, in + (int64_t)k0 * P + p, P, out + (int64_t)b * MR * P + p, kc,
                            bias + b * MR, k0 == 0, k0 + kc == K, lo, hi, M - b * MR);
    }
}

#if RK_F_X86
RK_SGEMM_TILE(tile_avx512_4, rk_f16, 4)
RK_SGEMM_TILE(tile_avx512_3, rk_f16, 3)
RK_SGEMM_TILE(tile_avx512_2, rk_f16, 2)
RK_SGEMM_TILE(tile_avx512_1, rk_f16, 1)
RK_SGEMM_NARROW(narrow_avx512, tile_avx512_1, tile_avx512_2, tile_avx512_3)
RK_SGEMM_TAIL(tail_avx512, tile_avx512_1, 16, 96)
RK_SGEMM_DRIVER(sgemm_avx512, RK_F_AVX512, tile_avx512_4, 4, narrow_avx512, tail_avx512, 16, 96)
RK_SGEMM_TILE(tile_avx2_2, rk_f8, 2)
RK_SGEMM_TILE(tile_avx2_1, rk_f8, 1)
RK_SGEMM_NARROW(narrow_avx2, tile_avx2_1, tile_avx2_1, tile_avx2_1)
RK_SGEMM_TAIL(tail_avx2, tile_avx2_1, 8, 256)
RK_SGEMM_DRIVER(sgemm_avx2, RK_F_AVX2, tile_avx2_2, 2, narrow_avx2, tail_avx2, 8, 256)
#endif
#if RK_F_NEON
RK_SGEMM_TILE(tile_neon_4, rk_f4, 4)
RK_SGEMM_TILE(tile_neon_3, rk_f4, 3)
RK_SGEMM_TILE(tile_neon_2, rk_f4, 2)
RK_SGEMM_TILE(tile_neon_1, rk_f4, 1)
RK_SGEMM_NARROW(narrow_neon, tile_neon_1, tile_neon_2, tile_neon_3)
RK_SGEMM_TAIL(tail_neon, tile_neon_1, 4, 256)
RK_SGEMM_DRIVER(sgemm_neon, , tile_neon_4, 4, narrow_neon, tail_neon, 4, 256)
#endif

// Pixels per wide tile of the selected set: thread splits fall on whole tiles.
static int32_t tile_pixels(float_set set) {
    switch (set) {
    case FLOAT_AVX512: return 64;
    case FLOAT_AVX2: return 16;
    case FLOAT_NEON: return 16;
    default: return 1;
    }
}

static void sgemm_range(float_set set, int32_t M, int32_t K, int32_t P, const float *packed, const float *bias, const float *in,
                        float *out, float lo, float hi, int32_t p0, int32_t p1, int32_t b0, int32_t b1) {
    switch (set) {
#if RK_F_X86
    case FLOAT_AVX512: sgemm_avx512(M, K, P, packed, bias, in, out, lo, hi, p0, p1, b0, b1); return;
    case FLOAT_AVX2: sgemm_avx2(M, K, P, packed, bias, in, out, lo, hi, p0, p1, b0, b1); return;
#endif
#if RK_F_NEON
    case FLOAT_NEON: sgemm_neon(M, K, P, packed, bias, in, out, lo, hi, p0, p1, b0, b1); return;
#endif
    default: sgemm_portable(M, K, P, packed, bias, in, out, lo, hi, p0, p1, b0, b1); return;
    }
}

void rk_sgemm(int32_t M, int32_t K, int32_t P, const float *packed, const float *bias, const float *in, float *out, float lo, float hi) {
    sgemm_range(float_kernels(), M, K, P, packed, bias, in, out, lo, hi, 0, P, 0, (M + MR - 1) / MR);
}

typedef struct {
    float_set set;
    int32_t M, K, P;
    const float *packed, *bias, *in;
    float *out;
    float lo, hi;
} sgemm_job;

// Each part takes whole tiles of pixels when there are enough of them, else whole panels of output
// channels: every output value is computed by the same instructions in the same order either way.
static void sgemm_part(void *context, int32_t part, int32_t parts) {
    const sgemm_job *job = context;
    const int32_t panels = (job->M + MR - 1) / MR, width = tile_pixels(job->set);
    const int32_t tiles = (job->P + width - 1) / width;
    if (tiles >= 2 * parts || tiles >= panels) {
        const int32_t first = (int32_t)((int64_t)tiles * part / parts) * width;
        int32_t last = (int32_t)((int64_t)tiles * (part + 1) / parts) * width;
        if (last > job->P) last = job->P;
        if (first < last) sgemm_range(job->set, job->M, job->K, job->P, job->packed, job->bias, job->in, job->out, job->lo, job->hi, first, last, 0, panels);
    } else {
        const int32_t first = (int32_t)((int64_t)panels * part / parts), last = (int32_t)((int64_t)panels * (part + 1) / parts);
        if (first < last) sgemm_range(job->set, job->M, job->K, job->P, job->packed, job->bias, job->in, job->out, job->lo, job->hi, 0, job->P, first, last);
    }
}

void rk_sgemm_parallel(rk_pool *pool, int32_t M, int32_t K, int32_t P, const float *packed, const float *bias, const float *in,
                       float *out, float lo, float hi) {
    sgemm_job job = {float_kernels(), M, K, P, packed, bias, in, out, lo, hi};
    if (rk_pool_threads(pool) == 1) {
        sgemm_part(&job, 0, 1);
        return;
    }
    rk_pool_run(pool, sgemm_part, &job);
}

// MARK: - im2col

void rk_im2col_f32(const rk_conv_geometry *g, const float *in, int32_t channelOffset, int32_t channels, float *col) {
    const int32_t OH = g->outHeight, OW = g->outWidth, H = g->inHeight, W = g->inWidth;
    const int64_t P = (int64_t)OH * OW;
    for (int32_t c = 0; c < channels; c++) {
        const float *plane = in + (int64_t)(channelOffset + c) * H * W;
        for (int32_t kh = 0; kh < g->kernelHeight; kh++)
            for (int32_t kw = 0; kw < g->kernelWidth; kw++) {
                float *row = col + ((int64_t)(c * g->kernelHeight + kh) * g->kernelWidth + kw) * P;
                const int32_t offset = kw * g->dilationWidth;
                int32_t first = g->padLeft - offset > 0 ? (g->padLeft - offset + g->strideWidth - 1) / g->strideWidth : 0;
                const int32_t limit = W - 1 + g->padLeft - offset;   // ow * stride <= limit
                int32_t last = limit < 0 ? 0 : limit / g->strideWidth + 1;
                if (first > OW) first = OW;
                if (last > OW) last = OW;
                if (last < first) last = first;
                for (int32_t oh = 0; oh < OH; oh++) {
                    float *dst = row + (int64_t)oh * OW;
                    const int32_t ih = oh * g->strideHeight - g->padTop + kh * g->dilationHeight;
                    if (ih < 0 || ih >= H) {
                        memset(dst, 0, sizeof(float) * (size_t)OW);
                        continue;
                    }
                    // Columns [first, last) read inside the image; zeros either side.
                    const float *src = plane + (int64_t)ih * W - g->padLeft + kw * g->dilationWidth;
                    const int32_t S = g->strideWidth;
                    int32_t ow = 0;
                    for (; ow < first; ow++) dst[ow] = 0.0f;
                    if (S == 1) {
                        memcpy(dst + first, src + first, sizeof(float) * (size_t)(last - first));
                    } else if (S == 2) {
                        for (ow = first; ow < last; ow++) dst[ow] = src[2 * ow];
                    } else {
                        for (ow = first; ow < last; ow++) dst[ow] = src[(int64_t)ow * S];
                    }
                    for (ow = last; ow < OW; ow++) dst[ow] = 0.0f;
                }
            }
    }
}

// MARK: - Depthwise

// First and one-past-last output column whose taps kw = 0 ..< KW all fall inside [0, W).
static void interior_columns(int32_t OW, int32_t W, int32_t S, int32_t pad, int32_t KW, int32_t *first, int32_t *last) {
    int32_t start = (pad + S - 1) / S;                       // ow*S - pad >= 0
    int32_t limit = W - KW + pad;                            // ow*S - pad + KW - 1 <= W - 1
    int32_t end = limit < 0 ? 0 : limit / S + 1;
    if (start > OW) start = OW;
    if (end > OW) end = OW;
    if (end < start) end = start;
    *first = start;
    *last = end;
}

// Interior output columns [first, last) of one row, taps of kernel rows [khFirst, khLast) (those inside
// the image): `base` is the input at (kernel row 0, column 0 - padLeft). VL columns at a time (the last group overlapping the one
// before it, so a row of at least VL columns needs no scalar tail); stride 2 picks the even columns out of
// two loads that end exactly at the last column read, so nothing past the input is touched.
#define RK_DW_ROW(NAME, VEC, ...)                                                                             \
    RK_ALWAYS_INLINE void NAME(const float *restrict base, int64_t W, float *restrict d, int32_t first, int32_t last, \
                               const float *restrict w, float b, int32_t khFirst, int32_t khLast, const int KW, const int S, \
                               float lo, float hi) {                                                          \
        enum { VL = sizeof(VEC) / sizeof(float) };                                                            \
        for (int32_t ow = first;; ow += VL) {                                                                 \
            if (ow > last - VL) ow = last - VL;                                                               \
            VEC s = (VEC){0} + b;                                                                             \
            for (int32_t kh = khFirst; kh < khLast; kh++)                                                     \
                for (int kw = 0; kw < KW; kw++) {                                                             \
                    const float *p = base + (int64_t)kh * W + (int64_t)ow * S + kw;                           \
                    VEC x;                                                                                    \
                    if (S == 1) x = *(const VEC *)p;                                                          \
                    else x = __builtin_shufflevector(*(const VEC *)p, *(const VEC *)(p + VL - 1), __VA_ARGS__); \
                    s += w[kh * KW + kw] * x;                                                                 \
                }                                                                                             \
            *(VEC *)(d + ow) = __builtin_elementwise_min(__builtin_elementwise_max(s, (VEC){0} + lo), (VEC){0} + hi); \
            if (ow == last - VL) break;                                                                       \
        }                                                                                                     \
    }
RK_DW_ROW(depthwise_row8, rk_f8, 0, 2, 4, 6, 9, 11, 13, 15)
RK_DW_ROW(depthwise_row4, rk_f4, 0, 2, 5, 7)

// One output plane: per output row, the bias plus every tap in (kh, kw) order. Interior rows and columns
// run with the taps unrolled (KH, KW and S are constants in each instance) over VL columns at a time
// (VL 1: plain scalar C); border pixels check each tap. Every pixel sums in the same order.
RK_ALWAYS_INLINE void depthwise_plane(const float *restrict src, int32_t H, int32_t W, float *restrict dst, int32_t OH, int32_t OW,
                                      const float *restrict w, float b, const int KH, const int KW, const int S, int32_t padTop,
                                      int32_t padLeft, float lo, float hi, const int VL) {
    int32_t colFirst, colLast;
    interior_columns(OW, W, S, padLeft, KW, &colFirst, &colLast);
    for (int32_t oh = 0; oh < OH; oh++) {
        float *restrict d = dst + (int64_t)oh * OW;
        const int32_t ih0 = oh * S - padTop;
        // Kernel rows inside the image (all of them away from the top and bottom edges).
        const int32_t khFirst = ih0 < 0 ? -ih0 : 0, khLast = ih0 + KH > H ? H - ih0 : KH;
        const float *restrict base = src + (int64_t)ih0 * W - padLeft;
        // (Narrow rows, as in 7x7 planes, take 4 columns at a time.)
        if (VL == 8 && colLast - colFirst >= 8) {
            if (khFirst == 0 && khLast == KH) depthwise_row8(base, W, d, colFirst, colLast, w, b, 0, KH, KW, S, lo, hi);
            else depthwise_row8(base, W, d, colFirst, colLast, w, b, khFirst, khLast, KW, S, lo, hi);
        } else if (VL >= 4 && colLast - colFirst >= 4) {
            if (khFirst == 0 && khLast == KH) depthwise_row4(base, W, d, colFirst, colLast, w, b, 0, KH, KW, S, lo, hi);
            else depthwise_row4(base, W, d, colFirst, colLast, w, b, khFirst, khLast, KW, S, lo, hi);
        } else {
            for (int32_t ow = colFirst; ow < colLast; ow++) {
                float s = b;
                for (int32_t kh = khFirst; kh < khLast; kh++)
                    for (int kw = 0; kw < KW; kw++) s += w[kh * KW + kw] * base[(int64_t)kh * W + ow * S + kw];
                d[ow] = __builtin_elementwise_min(__builtin_elementwise_max(s, lo), hi);
            }
        }
        for (int32_t ow = 0; ow < OW; ow++) {
            if (ow == colFirst) ow = colLast;
            if (ow >= OW) break;
            float s = b;
            for (int32_t kh = khFirst; kh < khLast; kh++) {
                const int32_t ih = ih0 + kh;
                for (int kw = 0; kw < KW; kw++) {
                    const int32_t iw = ow * S - padLeft + kw;
                    if (iw >= 0 && iw < W) s += w[kh * KW + kw] * src[(int64_t)ih * W + iw];
                }
            }
            d[ow] = __builtin_elementwise_min(__builtin_elementwise_max(s, lo), hi);
        }
    }
}

// Small planes (rk_depthwise_f32_scratch_floats) are first copied into a zero-padded plane in `scratch`,
// so every pixel runs the vector rows: at 7x7 or 14x14 the border pixels would otherwise be most of them.
#define RK_DEPTHWISE(NAME, ATTR, VL)                                                                             \
    ATTR static void NAME(const rk_conv_geometry *g, const float *in, const float *weight, const float *bias, float *out, \
                          float lo, float hi, int32_t c0, int32_t c1, float *scratch) {                        \
        const int32_t H = g->inHeight, W = g->inWidth, OH = g->outHeight, OW = g->outWidth;                    \
        const int32_t K = g->kernelHeight, S = g->strideHeight;                                                \
        const int32_t Hp = H + g->padTop + g->padBottom, Wp = W + g->padLeft + g->padRight;                    \
        if (scratch) memset(scratch, 0, sizeof(float) * (size_t)Hp * (size_t)Wp);                              \
        for (int32_t c = c0; c < c1; c++) {                                                                    \
            const float *src = in + (int64_t)c * H * W, *w = weight + (int64_t)c * K * K;                      \
            int32_t h = H, wd = W, pt = g->padTop, pl = g->padLeft;                                            \
            if (scratch) {                                                                                     \
                for (int32_t ih = 0; ih < H; ih++)                                                             \
                    memcpy(scratch + (int64_t)(ih + pt) * Wp + pl, src + (int64_t)ih * W, sizeof(float) * (size_t)W); \
                src = scratch, h = Hp, wd = Wp, pt = 0, pl = 0;                                                \
            }                                                                                                  \
            float *dst = out + (int64_t)c * OH * OW;                                                           \
            if (K == 3 && S == 1) depthwise_plane(src, h, wd, dst, OH, OW, w, bias[c], 3, 3, 1, pt, pl, lo, hi, VL); \
            else if (K == 3) depthwise_plane(src, h, wd, dst, OH, OW, w, bias[c], 3, 3, 2, pt, pl, lo, hi, VL); \
            else if (S == 1) depthwise_plane(src, h, wd, dst, OH, OW, w, bias[c], 5, 5, 1, pt, pl, lo, hi, VL); \
            else depthwise_plane(src, h, wd, dst, OH, OW, w, bias[c], 5, 5, 2, pt, pl, lo, hi, VL);            \
        }                                                                                                      \
    }

RK_DEPTHWISE(depthwise_portable, , 1)
#if RK_F_X86
RK_DEPTHWISE(depthwise_avx512, RK_F_AVX512, 8)
RK_DEPTHWISE(depthwise_avx2, RK_F_AVX2, 8)
#endif
#if RK_F_NEON
RK_DEPTHWISE(depthwise_neon, , 4)
#endif

int32_t rk_depthwise_f32_supported(const rk_conv_geometry *g) {
    const int32_t K = g->kernelHeight;
    return g->group == g->inChannels && g->outChannels == g->inChannels && g->kernelWidth == K && (K == 3 || K == 5)
        && g->strideHeight == g->strideWidth && (g->strideHeight == 1 || g->strideHeight == 2)
        && g->dilationHeight == 1 && g->dilationWidth == 1;
}

static void depthwise_range(float_set set, const rk_conv_geometry *g, const float *in, const float *weight, const float *bias,
                            float *out, float lo, float hi, int32_t c0, int32_t c1, float *scratch) {
    switch (set) {
#if RK_F_X86
    case FLOAT_AVX512: depthwise_avx512(g, in, weight, bias, out, lo, hi, c0, c1, scratch); return;
    case FLOAT_AVX2: depthwise_avx2(g, in, weight, bias, out, lo, hi, c0, c1, scratch); return;
#endif
#if RK_F_NEON
    case FLOAT_NEON: depthwise_neon(g, in, weight, bias, out, lo, hi, c0, c1, scratch); return;
#endif
    default: depthwise_portable(g, in, weight, bias, out, lo, hi, c0, c1, scratch); return;
    }
}

int64_t rk_depthwise_f32_scratch_floats(const rk_conv_geometry *g) {
    if (g->outWidth >= 32) return 0;
    return ((int64_t)g->inHeight + g->padTop + g->padBottom) * ((int64_t)g->inWidth + g->padLeft + g->padRight);
}

void rk_depthwise_f32(const rk_conv_geometry *g, const float *in, const float *weight, const float *bias, float *out, float lo, float hi,
                      float *scratch) {
    depthwise_range(float_kernels(), g, in, weight, bias, out, lo, hi, 0, g->inChannels, rk_depthwise_f32_scratch_floats(g) ? scratch : NULL);
}

typedef struct {
    float_set set;
    const rk_conv_geometry *g;
    const float *in, *weight, *bias;
    float *out;
    float lo, hi;
    float *scratch;
    int64_t scratchStride;
} depthwise_job;

static void depthwise_part(void *context, int32_t part, int32_t parts) {
    const depthwise_job *job = context;
    const int32_t C = job->g->inChannels;
    const int32_t first = (int32_t)((int64_t)C * part / parts), last = (int32_t)((int64_t)C * (part + 1) / parts);
    float *scratch = job->scratch ? job->scratch + part * job->scratchStride : NULL;
    if (first < last) depthwise_range(job->set, job->g, job->in, job->weight, job->bias, job->out, job->lo, job->hi, first, last, scratch);
}

void rk_depthwise_f32_parallel(rk_pool *pool, const rk_conv_geometry *g, const float *in, const float *weight, const float *bias,
                               float *out, float lo, float hi, float *scratch, int64_t scratchStride) {
    depthwise_job job = {float_kernels(), g, in, weight, bias, out, lo, hi, rk_depthwise_f32_scratch_floats(g) ? scratch : NULL, scratchStride};
    if (rk_pool_threads(pool) == 1) {
        depthwise_part(&job, 0, 1);
        return;
    }
    rk_pool_run(pool, depthwise_part, &job);
}
