// Which int8 kernel runs: the CPU's fast path when it has one (and tests have not forced the portable
// kernels), the portable kernel otherwise.
#include "int8_internal.h"

static int32_t forced_portable;

void rk_force_portable(int32_t on) { forced_portable = on; }

int32_t rk_fast_int8_available(void) {
    // Every AArch64 core has NEON; the dot product is a further step.
    return (rk__vnni_cpu() || rk__neon_cpu()) && !forced_portable;
}

const char *rk_int8_kernels(void) {
    if (!rk_fast_int8_available()) return "portable";
    if (rk__vnni_cpu()) return "avx512-vnni";
    return rk__dot_cpu() ? "neon-sdot" : "neon";
}

int64_t rk_depthwise_scratch_bytes(int32_t C) {
    // Portable: C int32 accumulators. Fast paths: a row of zero-point bytes (C + 64), then for sdot the
    // bias of every packed slot (C rounded up to 64); the widening NEON kernel needs only the row.
    const int64_t zeroRow = ((int64_t)C + 64 + 63) / 64 * 64, slots = ((int64_t)C + 63) / 64 * 64;
    const int64_t fast = zeroRow + 4 * slots, portable = 4 * (int64_t)C;
    return (fast > portable ? fast : portable) + 64;
}

void rk_qgemm_u8s8(int32_t P, int32_t M, int32_t K, const uint8_t *a, int64_t lda, uint8_t flip, const int8_t *packed,
                   const int32_t *bias, void *out, int64_t ldc, const rk_requant *rq) {
    if (rk_fast_int8_available()) {
#if RK_X86_VNNI
        rk__gemm_vnni(P, M, K, a, lda, flip, packed, bias, out, ldc, rq);
        return;
#elif RK_ARM_NEON
        if (rk__dot_cpu()) rk__gemm_dot(P, M, K, a, lda, flip, packed, bias, out, ldc, rq);
        else rk__gemm_neon(P, M, K, a, lda, flip, packed, bias, out, ldc, rq);
        return;
#endif
    }
    rk__gemm_portable(P, M, K, a, lda, flip, packed, bias, out, ldc, rq);
}

void rk_qdepthwise_nhwc(const rk_conv_geometry *g, const void *in, int32_t inputSigned, int32_t zero, const int32_t *weight,
                        const int32_t *bias, const rk_depthwise_packed *packed, void *out, const rk_requant *rq, void *scratch) {
    // The fast depthwise kernels keep one source pointer per tap on the stack: up to 8x8 kernels.
    const int small = g->kernelHeight * g->kernelWidth <= RK_DW_MAX_TAPS;
    const int32_t unsignedZero = zero + (inputSigned ? 128 : 0);
#if RK_X86_VNNI
    if (rk_fast_int8_available() && small) {
        rk__depthwise_vnni(g, (const uint8_t *)in, inputSigned, unsignedZero, packed, out, rq, (uint8_t *)scratch);
        return;
    }
#elif RK_ARM_NEON
    if (rk_fast_int8_available() && small) {
        if (rk__dot_cpu()) {
            const int64_t zeroRow = ((int64_t)g->inChannels + 64 + 63) / 64 * 64;
            rk__depthwise_dot(g, (const uint8_t *)in, inputSigned, unsignedZero, packed->weight, packed->bias, packed->multiplier,
                              out, rq, (uint8_t *)scratch, (int32_t *)((uint8_t *)scratch + zeroRow));
        } else {
            // Operands packed by rk__depthwise_pack_neon (rk_depthwise_pack on this core).
            rk__depthwise_neon(g, (const uint8_t *)in, inputSigned, zero, packed, out, rq, (uint8_t *)scratch);
        }
        return;
    }
#endif
    (void)packed;
    (void)small;
    (void)unsignedZero;
    rk__depthwise_portable(g, in, inputSigned, weight, bias, zero, out, rq, (int32_t *)scratch);
}
