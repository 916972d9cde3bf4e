// x86-64 int8 kernels on AVX-512 VNNI (vpdpbusd: 4 u8 x s8 products summed into each int32 lane),
// compiled with per-function target attributes and chosen at run time (int8_dispatch.c).
#include "int8_internal.h"

#if RK_X86
#include <immintrin.h>
#define RK_VNNI __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni")))
#define RK_INLINE_VNNI static inline __attribute__((always_inline, target("avx512f,avx512bw,avx512vl,avx512vnni")))

int32_t rk__vnni_cpu(void) {
    static int32_t cached = -1;
    if (cached < 0) {
        __builtin_cpu_init();
        cached = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw")
            && __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vnni");
    }
    return cached;
}

// Requantizes 16 accumulators of one block and stores the `lanes` first bytes.
RK_INLINE_VNNI void store_block(__m512i acc, __m512 multiplier, __m512 lo, __m512 hi, __m512i zero, uint8_t *dst, __mmask16 mask) {
    __m512 v = _mm512_mul_ps(_mm512_cvtepi32_ps(acc), multiplier);
    v = _mm512_min_ps(_mm512_max_ps(v, lo), hi);
    // Default MXCSR rounding is round half to even, as nearbyintf in the portable kernels.
    const __m512i q = _mm512_add_epi32(_mm512_cvtps_epi32(v), zero);
    _mm_mask_storeu_epi8(dst, mask, _mm512_cvtepi32_epi8(q));
}

// One tile: ROWS pixels x NB blocks of 16 output channels, accumulators in registers.
// Rows past `count` repeat the last pixel and are not stored, so every tile runs the same code.
RK_INLINE_VNNI void gemm_tile(const int ROWS, const int NB, int32_t count, int32_t groups, const uint8_t *a, int64_t lda, __m512i flip,
                              const int8_t *w, int64_t blockStride, const int32_t *bias, const float *multiplier,
                              int32_t lastLanes, uint8_t *out, int64_t ldc, __m512 lo, __m512 hi, __m512i zero) {
    __m512i acc[12][4];
    const uint8_t *rows[12];
    for (int r = 0; r < ROWS; r++) rows[r] = a + (int64_t)imin(r, count - 1) * lda;
    for (int b = 0; b < NB; b++) {
        const __m512i start = _mm512_loadu_si512((const void *)(bias + b * 16));
        for (int r = 0; r < ROWS; r++) acc[r][b] = start;
    }
    for (int32_t gi = 0; gi < groups; gi++) {
        __m512i wv[4];
        for (int b = 0; b < NB; b++) wv[b] = _mm512_loadu_si512((const void *)(w + b * blockStride + (int64_t)gi * 64));
        for (int r = 0; r < ROWS; r++) {
            int32_t four;
            memcpy(&four, rows[r] + gi * 4, 4);
            const __m512i x = _mm512_xor_si512(_mm512_set1_epi32(four), flip);
            for (int b = 0; b < NB; b++) acc[r][b] = _mm512_dpbusd_epi32(acc[r][b], x, wv[b]);
        }
    }
    for (int b = 0; b < NB; b++) {
        const __m512 m = _mm512_loadu_ps(multiplier + b * 16);
        const __mmask16 mask = b == NB - 1 ? (__mmask16)((1u << lastLanes) - 1) : (__mmask16)0xFFFF;
        for (int r = 0; r < ROWS; r++) {
            if (r < count) store_block(acc[r][b], m, lo, hi, zero, out + (int64_t)r * ldc + b * 16, mask);
        }
    }
}

RK_INLINE_VNNI void gemm_columns(const int ROWS, const int NB, int32_t P, int32_t groups, const uint8_t *a, int64_t lda, __m512i flip,
                                 const int8_t *w, int64_t blockStride, const int32_t *bias, const float *multiplier,
                                 int32_t lastLanes, uint8_t *out, int64_t ldc, __m512 lo, __m512 hi, __m512i zero) {
    for (int32_t p = 0; p < P; p += ROWS)
        gemm_tile(ROWS, NB, imin(ROWS, P - p), groups, a + (int64_t)p * lda, lda, flip, w, blockStride, bias, multiplier,
                  lastLanes, out + (int64_t)p * ldc, ldc, lo, hi, zero);
}

RK_VNNI
void rk__gemm_vnni(int32_t P, int32_t M, int32_t K, const uint8_t *a, int64_t lda, uint8_t flipByte, const int8_t *packed,
                      const int32_t *bias, void *out, int64_t ldc, const rk_requant *rq) {
    const int32_t groups = (K + 3) / 4, blocks = (M + 15) / 16;
    const int64_t blockStride = (int64_t)groups * 64;
    const __m512 lo = _mm512_set1_ps((float)(rq->lo - rq->zeroPoint)), hi = _mm512_set1_ps((float)(rq->hi - rq->zeroPoint));
    const __m512i zero = _mm512_set1_epi32(rq->zeroPoint);
    const __m512i flip = _mm512_set1_epi8((char)flipByte);
    // Columns of up to four blocks (64 output channels); their weights stay in cache while every pixel
    // streams past. Fewer blocks leave registers for more pixels per tile.
    for (int32_t b = 0; b < blocks; b += 4) {
        const int32_t nb = imin(4, blocks - b);
        const int32_t lastLanes = imin(16, M - (b + nb - 1) * 16);
        const int8_t *w = packed + (int64_t)b * blockStride;
        uint8_t *o = (uint8_t *)out + b * 16;
        switch (nb) {
        case 4: gemm_columns(6, 4, P, groups, a, lda, flip, w, blockStride, bias + b * 16, rq->multiplier + b * 16, lastLanes, o, ldc, lo, hi, zero); break;
        case 3: gemm_columns(8, 3, P, groups, a, lda, flip, w, blockStride, bias + b * 16, rq->multiplier + b * 16, lastLanes, o, ldc, lo, hi, zero); break;
        case 2: gemm_columns(12, 2, P, groups, a, lda, flip, w, blockStride, bias + b * 16, rq->multiplier + b * 16, lastLanes, o, ldc, lo, hi, zero); break;
        default: gemm_columns(12, 1, P, groups, a, lda, flip, w, blockStride, bias + b * 16, rq->multiplier + b * 16, lastLanes, o, ldc, lo, hi, zero); break;
        }
    }
}

// Requantizes 16 accumulators into 16 bytes (in the low lanes of the result).
RK_INLINE_VNNI __m128i requantize16(__m512i acc, __m512 multiplier, __m512 lo, __m512 hi, __m512i zero) {
    __m512 v = _mm512_mul_ps(_mm512_cvtepi32_ps(acc), multiplier);
    v = _mm512_min_ps(_mm512_max_ps(v, lo), hi);
    return _mm512_cvtepi32_epi8(_mm512_add_epi32(_mm512_cvtps_epi32(v), zero));
}

// Depthwise on the dot-product instruction: one 64-byte load holds 64 channels of a tap, and four
// vpdpbusd with weights that keep one byte of every four (see rk_depthwise_pack) accumulate channels
// 4i+j into lane i of accumulator j, so no byte is widened. Taps outside the image read a row of the
// input zero point instead (the bias has the zero-point correction of all taps folded in), which makes
// border pixels the same code as interior ones.
// Byte i of bj is byte 4i+j of the result: interleaves four requantized accumulators back into order.
RK_INLINE_VNNI __m512i interleave64(__m128i b0, __m128i b1, __m128i b2, __m128i b3) {
    const __m128i lo01 = _mm_unpacklo_epi8(b0, b1), hi01 = _mm_unpackhi_epi8(b0, b1);
    const __m128i lo23 = _mm_unpacklo_epi8(b2, b3), hi23 = _mm_unpackhi_epi8(b2, b3);
    __m512i bytes = _mm512_castsi128_si512(_mm_unpacklo_epi16(lo01, lo23));
    bytes = _mm512_inserti32x4(bytes, _mm_unpackhi_epi16(lo01, lo23), 1);
    bytes = _mm512_inserti32x4(bytes, _mm_unpacklo_epi16(hi01, hi23), 2);
    return _mm512_inserti32x4(bytes, _mm_unpackhi_epi16(hi01, hi23), 3);
}

// Four output pixels at a time: each tap's weight vectors are loaded once for all four, and the 16
// accumulators form independent chains, which hides the latency of vpdpbusd (one chain per accumulator
// would wait on it at every tap).
#define RK_DW_PIXELS 4

RK_INLINE_VNNI void depthwise_rows(const int SIGNED, const rk_conv_geometry *g, const uint8_t *in, const int8_t *packed,
                                   const int32_t *bias, const float *multiplier, void *out, const rk_requant *rq,
                                   const uint8_t *zeroRow) {
    const int32_t C = g->inChannels, KH = g->kernelHeight, KW = g->kernelWidth, taps = KH * KW;
    const int32_t blocks = (C + 63) / 64;
    const __m512 lo = _mm512_set1_ps((float)(rq->lo - rq->zeroPoint)), hi = _mm512_set1_ps((float)(rq->hi - rq->zeroPoint));
    const __m512i outZero = _mm512_set1_epi32(rq->zeroPoint);
    const __m512i flip = _mm512_set1_epi8((char)0x80);
    const uint8_t *sources[RK_DW_PIXELS][RK_DW_MAX_TAPS];
    int64_t offsets[RK_DW_MAX_TAPS];
    rk__depthwise_offsets(g, offsets);
    for (int32_t oh = 0; oh < g->outHeight; oh++) {
        for (int32_t ow0 = 0; ow0 < g->outWidth; ow0 += RK_DW_PIXELS) {
            const int32_t count = imin(RK_DW_PIXELS, g->outWidth - ow0);
            rk__depthwise_sources(g, in, zeroRow, offsets, oh, ow0, count, RK_DW_PIXELS, sources);
            uint8_t *dst = (uint8_t *)out + ((int64_t)oh * g->outWidth + ow0) * C;
            for (int32_t b = 0; b < blocks; b++) {
                const int32_t c = b * 64;
                const __mmask64 mask = C - c >= 64 ? ~(__mmask64)0 : (((__mmask64)1 << (C - c)) - 1);
                const int32_t *bb = bias + (int64_t)b * 64;
                __m512i acc[RK_DW_PIXELS][4];
                for (int j = 0; j < 4; j++) {
                    const __m512i start = _mm512_loadu_si512((const void *)(bb + 16 * j));
                    for (int p = 0; p < RK_DW_PIXELS; p++) acc[p][j] = start;
                }
                const int8_t *w = packed + (int64_t)b * taps * 256;
                for (int32_t t = 0; t < taps; t++, w += 256) {
                    const __m512i w0 = _mm512_loadu_si512((const void *)w), w1 = _mm512_loadu_si512((const void *)(w + 64));
                    const __m512i w2 = _mm512_loadu_si512((const void *)(w + 128)), w3 = _mm512_loadu_si512((const void *)(w + 192));
                    for (int p = 0; p < RK_DW_PIXELS; p++) {
                        __m512i x = _mm512_maskz_loadu_epi8(mask, sources[p][t] + c);
                        if (SIGNED) x = _mm512_xor_si512(x, flip);
                        acc[p][0] = _mm512_dpbusd_epi32(acc[p][0], x, w0);
                        acc[p][1] = _mm512_dpbusd_epi32(acc[p][1], x, w1);
                        acc[p][2] = _mm512_dpbusd_epi32(acc[p][2], x, w2);
                        acc[p][3] = _mm512_dpbusd_epi32(acc[p][3], x, w3);
                    }
                }
                const float *m = multiplier + (int64_t)b * 64;
                const __m512 m0 = _mm512_loadu_ps(m), m1 = _mm512_loadu_ps(m + 16), m2 = _mm512_loadu_ps(m + 32), m3 = _mm512_loadu_ps(m + 48);
                for (int p = 0; p < RK_DW_PIXELS; p++) {
                    if (p >= count) break;
                    const __m128i b0 = requantize16(acc[p][0], m0, lo, hi, outZero);
                    const __m128i b1 = requantize16(acc[p][1], m1, lo, hi, outZero);
                    const __m128i b2 = requantize16(acc[p][2], m2, lo, hi, outZero);
                    const __m128i b3 = requantize16(acc[p][3], m3, lo, hi, outZero);
                    _mm512_mask_storeu_epi8(dst + (int64_t)p * C + c, mask, interleave64(b0, b1, b2, b3));
                }
            }
        }
    }
}

// Few channels (C = 1, 2, 4, 8, 16 or 32) with stride and dilation 1 along the width: 64/C neighbouring
// output pixels read 64 contiguous input bytes per tap, so one vector holds 64/C pixels x C channels
// instead of a 64-channel block mostly empty (the first layers of MobileNets have 8 to 32 channels at
// 112x112). Weights, bias and multipliers are tiled to that pattern (rk_depthwise_pack_flat). Taps that
// fall outside the image take the zero point through merge-masked loads, which never touch masked bytes.
RK_INLINE_VNNI void depthwise_flat_rows(const int SIGNED, const rk_conv_geometry *g, const uint8_t *in, const int8_t *packed,
                                        const int32_t *bias, const float *multiplier, void *out, const rk_requant *rq,
                                        uint8_t zeroByte) {
    const int32_t C = g->inChannels, KH = g->kernelHeight, KW = g->kernelWidth, group = 64 / C;
    const __m512 lo = _mm512_set1_ps((float)(rq->lo - rq->zeroPoint)), hi = _mm512_set1_ps((float)(rq->hi - rq->zeroPoint));
    const __m512i outZero = _mm512_set1_epi32(rq->zeroPoint);
    const __m512i flip = _mm512_set1_epi8((char)0x80), zeroBytes = _mm512_set1_epi8((char)zeroByte);
    __m512i start[4];
    __m512 m[4];
    for (int j = 0; j < 4; j++) {
        start[j] = _mm512_loadu_si512((const void *)(bias + 16 * j));
        m[j] = _mm512_loadu_ps(multiplier + 16 * j);
    }
    const __mmask64 pixelBits = (((__mmask64)1 << C) - 1);
    // Four vectors (4 x 64/C pixels) at a time: independent accumulator chains, weights loaded once per tap.
    const int32_t span = 4 * group;
    for (int32_t oh = 0; oh < g->outHeight; oh++) {
        for (int32_t ow0 = 0; ow0 < g->outWidth; ow0 += span) {
            __m512i acc[4][4];
            for (int v = 0; v < 4; v++)
                for (int j = 0; j < 4; j++) acc[v][j] = start[j];
            const int32_t first = ow0 - g->padLeft;   // input column of the first pixel's first tap
            const int inside = first >= 0 && first + span - 1 + KW - 1 < g->inWidth;
            const int8_t *w = packed;
            for (int32_t kh = 0; kh < KH; kh++) {
                const int32_t ih = oh * g->strideHeight - g->padTop + kh * g->dilationHeight;
                const int rowInside = ih >= 0 && ih < g->inHeight;
                for (int32_t kw = 0; kw < KW; kw++, w += 256) {
                    const __m512i w0 = _mm512_loadu_si512((const void *)w), w1 = _mm512_loadu_si512((const void *)(w + 64));
                    const __m512i w2 = _mm512_loadu_si512((const void *)(w + 128)), w3 = _mm512_loadu_si512((const void *)(w + 192));
                    for (int v = 0; v < 4; v++) {
                        const int32_t iw0 = first + v * group + kw;
                        __m512i x = zeroBytes;
                        if (rowInside) {
                            // The address may precede the row; only valid bytes are read.
                            const uintptr_t address = (uintptr_t)in + (uintptr_t)(((int64_t)ih * g->inWidth + iw0) * C);
                            if (inside) {
                                x = _mm512_loadu_si512((const void *)address);
                            } else {
                                __mmask64 valid = 0;
                                for (int32_t p = 0; p < group; p++)
                                    if (iw0 + p >= 0 && iw0 + p < g->inWidth) valid |= pixelBits << (p * C);
                                x = _mm512_mask_loadu_epi8(zeroBytes, valid, (const void *)address);
                            }
                        }
                        if (SIGNED) x = _mm512_xor_si512(x, flip);
                        acc[v][0] = _mm512_dpbusd_epi32(acc[v][0], x, w0);
                        acc[v][1] = _mm512_dpbusd_epi32(acc[v][1], x, w1);
                        acc[v][2] = _mm512_dpbusd_epi32(acc[v][2], x, w2);
                        acc[v][3] = _mm512_dpbusd_epi32(acc[v][3], x, w3);
                    }
                }
            }
            for (int v = 0; v < 4; v++) {
                const int32_t count = imin(group, g->outWidth - (ow0 + v * group));
                if (count <= 0) break;
                const __m512i bytes = interleave64(requantize16(acc[v][0], m[0], lo, hi, outZero), requantize16(acc[v][1], m[1], lo, hi, outZero),
                                                   requantize16(acc[v][2], m[2], lo, hi, outZero), requantize16(acc[v][3], m[3], lo, hi, outZero));
                const __mmask64 store = count * C >= 64 ? ~(__mmask64)0 : (((__mmask64)1 << (count * C)) - 1);
                _mm512_mask_storeu_epi8((uint8_t *)out + ((int64_t)oh * g->outWidth + ow0 + v * group) * C, store, bytes);
            }
        }
    }
}

RK_VNNI
void rk__depthwise_vnni(const rk_conv_geometry *g, const uint8_t *in, int32_t inputSigned, int32_t unsignedZero,
                           const rk_depthwise_packed *packed, void *out, const rk_requant *rq, uint8_t *zeroRow) {
    // Raw input bytes of the zero point (signed input is flipped after loading, these bytes too).
    const uint8_t zeroByte = (uint8_t)((unsignedZero ^ (inputSigned ? 0x80 : 0)) & 0xFF);
    if (packed->flatWeight && g->strideWidth == 1 && g->dilationWidth == 1) {
        if (inputSigned) depthwise_flat_rows(1, g, in, packed->flatWeight, packed->flatBias, packed->flatMultiplier, out, rq, zeroByte);
        else depthwise_flat_rows(0, g, in, packed->flatWeight, packed->flatBias, packed->flatMultiplier, out, rq, zeroByte);
        return;
    }
    memset(zeroRow, zeroByte, (size_t)g->inChannels + 64);
    if (inputSigned) depthwise_rows(1, g, in, packed->weight, packed->bias, packed->multiplier, out, rq, zeroRow);
    else depthwise_rows(0, g, in, packed->weight, packed->bias, packed->multiplier, out, rq, zeroRow);
}
#else
int32_t rk__vnni_cpu(void) { return 0; }
#endif
