// x86-64 int8 kernels for CPUs with AVX2 but not AVX-512 VNNI (Intel Atom/Celeron/Core gateways before
// Ice Lake, AMD Zen 2 and 3), compiled with per-function target attributes and chosen at run time
// (int8_dispatch.c).
//
// AVX2 has no exact 8-bit dot product: vpmaddubsw adds two u8 x s8 products into a saturating int16,
// which 255 x 127 x 2 overflows. So bytes are widened to int16 first and multiplied with vpmaddwd
// (two int16 x int16 products summed into an int32 lane), exact like the portable loop's int32 sums.
#include "int8_internal.h"

#if RK_X86
#include <immintrin.h>
#define RK_AVX2 __attribute__((target("avx2")))
#define RK_INLINE_AVX2 static inline __attribute__((always_inline, target("avx2")))

int32_t rk__avx2_cpu(void) {
    static int32_t cached = -1;
    if (cached < 0) {
        __builtin_cpu_init();
        cached = __builtin_cpu_supports("avx2");
    }
    return cached;
}

// Requantizes 8 accumulators as requantize() does (default MXCSR rounding is half to even, as nearbyintf).
RK_INLINE_AVX2 __m256i requantize8(__m256i acc, __m256 multiplier, __m256 lo, __m256 hi, __m256i zero) {
    __m256 v = _mm256_mul_ps(_mm256_cvtepi32_ps(acc), multiplier);
    v = _mm256_min_ps(_mm256_max_ps(v, lo), hi);
    return _mm256_add_epi32(_mm256_cvtps_epi32(v), zero);
}

// 16 int16 values, in order, narrowed to bytes. They lie in the output type's range (requantize clamps),
// so the saturating pack of that type keeps them as they are.
RK_INLINE_AVX2 __m128i narrow_words(__m256i words, int32_t outputSigned) {
    const __m128i low = _mm256_castsi256_si128(words), high = _mm256_extracti128_si256(words, 1);
    return outputSigned ? _mm_packs_epi16(low, high) : _mm_packus_epi16(low, high);
}

static inline void store_lanes(uint8_t *dst, __m128i bytes, int32_t lanes) {
    if (lanes == 16) {
        _mm_storeu_si128((__m128i *)(void *)dst, bytes);
    } else {
        // A full store would overwrite outputs already written (the next pixel's, or the next block's).
        uint8_t staged[16];
        _mm_storeu_si128((__m128i *)(void *)staged, bytes);
        memcpy(dst, staged, (size_t)lanes);
    }
}

// MARK: - Matrix product

// The packed layout of rk_gemm_pack (16 outputs x 4 depth bytes per group), widened as it is loaded:
// 16 bytes are 4 outputs x 4 depth, and vpmaddwd with the pixel's 4 depth values repeated gives per output
// two partial sums (depth 0-1 and 2-3), added pairwise once at the end. Two pixels per tile: their 8
// accumulators, the 4 widened weight vectors and the pixel take 14 of the 16 ymm registers.
#define RK_AVX2_ROWS 2

RK_INLINE_AVX2 void gemm_tile_avx2(const int FLIP, int32_t count, int32_t groups, const uint8_t *a, int64_t lda, __m128i flip, const int8_t *w,
                                   const int32_t *bias, const float *multiplier, int32_t lanes, uint8_t *out, int64_t ldc,
                                   const rk_requant *rq, __m256 lo, __m256 hi, __m256i zero) {
    __m256i acc[RK_AVX2_ROWS][4];
    const uint8_t *rows[RK_AVX2_ROWS];
    for (int r = 0; r < RK_AVX2_ROWS; r++) {
        rows[r] = a + (int64_t)imin(r, count - 1) * lda;   // past the last pixel: repeat it, not stored
        for (int q = 0; q < 4; q++) acc[r][q] = _mm256_setzero_si256();
    }
    for (int32_t gi = 0; gi < groups; gi++) {
        const int8_t *wg = w + (int64_t)gi * 64;
        __m256i wv[4];
        for (int q = 0; q < 4; q++) wv[q] = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(const void *)(wg + 16 * q)));
        for (int r = 0; r < RK_AVX2_ROWS; r++) {
            int32_t four;
            memcpy(&four, rows[r] + gi * 4, 4);
            // The 4 bytes repeated 4 times, zero-extended: 0..255 as int16, depth 0-3 for each output pair.
            __m128i bytes = _mm_set1_epi32(four);
            if (FLIP) bytes = _mm_xor_si128(bytes, flip);
            const __m256i x = _mm256_cvtepu8_epi16(bytes);
            for (int q = 0; q < 4; q++) acc[r][q] = _mm256_add_epi32(acc[r][q], _mm256_madd_epi16(x, wv[q]));
        }
    }
    const __m256i bias0 = _mm256_loadu_si256((const __m256i *)(const void *)bias);
    const __m256i bias1 = _mm256_loadu_si256((const __m256i *)(const void *)(bias + 8));
    const __m256 m0 = _mm256_loadu_ps(multiplier), m1 = _mm256_loadu_ps(multiplier + 8);
    for (int r = 0; r < RK_AVX2_ROWS && r < count; r++) {
        // hadd of the pairs gives outputs (0 1 4 5 | 2 3 6 7); the 64-bit permute puts them in order.
        const __m256i sums0 = _mm256_permute4x64_epi64(_mm256_hadd_epi32(acc[r][0], acc[r][1]), 0xD8);
        const __m256i sums1 = _mm256_permute4x64_epi64(_mm256_hadd_epi32(acc[r][2], acc[r][3]), 0xD8);
        const __m256i q0 = requantize8(_mm256_add_epi32(sums0, bias0), m0, lo, hi, zero);
        const __m256i q1 = requantize8(_mm256_add_epi32(sums1, bias1), m1, lo, hi, zero);
        // The in-lane pack gives (0-3 8-11 | 4-7 12-15); the permute restores the order.
        const __m256i words = _mm256_permute4x64_epi64(_mm256_packs_epi32(q0, q1), 0xD8);
        store_lanes(out + (int64_t)r * ldc, narrow_words(words, rq->outputSigned), lanes);
    }
}

RK_AVX2
void rk__gemm_avx2(int32_t P, int32_t M, int32_t K, const uint8_t *a, int64_t lda, uint8_t flipByte, const int8_t *packed,
                   const int32_t *bias, void *out, int64_t ldc, const rk_requant *rq) {
    const int32_t groups = (K + 3) / 4, blocks = (M + 15) / 16;
    const __m256 lo = _mm256_set1_ps((float)(rq->lo - rq->zeroPoint)), hi = _mm256_set1_ps((float)(rq->hi - rq->zeroPoint));
    const __m256i zero = _mm256_set1_epi32(rq->zeroPoint);
    const __m128i flip = _mm_set1_epi8((char)flipByte);
    for (int32_t b = 0; b < blocks; b++) {
        const int8_t *w = packed + (int64_t)b * groups * 64;
        const int32_t lanes = imin(16, M - b * 16);
        uint8_t *o = (uint8_t *)out + b * 16;
        // uint8 activations (flip 0) are the common case: no xor in their loop.
        for (int32_t p = 0; p < P; p += RK_AVX2_ROWS) {
            if (flipByte)
                gemm_tile_avx2(1, imin(RK_AVX2_ROWS, P - p), groups, a + (int64_t)p * lda, lda, flip, w, bias + b * 16,
                               rq->multiplier + b * 16, lanes, o + (int64_t)p * ldc, ldc, rq, lo, hi, zero);
            else
                gemm_tile_avx2(0, imin(RK_AVX2_ROWS, P - p), groups, a + (int64_t)p * lda, lda, flip, w, bias + b * 16,
                               rq->multiplier + b * 16, lanes, o + (int64_t)p * ldc, ldc, rq, lo, hi, zero);
        }
    }
}

// MARK: - Depthwise

// One step: 16 channels of a tap zero-extended to int16 (vpmovzxbw; signed input is first read as x + 128).
// vpmaddwd multiplies them with two weight vectors, one holding the even channels' weights (zeros between)
// and one the odd ones', so each int32 lane gets exactly one product: accumulator E holds channels
// (0 2 4 6 | 8 10 12 14), O the odd ones. As in the VNNI kernel, the bias has the zero point's share of
// every tap folded in and taps outside the image read a row of the zero point.
//
// Operands (rk__depthwise_pack_avx2), per group of 16 channels: for each tap, the even and the odd weight
// vectors (2 x 16 int16); the bias in accumulator order (E then O); the multipliers in the order
// requantization sees them (0-3 8-11 4-7 12-15, see depthwise_store). 4 bytes per tap and channel, C
// rounded up to 16: within the buffers of the dot-product layout.
//
// Four output pixels per step share each tap's weight vectors and give 8 independent accumulator chains.
#define RK_AVX2_DW_PIXELS 4

void rk__depthwise_pack_avx2(const int32_t *weight, const int32_t *bias, const float *multiplier, int32_t C, int32_t taps,
                             int32_t unsignedZero, int8_t *packedWeight, int32_t *packedBias, float *packedMultiplier) {
    static const int8_t requantOrder[16] = {0, 1, 2, 3, 8, 9, 10, 11, 4, 5, 6, 7, 12, 13, 14, 15};
    const int32_t groups = (C + 15) / 16, slots = (C + 63) / 64 * 64;
    memset(packedWeight, 0, (size_t)rk_depthwise_packed_weight_bytes(C, taps));
    memset(packedBias, 0, sizeof(int32_t) * (size_t)slots);
    memset(packedMultiplier, 0, sizeof(float) * (size_t)slots);
    for (int32_t q = 0; q < groups; q++) {
        for (int32_t i = 0; i < 16; i++) {
            const int32_t c = q * 16 + i;
            if (c >= C) break;
            // Channel i sits in int16 lane i of the widened input; lane i of the even (i even) or odd vector.
            int64_t sum = 0;
            for (int32_t t = 0; t < taps; t++) {
                const int16_t w = (int16_t)weight[(int64_t)t * C + c];
                memcpy(packedWeight + ((int64_t)q * taps + t) * 64 + (i % 2) * 32 + 2 * i, &w, sizeof w);
                sum += w;
            }
            // vpmaddwd puts int16 lanes 2k and 2k + 1 into int32 lane k: channel i is lane i / 2 of E or O.
            const int32_t lane = i / 2;
            // Every tap reads x (the zero point outside the image): sum (x - zero) w = sum x w - zero sum w;
            // wraps like the accumulators.
            packedBias[q * 16 + (i % 2) * 8 + lane] = (int32_t)(uint32_t)((int64_t)bias[c] - (int64_t)unsignedZero * sum);
        }
        for (int32_t j = 0; j < 16; j++) {
            const int32_t c = q * 16 + requantOrder[j];
            packedMultiplier[q * 16 + j] = c < C ? multiplier[c] : 0.0f;
        }
    }
}

// Requantizes the even and odd accumulators of one pixel into its 16 output bytes, in channel order.
RK_INLINE_AVX2 __m128i depthwise_store(__m256i even, __m256i odd, __m256 m0, __m256 m1, __m256 lo, __m256 hi, __m256i zero,
                                       int32_t outputSigned) {
    // Interleaving gives channels (0-3 | 8-11) and (4-7 | 12-15); the in-lane pack of the two then
    // gives (0-7 | 8-15), in order.
    const __m256i first = requantize8(_mm256_unpacklo_epi32(even, odd), m0, lo, hi, zero);
    const __m256i second = requantize8(_mm256_unpackhi_epi32(even, odd), m1, lo, hi, zero);
    return narrow_words(_mm256_packs_epi32(first, second), outputSigned);
}

RK_INLINE_AVX2 void depthwise_avx2_rows(const int SIGNED, const rk_conv_geometry *g, const uint8_t *in, const int8_t *packed,
                                        const int32_t *bias, const float *multiplier, uint8_t *out, const rk_requant *rq,
                                        const uint8_t *zeroRow) {
    const int32_t C = g->inChannels, taps = g->kernelHeight * g->kernelWidth;
    const __m256 lo = _mm256_set1_ps((float)(rq->lo - rq->zeroPoint)), hi = _mm256_set1_ps((float)(rq->hi - rq->zeroPoint));
    const __m256i outZero = _mm256_set1_epi32(rq->zeroPoint);
    const __m128i flip = _mm_set1_epi8((char)0x80);
    int64_t offsets[RK_DW_MAX_TAPS];
    rk__depthwise_offsets(g, offsets);
    const uint8_t *sources[RK_AVX2_DW_PIXELS][RK_DW_MAX_TAPS];
    for (int32_t oh = 0; oh < g->outHeight; oh++) {
        for (int32_t ow0 = 0; ow0 < g->outWidth; ow0 += RK_AVX2_DW_PIXELS) {
            const int32_t count = imin(RK_AVX2_DW_PIXELS, g->outWidth - ow0);
            rk__depthwise_sources(g, in, zeroRow, offsets, oh, ow0, count, RK_AVX2_DW_PIXELS, sources);
            uint8_t *dst = out + ((int64_t)oh * g->outWidth + ow0) * C;
            // The last group of a pixel reads up to 15 bytes past its channels: the next pixel's, or the 64
            // spare bytes every buffer of the plan (and the zero row) has. Their weights are 0, and those lanes
            // are not stored.
            for (int32_t c = 0; c < C; c += 16) {
                const __m256i startEven = _mm256_loadu_si256((const __m256i *)(const void *)(bias + c));
                const __m256i startOdd = _mm256_loadu_si256((const __m256i *)(const void *)(bias + c + 8));
                __m256i even[RK_AVX2_DW_PIXELS], odd[RK_AVX2_DW_PIXELS];
                for (int p = 0; p < RK_AVX2_DW_PIXELS; p++) {
                    even[p] = startEven;
                    odd[p] = startOdd;
                }
                const int8_t *w = packed + (int64_t)(c / 16) * taps * 64;
                for (int32_t t = 0; t < taps; t++, w += 64) {
                    const __m256i we = _mm256_loadu_si256((const __m256i *)(const void *)w);
                    const __m256i wo = _mm256_loadu_si256((const __m256i *)(const void *)(w + 32));
                    for (int p = 0; p < RK_AVX2_DW_PIXELS; p++) {
                        __m128i raw = _mm_loadu_si128((const __m128i *)(const void *)(sources[p][t] + c));
                        if (SIGNED) raw = _mm_xor_si128(raw, flip);
                        const __m256i x = _mm256_cvtepu8_epi16(raw);
                        even[p] = _mm256_add_epi32(even[p], _mm256_madd_epi16(x, we));
                        odd[p] = _mm256_add_epi32(odd[p], _mm256_madd_epi16(x, wo));
                    }
                }
                const __m256 m0 = _mm256_loadu_ps(multiplier + c), m1 = _mm256_loadu_ps(multiplier + c + 8);
                const int32_t lanes = imin(16, C - c);
                for (int p = 0; p < count; p++)
                    store_lanes(dst + (int64_t)p * C + c, depthwise_store(even[p], odd[p], m0, m1, lo, hi, outZero, rq->outputSigned),
                                lanes);
            }
        }
    }
}

RK_AVX2
void rk__depthwise_avx2(const rk_conv_geometry *g, const uint8_t *in, int32_t inputSigned, int32_t unsignedZero,
                        const rk_depthwise_packed *packed, void *out, const rk_requant *rq, uint8_t *zeroRow) {
    // Raw input bytes of the zero point (signed input is flipped after loading, these bytes too).
    memset(zeroRow, (unsignedZero ^ (inputSigned ? 0x80 : 0)) & 0xFF, (size_t)g->inChannels + 64);
    if (inputSigned) depthwise_avx2_rows(1, g, in, packed->weight, packed->bias, packed->multiplier, out, rq, zeroRow);
    else depthwise_avx2_rows(0, g, in, packed->weight, packed->bias, packed->multiplier, out, rq, zeroRow);
}
#else
int32_t rk__avx2_cpu(void) { return 0; }
#endif
