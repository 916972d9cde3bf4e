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
#define RK_X86_VNNI 1
#else
#define RK_X86_VNNI 0
#endif
#if defined(__aarch64__) && defined(__clang__) && defined(__linux__)
#define RK_ARM_NEON 1
#else
#define RK_ARM_NEON 0
#endif

static inline int32_t imin(int32_t a, int32_t b) { return a < b ? a : b; }

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

// x86-64 with AVX-512 VNNI (int8_x86.c); rk__vnni_cpu() is 0 elsewhere.
int32_t rk__vnni_cpu(void);
void rk__gemm_vnni(int32_t P, int32_t M, int32_t K, const uint8_t *a, int64_t lda, uint8_t flip, const int8_t *packed,
                   const int32_t *bias, void *out, int64_t ldc, const rk_requant *rq);
void rk__depthwise_vnni(const rk_conv_geometry *g, const uint8_t *in, int32_t inputSigned, int32_t unsignedZero,
                        const rk_depthwise_packed *packed, void *out, const rk_requant *rq, uint8_t *zeroRow);

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

#endif
