// Declarations shared by the int8 kernel files of this target (not part of the public header).
#ifndef RK_INT8_INTERNAL_H
#define RK_INT8_INTERNAL_H

#include "CInferenceKernels.h"

#include <math.h>
#include <string.h>

// Plain loops are also compiled for AVX2 on x86-64 and picked at load time (ifunc), since the x86-64
// baseline (SSE2) lacks even a 32-bit vector multiply.
#if defined(__x86_64__) && defined(__clang__)
#define RK_MULTIVERSION __attribute__((target_clones("avx2", "default")))
#else
#define RK_MULTIVERSION
#endif

// Which fast kernels this build has (each file compiles to stubs elsewhere).
#if defined(__x86_64__) && defined(__clang__)
#define RK_X86 1
#else
#define RK_X86 0
#endif
#if defined(__aarch64__) && defined(__clang__) && defined(__linux__)
#define RK_ARM_NEON 1
#else
#define RK_ARM_NEON 0
#endif

static inline int32_t imin(int32_t a, int32_t b) { return a < b ? a : b; }

// The fast depthwise kernels keep one source pointer per tap: kernels of up to 64 taps (8x8).
#define RK_DW_MAX_TAPS 64

// Byte offset of each tap from a pixel's first tap, inside the image.
static inline void rk__depthwise_offsets(const rk_conv_geometry *g, int64_t offsets[RK_DW_MAX_TAPS]) {
    for (int32_t kh = 0; kh < g->kernelHeight; kh++)
        for (int32_t kw = 0; kw < g->kernelWidth; kw++)
            offsets[kh * g->kernelWidth + kw] = ((int64_t)kh * g->dilationHeight * g->inWidth + (int64_t)kw * g->dilationWidth) * g->inChannels;
}

// Input pixel under each tap of `pixels` neighbouring output pixels (row oh, columns ow0, ow0 + 1, ...) for
// the vector depthwise kernels: sources[p][t], or `zeroRow` (C + 64 bytes of the input zero point) where
// the tap falls outside the image, so border pixels run the same code as interior ones. Pixels past
// `count` repeat the last one (computed, not stored), so every step has the same shape.
static inline void rk__depthwise_sources(const rk_conv_geometry *g, const uint8_t *in, const uint8_t *zeroRow,
                                         const int64_t offsets[RK_DW_MAX_TAPS], int32_t oh, int32_t ow0, int32_t count,
                                         const int32_t pixels, const uint8_t *sources[][RK_DW_MAX_TAPS]) {
    const int32_t C = g->inChannels, KH = g->kernelHeight, KW = g->kernelWidth, taps = KH * KW;
    const int32_t ih0 = oh * g->strideHeight - g->padTop, iw0 = ow0 * g->strideWidth - g->padLeft;
    const int interior = count == pixels && ih0 >= 0 && ih0 + (KH - 1) * g->dilationHeight < g->inHeight
        && iw0 >= 0 && iw0 + (pixels - 1) * g->strideWidth + (KW - 1) * g->dilationWidth < g->inWidth;
    if (interior) {
        // Every tap inside the image: fixed offsets from each pixel's first tap, no bounds checks.
        const uint8_t *origin = in + ((int64_t)ih0 * g->inWidth + iw0) * C;
        for (int32_t p = 0; p < pixels; p++) {
            const uint8_t *first = origin + (int64_t)p * g->strideWidth * C;
            for (int32_t t = 0; t < taps; t++) sources[p][t] = first + offsets[t];
        }
        return;
    }
    for (int32_t p = 0; p < pixels; p++) {
        const int32_t ow = ow0 + imin(p, count - 1);
        for (int32_t kh = 0; kh < KH; kh++) {
            const int32_t ih = ih0 + kh * g->dilationHeight;
            for (int32_t kw = 0; kw < KW; kw++) {
                const int32_t iw = ow * g->strideWidth - g->padLeft + kw * g->dilationWidth;
                const int inside = ih >= 0 && ih < g->inHeight && iw >= 0 && iw < g->inWidth;
                sources[p][kh * KW + kw] = inside ? in + ((int64_t)ih * g->inWidth + iw) * C : zeroRow;
            }
        }
    }
}

// Requantizes one accumulator: clamp(round_half_even(acc * multiplier) + zero point). Clamping the float
// before rounding gives the same result as after (the bounds are integers) and cannot overflow the cast.
static inline int32_t requantize(int32_t acc, float multiplier, float lo, float hi, int32_t zero) {
    const float v = fminf(fmaxf((float)acc * multiplier, lo), hi);
    return (int32_t)nearbyintf(v) + zero;
}

// The portable kernels: the reference every fast path must match byte for byte.
void rk__gemm_portable(int32_t P, int32_t M, int32_t K, const uint8_t *a, int64_t lda, uint8_t flip, const int8_t *packed,
                       const int32_t *bias, void *out, int64_t ldc, const rk_requant *rq);
void rk__depthwise_portable(const rk_conv_geometry *g, const void *in, int32_t inputSigned, const int32_t *weight,
                            const int32_t *bias, int32_t zero, void *out, const rk_requant *rq, int32_t *acc);

// The sets of fast kernels, one per instruction set (and file).
typedef enum {
    RK_KERNELS_PORTABLE,
    RK_KERNELS_AVX2,   // int8_avx2.c
    RK_KERNELS_VNNI,   // int8_x86.c
    RK_KERNELS_NEON,   // int8_arm.c
    RK_KERNELS_SDOT,   // int8_arm.c
} rk_kernel_set;

// The set the fast paths use: the CPU's best, or the one a test selected (rk_select_int8_kernels),
// whether or not rk_force_portable is on. rk_depthwise_pack keys its layout on it.
rk_kernel_set rk__kernel_set(void);

// x86-64 with AVX-512 VNNI (int8_x86.c); rk__vnni_cpu() is 0 elsewhere.
int32_t rk__vnni_cpu(void);
void rk__gemm_vnni(int32_t P, int32_t M, int32_t K, const uint8_t *a, int64_t lda, uint8_t flip, const int8_t *packed,
                   const int32_t *bias, void *out, int64_t ldc, const rk_requant *rq);
void rk__depthwise_vnni(const rk_conv_geometry *g, const uint8_t *in, int32_t inputSigned, int32_t unsignedZero,
                        const rk_depthwise_packed *packed, void *out, const rk_requant *rq, uint8_t *zeroRow);

// x86-64 with AVX2 only (int8_avx2.c): int16 products summed in pairs by vpmaddwd; rk__avx2_cpu() is 0
// elsewhere. The depthwise kernel reads its own layout (rk__depthwise_pack_avx2).
int32_t rk__avx2_cpu(void);
void rk__gemm_avx2(int32_t P, int32_t M, int32_t K, const uint8_t *a, int64_t lda, uint8_t flip, const int8_t *packed,
                   const int32_t *bias, void *out, int64_t ldc, const rk_requant *rq);
void rk__depthwise_avx2(const rk_conv_geometry *g, const uint8_t *in, int32_t inputSigned, int32_t unsignedZero,
                        const rk_depthwise_packed *packed, void *out, const rk_requant *rq, uint8_t *zeroRow);
void rk__depthwise_pack_avx2(const int32_t *weight, const int32_t *bias, const float *multiplier, int32_t C, int32_t taps,
                             int32_t unsignedZero, int8_t *packedWeight, int32_t *packedBias, float *packedMultiplier);

// AArch64 (int8_arm.c): NEON everywhere, the ARMv8.2 dot product where rk__dot_cpu(); both 0 elsewhere.
int32_t rk__neon_cpu(void);
int32_t rk__dot_cpu(void);
void rk__gemm_dot(int32_t P, int32_t M, int32_t K, const uint8_t *a, int64_t lda, uint8_t flip, const int8_t *packed,
                  const int32_t *bias, void *out, int64_t ldc, const rk_requant *rq);
void rk__gemm_neon(int32_t P, int32_t M, int32_t K, const uint8_t *a, int64_t lda, uint8_t flip, const int8_t *packed,
                   const int32_t *bias, void *out, int64_t ldc, const rk_requant *rq);
void rk__depthwise_dot(const rk_conv_geometry *g, const uint8_t *in, int32_t inputSigned, int32_t unsignedZero,
                       const int8_t *packed, const int32_t *bias, const float *multiplier, void *out,
                       const rk_requant *rq, uint8_t *zeroRow, int32_t *start);
// Cores without the dot product widen to int16 instead and read their own operand layout, which
// rk_depthwise_pack makes on such a core (rk__depthwise_pack_neon).
void rk__depthwise_neon(const rk_conv_geometry *g, const uint8_t *in, int32_t inputSigned, int32_t zero,
                        const rk_depthwise_packed *packed, void *out, const rk_requant *rq, uint8_t *zeroRow);
void rk__depthwise_pack_neon(const int32_t *weight, const int32_t *bias, const float *multiplier, int32_t C, int32_t taps,
                             int8_t *packedWeight, int32_t *packedBias, float *packedMultiplier);

#endif
