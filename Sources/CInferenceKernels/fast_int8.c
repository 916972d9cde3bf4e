// Integer kernels built on the CPU's 8-bit dot-product instruction (AVX-512 VNNI vpdpbusd: 4 u8 x s8
// products summed into each int32 lane), selected at run time. Results are bit-identical to the
// portable kernels: the same int32 sums, the same float requantization (round half to even).
#include "CInferenceKernels.h"

#include <stdint.h>
#include <string.h>

static int32_t forced_portable;

void rk_force_portable(int32_t on) { forced_portable = on; }

int32_t rk_portable_forced(void) { return forced_portable; }

int64_t rk_pointwise_packed_bytes(int32_t M, int32_t C) {
    return (int64_t)((M + 15) / 16) * ((C + 3) / 4) * 64;
}

void rk_pointwise_pack(const int8_t *weight, int32_t M, int32_t C, int8_t *packed) {
    const int32_t blocks = (M + 15) / 16, groups = (C + 3) / 4;
    for (int32_t b = 0; b < blocks; b++)
        for (int32_t g = 0; g < groups; g++)
            for (int32_t lane = 0; lane < 16; lane++)
                for (int32_t j = 0; j < 4; j++) {
                    const int32_t m = b * 16 + lane, c = g * 4 + j;
                    packed[(((int64_t)b * groups + g) * 16 + lane) * 4 + j] = (m < M && c < C) ? weight[(int64_t)m * C + c] : 0;
                }
}

int64_t rk_pointwise_scratch_bytes(int32_t C, int32_t pixels) {
    return (int64_t)pixels * ((C + 3) / 4) * 4 + 64;
}

#if defined(__x86_64__)
#include <immintrin.h>

int32_t rk_fast_int8_available(void) {
    static int32_t cached = -1;
    if (cached < 0) {
        __builtin_cpu_init();
        cached = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vnni");
    }
    return cached && !forced_portable;
}

__attribute__((target("avx512f,avx512bw,avx512vnni")))
static void pointwise_vnni(int32_t C, int32_t M, int32_t pixels, const void *in, int32_t inputSigned,
                           const int8_t *packed, const int32_t *biasAdjusted, uint8_t *xt, void *out,
                           const rk_requant *rq) {
    const int32_t groups = (C + 3) / 4, stride = groups * 4, blocks = (M + 15) / 16;
    // Pixel-major copy of the input: the 4 channels a vpdpbusd lane needs are adjacent.
    const uint8_t flip = inputSigned ? 0x80 : 0;
    for (int32_t c = 0; c < C; c++) {
        const uint8_t *src = (const uint8_t *)in + (int64_t)c * pixels;
        for (int32_t p = 0; p < pixels; p++) xt[(int64_t)p * stride + c] = src[p] ^ flip;
    }
    for (int32_t c = C; c < stride; c++)
        for (int32_t p = 0; p < pixels; p++) xt[(int64_t)p * stride + c] = 0;

    const __m512i zero = _mm512_set1_epi32(rq->zeroPoint);
    const __m512i lo = _mm512_set1_epi32(rq->lo), hi = _mm512_set1_epi32(rq->hi);
    for (int32_t b = 0; b < blocks; b++) {
        const int32_t lanes = M - b * 16 < 16 ? M - b * 16 : 16;
        const __mmask16 mask = (__mmask16)((1u << lanes) - 1);
        const __m512i bias = _mm512_maskz_loadu_epi32(mask, biasAdjusted + b * 16);
        const __m512 multiplier = _mm512_maskz_loadu_ps(mask, rq->multiplier + b * 16);
        const int8_t *w = packed + (int64_t)b * groups * 64;
        int32_t p = 0;
        for (; p < pixels; p += 4) {
            const int32_t count = pixels - p < 4 ? pixels - p : 4;
            __m512i acc0 = bias, acc1 = bias, acc2 = bias, acc3 = bias;
            const uint8_t *x0 = xt + (int64_t)p * stride;
            const uint8_t *x1 = count > 1 ? x0 + stride : x0;
            const uint8_t *x2 = count > 2 ? x0 + 2 * stride : x0;
            const uint8_t *x3 = count > 3 ? x0 + 3 * stride : x0;
            for (int32_t g = 0; g < groups; g++) {
                const __m512i wv = _mm512_loadu_si512((const void *)(w + (int64_t)g * 64));
                int32_t v0, v1, v2, v3;
                memcpy(&v0, x0 + g * 4, 4);
                memcpy(&v1, x1 + g * 4, 4);
                memcpy(&v2, x2 + g * 4, 4);
                memcpy(&v3, x3 + g * 4, 4);
                acc0 = _mm512_dpbusd_epi32(acc0, _mm512_set1_epi32(v0), wv);
                acc1 = _mm512_dpbusd_epi32(acc1, _mm512_set1_epi32(v1), wv);
                acc2 = _mm512_dpbusd_epi32(acc2, _mm512_set1_epi32(v2), wv);
                acc3 = _mm512_dpbusd_epi32(acc3, _mm512_set1_epi32(v3), wv);
            }
            __m512i accs[4] = {acc0, acc1, acc2, acc3};
            for (int32_t i = 0; i < count; i++) {
                // Default MXCSR rounding is round-half-to-even, as nearbyintf in the portable kernel.
                __m512i q = _mm512_cvtps_epi32(_mm512_mul_ps(_mm512_cvtepi32_ps(accs[i]), multiplier));
                q = _mm512_min_epi32(_mm512_max_epi32(_mm512_add_epi32(q, zero), lo), hi);
                int32_t values[16];
                _mm512_storeu_si512((void *)values, q);
                if (rq->outputSigned) {
                    int8_t *dst = (int8_t *)out + (int64_t)(b * 16) * pixels + p + i;
                    for (int32_t lane = 0; lane < lanes; lane++) dst[(int64_t)lane * pixels] = (int8_t)values[lane];
                } else {
                    uint8_t *dst = (uint8_t *)out + (int64_t)(b * 16) * pixels + p + i;
                    for (int32_t lane = 0; lane < lanes; lane++) dst[(int64_t)lane * pixels] = (uint8_t)values[lane];
                }
            }
        }
    }
}

int32_t rk_qpointwise_fast(int32_t C, int32_t M, int32_t pixels, const void *in, int32_t inputSigned,
                           const int8_t *packed, const int32_t *biasAdjusted, uint8_t *scratch, void *out,
                           const rk_requant *rq) {
    if (!rk_fast_int8_available() || rq->floatOutput) return 0;
    pointwise_vnni(C, M, pixels, in, inputSigned, packed, biasAdjusted, scratch, out, rq);
    return 1;
}

#else

int32_t rk_fast_int8_available(void) { return 0; }

int32_t rk_qpointwise_fast(int32_t C, int32_t M, int32_t pixels, const void *in, int32_t inputSigned,
                           const int8_t *packed, const int32_t *biasAdjusted, uint8_t *scratch, void *out,
                           const rk_requant *rq) {
    (void)C; (void)M; (void)pixels; (void)in; (void)inputSigned; (void)packed; (void)biasAdjusted; (void)scratch; (void)out; (void)rq;
    return 0;
}

#endif
