// Which int8 kernels run: the CPU's best set of fast kernels (or the one a test selected), unless tests
// have forced the portable kernels.
#include "int8_internal.h"

#include <string.h>

static int32_t forced_portable;
// -1: the CPU's best set; otherwise the rk_kernel_set a test selected.
static int32_t selected = -1;

static rk_kernel_set best_kernels(void) {
    if (rk__vnni_cpu()) return RK_KERNELS_VNNI;
    if (rk__avx2_cpu()) return RK_KERNELS_AVX2;
    if (rk__dot_cpu()) return RK_KERNELS_SDOT;
    if (rk__neon_cpu()) return RK_KERNELS_NEON;   // every AArch64 core
    return RK_KERNELS_PORTABLE;
}

rk_kernel_set rk__kernel_set(void) { return selected >= 0 ? (rk_kernel_set)selected : best_kernels(); }

void rk_force_portable(int32_t on) { forced_portable = on; }

int32_t rk_select_int8_kernels(const char *name) {
    if (name == NULL) {
        selected = -1;
        return 1;
    }
    // A set runs where the CPU has its instructions; each better set implies the one below it.
    static const struct { const char *name; rk_kernel_set set; } sets[] = {
        {"portable", RK_KERNELS_PORTABLE}, {"avx2", RK_KERNELS_AVX2}, {"avx512-vnni", RK_KERNELS_VNNI},
        {"neon", RK_KERNELS_NEON}, {"neon-sdot", RK_KERNELS_SDOT},
    };
    for (size_t i = 0; i < sizeof sets / sizeof sets[0]; i++) {
        if (strcmp(name, sets[i].name) != 0) continue;
        const rk_kernel_set set = sets[i].set, best = best_kernels();
        const int runs = set == RK_KERNELS_PORTABLE || set == best || (set == RK_KERNELS_AVX2 && best == RK_KERNELS_VNNI)
            || (set == RK_KERNELS_NEON && best == RK_KERNELS_SDOT);
        if (!runs) return 0;
        selected = (int32_t)set;
        return 1;
    }
    return 0;
}

int32_t rk_fast_int8_available(void) { return rk__kernel_set() != RK_KERNELS_PORTABLE && !forced_portable; }

const char *rk_int8_kernels(void) {
    if (!rk_fast_int8_available()) return "portable";
    switch (rk__kernel_set()) {
    case RK_KERNELS_VNNI: return "avx512-vnni";
    case RK_KERNELS_AVX2: return "avx2";
    case RK_KERNELS_SDOT: return "neon-sdot";
    case RK_KERNELS_NEON: return "neon";
    default: return "portable";
    }
}

int64_t rk_depthwise_scratch_bytes(int32_t C) {
    // Portable: C int32 accumulators. Fast paths: a row of zero-point bytes (C + 64), then for sdot the
    // bias of every packed slot (C rounded up to 64); the other fast kernels need only the row.
    const int64_t zeroRow = ((int64_t)C + 64 + 63) / 64 * 64, slots = ((int64_t)C + 63) / 64 * 64;
    const int64_t fast = zeroRow + 4 * slots, portable = 4 * (int64_t)C;
    return (fast > portable ? fast : portable) + 64;
}

void rk_qgemm_u8s8(int32_t P, int32_t M, int32_t K, const uint8_t *a, int64_t lda, uint8_t flip, const int8_t *packed,
                   const int32_t *bias, void *out, int64_t ldc, const rk_requant *rq) {
    // Every set reads the same packed layout (rk_gemm_pack), the portable kernel's.
    switch (rk_fast_int8_available() ? rk__kernel_set() : RK_KERNELS_PORTABLE) {
#if RK_X86
    case RK_KERNELS_VNNI: rk__gemm_vnni(P, M, K, a, lda, flip, packed, bias, out, ldc, rq); return;
    case RK_KERNELS_AVX2: rk__gemm_avx2(P, M, K, a, lda, flip, packed, bias, out, ldc, rq); return;
#endif
#if RK_ARM_NEON
    case RK_KERNELS_SDOT: rk__gemm_dot(P, M, K, a, lda, flip, packed, bias, out, ldc, rq); return;
    case RK_KERNELS_NEON: rk__gemm_neon(P, M, K, a, lda, flip, packed, bias, out, ldc, rq); return;
#endif
    default: rk__gemm_portable(P, M, K, a, lda, flip, packed, bias, out, ldc, rq); return;
    }
}

void rk_qdepthwise_nhwc(const rk_conv_geometry *g, const void *in, int32_t inputSigned, int32_t zero, const int32_t *weight,
                        const int32_t *bias, const rk_depthwise_packed *packed, void *out, const rk_requant *rq, void *scratch) {
    // The fast depthwise kernels keep one source pointer per tap on the stack: up to 8x8 kernels. Each
    // reads the operands rk_depthwise_pack made for the same set (rk__kernel_set).
    const int small = g->kernelHeight * g->kernelWidth <= RK_DW_MAX_TAPS;
    const int32_t unsignedZero = zero + (inputSigned ? 128 : 0);
    const uint8_t *bytes = (const uint8_t *)in;
    switch (rk_fast_int8_available() && small ? rk__kernel_set() : RK_KERNELS_PORTABLE) {
#if RK_X86
    case RK_KERNELS_VNNI: rk__depthwise_vnni(g, bytes, inputSigned, unsignedZero, packed, out, rq, (uint8_t *)scratch); return;
    case RK_KERNELS_AVX2: rk__depthwise_avx2(g, bytes, inputSigned, unsignedZero, packed, out, rq, (uint8_t *)scratch); return;
#endif
#if RK_ARM_NEON
    case RK_KERNELS_SDOT: {
        const int64_t zeroRow = ((int64_t)g->inChannels + 64 + 63) / 64 * 64;
        rk__depthwise_dot(g, bytes, inputSigned, unsignedZero, packed->weight, packed->bias, packed->multiplier, out, rq,
                          (uint8_t *)scratch, (int32_t *)((uint8_t *)scratch + zeroRow));
        return;
    }
    case RK_KERNELS_NEON: rk__depthwise_neon(g, bytes, inputSigned, zero, packed, out, rq, (uint8_t *)scratch); return;
#endif
    default:
        (void)packed;
        (void)unsignedZero;
        (void)bytes;
        rk__depthwise_portable(g, in, inputSigned, weight, bias, zero, out, rq, (int32_t *)scratch);
        return;
    }
}
