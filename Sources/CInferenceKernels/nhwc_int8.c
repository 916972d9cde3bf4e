// Integer kernels over channels-last (NHWC) activations, the layout of every quantized 4-D tensor inside
// an integer island: one pixel's channels are adjacent, so a dot-product lane reads 4 of them at once and
// a depthwise kernel vectorises across channels without transposes.
//
// Each kernel has a portable form (plain loops) and, on x86-64 with AVX-512 VNNI, an intrinsic form chosen
// at run time. Both compute the same int32 sums and the same float requantization (round half to even),
// so their outputs are bit-identical; a test compares them on every fixture. On ARM the portable form runs
// (a NEON sdot/udot kernel is the next step there).
#include "CInferenceKernels.h"

#include <math.h>
#include <string.h>

#if defined(__x86_64__) && defined(__clang__)
#define RK_MULTIVERSION __attribute__((target_clones("avx2", "default")))
#else
#define RK_MULTIVERSION
#endif

static inline int32_t imin(int32_t a, int32_t b) { return a < b ? a : b; }

// Requantizes one accumulator: clamp(round_half_even(acc * multiplier) + zero point). Clamping the float
// before rounding gives the same result as after (the bounds are integers) and cannot overflow the cast.
static inline int32_t requantize(int32_t acc, float multiplier, float lo, float hi, int32_t zero) {
    const float v = fminf(fmaxf((float)acc * multiplier, lo), hi);
    return (int32_t)nearbyintf(v) + zero;
}

static inline void store_byte(void *out, int64_t index, int32_t value) { ((uint8_t *)out)[index] = (uint8_t)value; }

// MARK: - Packing

int64_t rk_gemm_packed_bytes(int32_t M, int32_t K) { return (int64_t)((M + 15) / 16) * ((K + 3) / 4) * 64; }

void rk_gemm_pack(const int8_t *weight, int32_t M, int32_t K, int8_t *packed) {
    const int32_t blocks = (M + 15) / 16, groups = (K + 3) / 4;
    for (int32_t b = 0; b < blocks; b++)
        for (int32_t g = 0; g < groups; g++)
            for (int32_t lane = 0; lane < 16; lane++)
                for (int32_t j = 0; j < 4; j++) {
                    const int32_t m = b * 16 + lane, k = g * 4 + j;
                    packed[(((int64_t)b * groups + g) * 16 + lane) * 4 + j] = (m < M && k < K) ? weight[(int64_t)m * K + k] : 0;
                }
}

// MARK: - im2col

// Copies n <= 32 bytes as one or two 16-byte moves. It may write up to 32 bytes and read up to 32 bytes
// past `n`: callers write rows in increasing order (later copies overwrite the excess) and every buffer
// involved has 64 spare bytes at its end.
static inline void copy_short(uint8_t *dst, const uint8_t *src, int32_t n) {
    memcpy(dst, src, 16);
    if (n > 16) memcpy(dst + 16, src + 16, 16);
}

RK_MULTIVERSION
void rk_im2col_nhwc(const rk_conv_geometry *g, const uint8_t *in, int32_t channelOffset, int32_t channels, uint8_t flip,
                    uint8_t padValue, uint8_t *col, int32_t rowBytes) {
    const int32_t C = g->inChannels, KW = g->kernelWidth, K = g->kernelHeight * KW * channels;
    // One group, no flip, adjacent taps: the kernel's row of taps is one contiguous run of the input.
    const int32_t run = KW * channels;
    const int contiguous = channels == C && flip == 0 && g->dilationWidth == 1;
    for (int32_t oh = 0; oh < g->outHeight; oh++) {
        for (int32_t ow = 0; ow < g->outWidth; ow++) {
            uint8_t *row = col + ((int64_t)oh * g->outWidth + ow) * rowBytes;
            const int32_t iw0 = ow * g->strideWidth - g->padLeft;
            const int columnsInside = iw0 >= 0 && iw0 + (KW - 1) * g->dilationWidth < g->inWidth;
            for (int32_t kh = 0; kh < g->kernelHeight; kh++) {
                const int32_t ih = oh * g->strideHeight - g->padTop + kh * g->dilationHeight;
                uint8_t *dst = row + kh * run;
                if (ih < 0 || ih >= g->inHeight) {
                    memset(dst, padValue, (size_t)run);
                    continue;
                }
                const uint8_t *line = in + (int64_t)ih * g->inWidth * C + channelOffset;
                if (contiguous && columnsInside) {
                    if (run <= 32) copy_short(dst, line + (int64_t)iw0 * C, run);
                    else memcpy(dst, line + (int64_t)iw0 * C, (size_t)run);
                    continue;
                }
                for (int32_t kw = 0; kw < KW; kw++) {
                    const int32_t iw = iw0 + kw * g->dilationWidth;
                    uint8_t *tap = dst + kw * channels;
                    if (iw < 0 || iw >= g->inWidth) {
                        memset(tap, padValue, (size_t)channels);
                    } else {
                        const uint8_t *src = line + (int64_t)iw * C;
                        for (int32_t c = 0; c < channels; c++) tap[c] = src[c] ^ flip;
                    }
                }
            }
            for (int32_t k = K; k < rowBytes; k++) row[k] = 0;
        }
    }
}

// MARK: - Portable kernels

RK_MULTIVERSION
static void gemm_portable(int32_t P, int32_t M, int32_t K, const uint8_t *a, int64_t lda, uint8_t flip, const int8_t *packed,
                          const int32_t *bias, void *out, int64_t ldc, const rk_requant *rq) {
    const int32_t groups = (K + 3) / 4, blocks = (M + 15) / 16;
    for (int32_t p = 0; p < P; p++) {
        const uint8_t *x = a + (int64_t)p * lda;
        for (int32_t b = 0; b < blocks; b++) {
            int32_t acc[16];
            for (int32_t lane = 0; lane < 16; lane++) acc[lane] = 0;
            const int8_t *w = packed + (int64_t)b * groups * 64;
            for (int32_t gi = 0; gi < groups; gi++)
                for (int32_t lane = 0; lane < 16; lane++)
                    for (int32_t j = 0; j < 4; j++)
                        acc[lane] += (int32_t)(uint8_t)(x[gi * 4 + j] ^ flip) * (int32_t)w[(gi * 16 + lane) * 4 + j];
            const int32_t lanes = imin(16, M - b * 16);
            for (int32_t lane = 0; lane < lanes; lane++) {
                const int32_t m = b * 16 + lane;
                const float lo = (float)(rq->lo - rq->zeroPoint), hi = (float)(rq->hi - rq->zeroPoint);
                store_byte(out, (int64_t)p * ldc + m, requantize(acc[lane] + bias[m], rq->multiplier[m], lo, hi, rq->zeroPoint));
            }
        }
    }
}

RK_MULTIVERSION
static void depthwise_portable(const rk_conv_geometry *g, const void *in, int32_t inputSigned, const int32_t *weight,
                               const int32_t *bias, int32_t zero, void *out, const rk_requant *rq, int32_t *acc) {
    const int32_t C = g->inChannels;
    const float lo = (float)(rq->lo - rq->zeroPoint), hi = (float)(rq->hi - rq->zeroPoint);
    for (int32_t oh = 0; oh < g->outHeight; oh++) {
        for (int32_t ow = 0; ow < g->outWidth; ow++) {
            for (int32_t c = 0; c < C; c++) acc[c] = bias[c];
            for (int32_t kh = 0; kh < g->kernelHeight; kh++) {
                const int32_t ih = oh * g->strideHeight - g->padTop + kh * g->dilationHeight;
                if (ih < 0 || ih >= g->inHeight) continue;
                for (int32_t kw = 0; kw < g->kernelWidth; kw++) {
                    const int32_t iw = ow * g->strideWidth - g->padLeft + kw * g->dilationWidth;
                    if (iw < 0 || iw >= g->inWidth) continue;
                    const int64_t offset = ((int64_t)ih * g->inWidth + iw) * C;
                    const int32_t *w = weight + (int64_t)(kh * g->kernelWidth + kw) * C;
                    if (inputSigned) {
                        const int8_t *x = (const int8_t *)in + offset;
                        for (int32_t c = 0; c < C; c++) acc[c] += ((int32_t)x[c] - zero) * w[c];
                    } else {
                        const uint8_t *x = (const uint8_t *)in + offset;
                        for (int32_t c = 0; c < C; c++) acc[c] += ((int32_t)x[c] - zero) * w[c];
                    }
                }
            }
            const int64_t base = ((int64_t)oh * g->outWidth + ow) * C;
            for (int32_t c = 0; c < C; c++) store_byte(out, base + c, requantize(acc[c], rq->multiplier[c], lo, hi, rq->zeroPoint));
        }
    }
}

// MARK: - AVX-512 VNNI kernels

#if defined(__x86_64__) && defined(__clang__)
#include <immintrin.h>
#define RK_HAS_VNNI_KERNELS 1
#define RK_VNNI __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni")))
#define RK_INLINE_VNNI static inline __attribute__((always_inline, target("avx512f,avx512bw,avx512vl,avx512vnni")))

static int32_t vnni_cpu(void) {
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
static void gemm_vnni(int32_t P, int32_t M, int32_t K, const uint8_t *a, int64_t lda, uint8_t flipByte, const int8_t *packed,
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
    const uint8_t *sources[RK_DW_PIXELS][64];
    int64_t offsets[64];
    for (int32_t kh = 0; kh < KH; kh++)
        for (int32_t kw = 0; kw < KW; kw++)
            offsets[kh * KW + kw] = ((int64_t)kh * g->dilationHeight * g->inWidth + (int64_t)kw * g->dilationWidth) * C;
    for (int32_t oh = 0; oh < g->outHeight; oh++) {
        for (int32_t ow0 = 0; ow0 < g->outWidth; ow0 += RK_DW_PIXELS) {
            const int32_t count = imin(RK_DW_PIXELS, g->outWidth - ow0);
            const int32_t ih0 = oh * g->strideHeight - g->padTop, iw0 = ow0 * g->strideWidth - g->padLeft;
            const int interior = count == RK_DW_PIXELS && ih0 >= 0 && ih0 + (KH - 1) * g->dilationHeight < g->inHeight
                && iw0 >= 0 && iw0 + (RK_DW_PIXELS - 1) * g->strideWidth + (KW - 1) * g->dilationWidth < g->inWidth;
            if (interior) {
                // Every tap inside the image: fixed offsets from each pixel's first tap, no bounds checks.
                const uint8_t *origin = in + ((int64_t)ih0 * g->inWidth + iw0) * C;
                for (int p = 0; p < RK_DW_PIXELS; p++) {
                    const uint8_t *first = origin + (int64_t)p * g->strideWidth * C;
                    for (int32_t t = 0; t < taps; t++) sources[p][t] = first + offsets[t];
                }
            } else for (int p = 0; p < RK_DW_PIXELS; p++) {
                const int32_t ow = ow0 + imin(p, count - 1);   // past the row's end: repeat the last pixel, not stored
                for (int32_t kh = 0; kh < KH; kh++) {
                    const int32_t ih = oh * g->strideHeight - g->padTop + kh * g->dilationHeight;
                    for (int32_t kw = 0; kw < KW; kw++) {
                        const int32_t iw = ow * g->strideWidth - g->padLeft + kw * g->dilationWidth;
                        const int inside = ih >= 0 && ih < g->inHeight && iw >= 0 && iw < g->inWidth;
                        sources[p][kh * KW + kw] = inside ? in + ((int64_t)ih * g->inWidth + iw) * C : zeroRow;
                    }
                }
            }
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
static void depthwise_vnni(const rk_conv_geometry *g, const uint8_t *in, int32_t inputSigned, int32_t unsignedZero,
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
#define RK_HAS_VNNI_KERNELS 0
#endif

// MARK: - AArch64 kernels: ARMv8.2 dot product (sdot), plain NEON otherwise

#if defined(__aarch64__) && defined(__clang__) && defined(__linux__)
#include <arm_neon.h>
#include <sys/auxv.h>
#define RK_HAS_DOT_KERNELS 1
#define RK_DOT __attribute__((target("dotprod")))
#define RK_INLINE_DOT static inline __attribute__((always_inline, target("dotprod")))
#ifndef HWCAP_ASIMDDP
#define HWCAP_ASIMDDP (1 << 20)
#endif

static int32_t dot_cpu(void) {
    static int32_t cached = -1;
    if (cached < 0) cached = (getauxval(AT_HWCAP) & HWCAP_ASIMDDP) != 0;
    return cached;
}

// sdot multiplies signed bytes only: activations are read as x ^ 0x80 (x - 128 for uint8, which int8
// input already is once the caller's flip is undone), and 128 x (sum of the weights) goes into the bias.

// Requantizes 4 accumulators; the 4 lanes, narrowed to bytes, go to the low 4 bytes of a 32-bit value.
static inline int32x4_t requantize4_dot(int32x4_t acc, float32x4_t multiplier, float32x4_t lo, float32x4_t hi, int32x4_t zero) {
    float32x4_t v = vmulq_f32(vcvtq_f32_s32(acc), multiplier);
    v = vminq_f32(vmaxq_f32(v, lo), hi);
    return vaddq_s32(vcvtnq_s32_f32(v), zero);   // round to nearest, ties to even, as nearbyintf
}

static inline uint8x16_t narrow16_dot(int32x4_t a, int32x4_t b, int32x4_t c, int32x4_t d) {
    const int16x8_t ab = vcombine_s16(vmovn_s32(a), vmovn_s32(b)), cd = vcombine_s16(vmovn_s32(c), vmovn_s32(d));
    return vreinterpretq_u8_s8(vcombine_s8(vmovn_s16(ab), vmovn_s16(cd)));
}

// ROWS pixels x one block of 16 outputs (4 vectors of 4), as the x86 tile; the packed block holds per
// group of 4 depth values 16 outputs x 4 bytes, i.e. four sdot operands of 4 outputs each.
RK_INLINE_DOT void gemm_tile_dot(const int ROWS, int32_t count, int32_t groups, const uint8_t *a, int64_t lda, uint8x16_t flip,
                                 const int8_t *w, int32x4_t start[4], const float *multiplier, int32_t lanes,
                                 uint8_t *out, int64_t ldc, float32x4_t lo, float32x4_t hi, int32x4_t zero) {
    int32x4_t acc[6][4];
    const uint8_t *rows[6];
    for (int r = 0; r < ROWS; r++) rows[r] = a + (int64_t)imin(r, count - 1) * lda;
    for (int r = 0; r < ROWS; r++)
        for (int q = 0; q < 4; q++) acc[r][q] = start[q];
    for (int32_t gi = 0; gi < groups; gi++) {
        const int8_t *wg = w + (int64_t)gi * 64;
        const int8x16_t w0 = vld1q_s8(wg), w1 = vld1q_s8(wg + 16), w2 = vld1q_s8(wg + 32), w3 = vld1q_s8(wg + 48);
        for (int r = 0; r < ROWS; r++) {
            uint32_t four;
            memcpy(&four, rows[r] + gi * 4, 4);
            const int8x16_t x = vreinterpretq_s8_u8(veorq_u8(vreinterpretq_u8_u32(vdupq_n_u32(four)), flip));
            acc[r][0] = vdotq_s32(acc[r][0], w0, x);
            acc[r][1] = vdotq_s32(acc[r][1], w1, x);
            acc[r][2] = vdotq_s32(acc[r][2], w2, x);
            acc[r][3] = vdotq_s32(acc[r][3], w3, x);
        }
    }
    const float32x4_t m0 = vld1q_f32(multiplier), m1 = vld1q_f32(multiplier + 4), m2 = vld1q_f32(multiplier + 8), m3 = vld1q_f32(multiplier + 12);
    for (int r = 0; r < ROWS; r++) {
        if (r >= count) break;
        const uint8x16_t bytes = narrow16_dot(requantize4_dot(acc[r][0], m0, lo, hi, zero), requantize4_dot(acc[r][1], m1, lo, hi, zero),
                                              requantize4_dot(acc[r][2], m2, lo, hi, zero), requantize4_dot(acc[r][3], m3, lo, hi, zero));
        uint8_t *dst = out + (int64_t)r * ldc;
        if (lanes == 16) {
            vst1q_u8(dst, bytes);
        } else {
            uint8_t staged[16];
            vst1q_u8(staged, bytes);
            memcpy(dst, staged, (size_t)lanes);
        }
    }
}

RK_DOT
static void gemm_dot(int32_t P, int32_t M, int32_t K, const uint8_t *a, int64_t lda, uint8_t flipByte, const int8_t *packed,
                     const int32_t *bias, void *out, int64_t ldc, const rk_requant *rq) {
    const int32_t groups = (K + 3) / 4, blocks = (M + 15) / 16;
    const float32x4_t lo = vdupq_n_f32((float)(rq->lo - rq->zeroPoint)), hi = vdupq_n_f32((float)(rq->hi - rq->zeroPoint));
    const int32x4_t zero = vdupq_n_s32(rq->zeroPoint);
    const uint8x16_t flip = vdupq_n_u8((uint8_t)(flipByte ^ 0x80));
    const int8x16_t ones = vdupq_n_s8(1);
    for (int32_t b = 0; b < blocks; b++) {
        const int8_t *w = packed + (int64_t)b * groups * 64;
        // bias + 128 x sum of each output's weights (see above), computed with the same instruction.
        int32x4_t start[4];
        for (int q = 0; q < 4; q++) {
            int32x4_t sum = vdupq_n_s32(0);
            for (int32_t gi = 0; gi < groups; gi++) sum = vdotq_s32(sum, vld1q_s8(w + (int64_t)gi * 64 + 16 * q), ones);
            start[q] = vaddq_s32(vld1q_s32(bias + b * 16 + 4 * q), vshlq_n_s32(sum, 7));
        }
        const int32_t lanes = imin(16, M - b * 16);
        uint8_t *o = (uint8_t *)out + b * 16;
        for (int32_t p = 0; p < P; p += 6)
            gemm_tile_dot(6, imin(6, P - p), groups, a + (int64_t)p * lda, lda, flip, w, start, rq->multiplier + b * 16, lanes,
                          o + (int64_t)p * ldc, ldc, lo, hi, zero);
    }
}

// Depthwise with the packed operands of rk_depthwise_pack: 16 bytes of a tap hold 16 channels; lane l of
// the dot product with weight vector j (one byte in four kept) accumulates channel 4l+j of those 16.
RK_DOT
static void depthwise_dot(const rk_conv_geometry *g, const uint8_t *in, int32_t inputSigned, int32_t unsignedZero,
                          const int8_t *packed, const int32_t *bias, const float *multiplier, void *out,
                          const rk_requant *rq, uint8_t *zeroRow, int32_t *start) {
    const int32_t C = g->inChannels, KH = g->kernelHeight, KW = g->kernelWidth, taps = KH * KW;
    const int32_t blocks = (C + 63) / 64;
    const float32x4_t lo = vdupq_n_f32((float)(rq->lo - rq->zeroPoint)), hi = vdupq_n_f32((float)(rq->hi - rq->zeroPoint));
    const int32x4_t outZero = vdupq_n_s32(rq->zeroPoint);
    // Unsigned input is read as x - 128 (signed input as it is).
    const uint8x16_t flip = vdupq_n_u8(inputSigned ? 0 : 0x80);
    const int8x16_t ones = vdupq_n_s8(1);
    // Raw bytes of the zero point for taps outside the image.
    memset(zeroRow, (unsignedZero ^ (inputSigned ? 0x80 : 0)) & 0xFF, (size_t)C + 64);
    // The packed bias assumes unsigned reads (x + 128 for int8); sdot reads x - 128 for uint8 and x for
    // int8, so both add 128 x sum of the taps.
    for (int32_t b = 0; b < blocks; b++)
        for (int32_t j = 0; j < 4; j++)
            for (int32_t q = 0; q < 4; q++) {
                int32x4_t sum = vdupq_n_s32(0);
                for (int32_t t = 0; t < taps; t++)
                    sum = vdotq_s32(sum, vld1q_s8(packed + ((int64_t)b * taps + t) * 256 + j * 64 + 16 * q), ones);
                const int32_t slot = b * 64 + j * 16 + 4 * q;
                vst1q_s32(start + slot, vaddq_s32(vld1q_s32(bias + slot), vshlq_n_s32(sum, 7)));
            }
    // Output byte 4l+j of a 16-channel group comes from lane l of accumulator j.
    static const uint8_t order[16] = {0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15};
    const uint8x16_t shuffle = vld1q_u8(order);
    const uint8_t *sources[64];
    for (int32_t oh = 0; oh < g->outHeight; oh++) {
        for (int32_t ow = 0; ow < g->outWidth; ow++) {
            for (int32_t kh = 0; kh < KH; kh++) {
                const int32_t ih = oh * g->strideHeight - g->padTop + kh * g->dilationHeight;
                for (int32_t kw = 0; kw < KW; kw++) {
                    const int32_t iw = ow * g->strideWidth - g->padLeft + kw * g->dilationWidth;
                    const int inside = ih >= 0 && ih < g->inHeight && iw >= 0 && iw < g->inWidth;
                    sources[kh * KW + kw] = inside ? in + ((int64_t)ih * g->inWidth + iw) * C : zeroRow;
                }
            }
            uint8_t *dst = (uint8_t *)out + ((int64_t)oh * g->outWidth + ow) * C;
            for (int32_t c = 0; c < C; c += 16) {
                const int32_t b = c / 64, q = (c % 64) / 16;
                int32x4_t acc0 = vld1q_s32(start + b * 64 + 4 * q), acc1 = vld1q_s32(start + b * 64 + 16 + 4 * q);
                int32x4_t acc2 = vld1q_s32(start + b * 64 + 32 + 4 * q), acc3 = vld1q_s32(start + b * 64 + 48 + 4 * q);
                const int8_t *w = packed + (int64_t)b * taps * 256 + 16 * q;
                const int tail = C - c < 16;
                for (int32_t t = 0; t < taps; t++, w += 256) {
                    uint8x16_t raw;
                    if (tail) {
                        uint8_t staged[16] = {0};
                        memcpy(staged, sources[t] + c, (size_t)(C - c));
                        raw = vld1q_u8(staged);
                    } else {
                        raw = vld1q_u8(sources[t] + c);
                    }
                    const int8x16_t x = vreinterpretq_s8_u8(veorq_u8(raw, flip));
                    acc0 = vdotq_s32(acc0, vld1q_s8(w), x);
                    acc1 = vdotq_s32(acc1, vld1q_s8(w + 64), x);
                    acc2 = vdotq_s32(acc2, vld1q_s8(w + 128), x);
                    acc3 = vdotq_s32(acc3, vld1q_s8(w + 192), x);
                }
                const float *m = multiplier + b * 64 + 4 * q;
                const uint8x16_t grouped = narrow16_dot(requantize4_dot(acc0, vld1q_f32(m), lo, hi, outZero),
                                                        requantize4_dot(acc1, vld1q_f32(m + 16), lo, hi, outZero),
                                                        requantize4_dot(acc2, vld1q_f32(m + 32), lo, hi, outZero),
                                                        requantize4_dot(acc3, vld1q_f32(m + 48), lo, hi, outZero));
                const uint8x16_t bytes = vqtbl1q_u8(grouped, shuffle);
                if (tail) {
                    uint8_t staged[16];
                    vst1q_u8(staged, bytes);
                    memcpy(dst + c, staged, (size_t)(C - c));
                } else {
                    vst1q_u8(dst + c, bytes);
                }
            }
        }
    }
}

// Plain NEON for cores without the dot product (Cortex-A53, A72): vmull_s8 multiplies 8 byte pairs
// into int16 (|x w| <= 128 x 128 fits), vpadalq_s16 adds neighbouring pairs into int32 lanes; each
// accumulator then holds two partial sums for each of two outputs, added pairwise at the end.
static void gemm_neon(int32_t P, int32_t M, int32_t K, const uint8_t *a, int64_t lda, uint8_t flipByte, const int8_t *packed,
                      const int32_t *bias, void *out, int64_t ldc, const rk_requant *rq) {
    const int32_t groups = (K + 3) / 4, blocks = (M + 15) / 16;
    const float32x4_t lo = vdupq_n_f32((float)(rq->lo - rq->zeroPoint)), hi = vdupq_n_f32((float)(rq->hi - rq->zeroPoint));
    const int32x4_t zero = vdupq_n_s32(rq->zeroPoint);
    const uint8x8_t flip = vdup_n_u8((uint8_t)(flipByte ^ 0x80));
    const int8x8_t ones = vdup_n_s8(1);
    for (int32_t b = 0; b < blocks; b++) {
        const int8_t *w = packed + (int64_t)b * groups * 64;
        // bias + 128 x sum of each output's weights, as in the sdot kernel.
        int32x4_t start[4];
        for (int q = 0; q < 4; q++) {
            int32x4_t pairs = vdupq_n_s32(0);
            int32x4_t pairs2 = vdupq_n_s32(0);
            for (int32_t gi = 0; gi < groups; gi++) {
                pairs = vpadalq_s16(pairs, vmull_s8(vld1_s8(w + (int64_t)gi * 64 + 16 * q), ones));
                pairs2 = vpadalq_s16(pairs2, vmull_s8(vld1_s8(w + (int64_t)gi * 64 + 16 * q + 8), ones));
            }
            start[q] = vaddq_s32(vld1q_s32(bias + b * 16 + 4 * q), vshlq_n_s32(vpaddq_s32(pairs, pairs2), 7));
        }
        const int32_t lanes = imin(16, M - b * 16);
        const float *multiplier = rq->multiplier + b * 16;
        for (int32_t p = 0; p < P; p++) {
            const uint8_t *x = a + (int64_t)p * lda;
            int32x4_t acc[8];
            for (int i = 0; i < 8; i++) acc[i] = vdupq_n_s32(0);
            for (int32_t gi = 0; gi < groups; gi++) {
                uint32_t four;
                memcpy(&four, x + gi * 4, 4);
                const int8x8_t xv = vreinterpret_s8_u8(veor_u8(vreinterpret_u8_u32(vdup_n_u32(four)), flip));
                const int8_t *wg = w + (int64_t)gi * 64;
                for (int i = 0; i < 8; i++) acc[i] = vpadalq_s16(acc[i], vmull_s8(vld1_s8(wg + 8 * i), xv));
            }
            int32x4_t sums[4];
            for (int q = 0; q < 4; q++) sums[q] = vaddq_s32(start[q], vpaddq_s32(acc[2 * q], acc[2 * q + 1]));
            const uint8x16_t bytes = narrow16_dot(requantize4_dot(sums[0], vld1q_f32(multiplier), lo, hi, zero),
                                                  requantize4_dot(sums[1], vld1q_f32(multiplier + 4), lo, hi, zero),
                                                  requantize4_dot(sums[2], vld1q_f32(multiplier + 8), lo, hi, zero),
                                                  requantize4_dot(sums[3], vld1q_f32(multiplier + 12), lo, hi, zero));
            uint8_t *dst = (uint8_t *)out + (int64_t)p * ldc + b * 16;
            if (lanes == 16) {
                vst1q_u8(dst, bytes);
            } else {
                uint8_t staged[16];
                vst1q_u8(staged, bytes);
                memcpy(dst, staged, (size_t)lanes);
            }
        }
    }
}
#else
#define RK_HAS_DOT_KERNELS 0
#endif

// MARK: - Dispatch

static int32_t forced_portable;

void rk_force_portable(int32_t on) { forced_portable = on; }

int32_t rk_fast_int8_available(void) {
#if RK_HAS_VNNI_KERNELS
    return vnni_cpu() && !forced_portable;
#elif RK_HAS_DOT_KERNELS
    return !forced_portable;   // every AArch64 core has NEON; the dot product is a further step
#else
    return 0;
#endif
}

const char *rk_int8_kernels(void) {
#if RK_HAS_VNNI_KERNELS
    if (rk_fast_int8_available()) return "avx512-vnni";
#elif RK_HAS_DOT_KERNELS
    if (rk_fast_int8_available()) return dot_cpu() ? "neon-sdot" : "neon";
#endif
    return "portable";
}

int64_t rk_depthwise_scratch_bytes(int32_t C) {
    // Portable: C int32 accumulators. Fast paths: a row of zero-point bytes (C + 64), then on ARM the
    // bias of every packed slot (C rounded up to 64).
    const int64_t zeroRow = ((int64_t)C + 64 + 63) / 64 * 64, slots = ((int64_t)C + 63) / 64 * 64;
    const int64_t fast = zeroRow + 4 * slots, portable = 4 * (int64_t)C;
    return (fast > portable ? fast : portable) + 64;
}

void rk_qgemm_u8s8(int32_t P, int32_t M, int32_t K, const uint8_t *a, int64_t lda, uint8_t flip, const int8_t *packed,
                   const int32_t *bias, void *out, int64_t ldc, const rk_requant *rq) {
#if RK_HAS_VNNI_KERNELS
    if (rk_fast_int8_available()) {
        gemm_vnni(P, M, K, a, lda, flip, packed, bias, out, ldc, rq);
        return;
    }
#elif RK_HAS_DOT_KERNELS
    if (rk_fast_int8_available()) {
        if (dot_cpu()) gemm_dot(P, M, K, a, lda, flip, packed, bias, out, ldc, rq);
        else gemm_neon(P, M, K, a, lda, flip, packed, bias, out, ldc, rq);
        return;
    }
#endif
    gemm_portable(P, M, K, a, lda, flip, packed, bias, out, ldc, rq);
}

void rk_qdepthwise_nhwc(const rk_conv_geometry *g, const void *in, int32_t inputSigned, int32_t zero, const int32_t *weight,
                        const int32_t *bias, const rk_depthwise_packed *packed, void *out, const rk_requant *rq, void *scratch) {
#if RK_HAS_VNNI_KERNELS
    if (rk_fast_int8_available() && g->kernelHeight * g->kernelWidth <= 64) {
        depthwise_vnni(g, (const uint8_t *)in, inputSigned, zero + (inputSigned ? 128 : 0), packed, out, rq, (uint8_t *)scratch);
        return;
    }
#elif RK_HAS_DOT_KERNELS
    if (rk_fast_int8_available() && dot_cpu() && g->kernelHeight * g->kernelWidth <= 64) {
        const int64_t zeroRow = ((int64_t)g->inChannels + 64 + 63) / 64 * 64;
        depthwise_dot(g, (const uint8_t *)in, inputSigned, zero + (inputSigned ? 128 : 0), packed->weight, packed->bias,
                      packed->multiplier, out, rq, (uint8_t *)scratch, (int32_t *)((uint8_t *)scratch + zeroRow));
        return;
    }
#endif
    (void)packed;
    depthwise_portable(g, in, inputSigned, weight, bias, zero, out, rq, (int32_t *)scratch);
}

int64_t rk_depthwise_packed_weight_bytes(int32_t C, int32_t taps) { return (int64_t)((C + 63) / 64) * taps * 256; }

void rk_depthwise_pack(const int32_t *weight, const int32_t *bias, const float *multiplier, int32_t C, int32_t taps,
                       int32_t unsignedZero, int8_t *packedWeight, int32_t *packedBias, float *packedMultiplier) {
    const int32_t blocks = (C + 63) / 64;
    memset(packedWeight, 0, (size_t)rk_depthwise_packed_weight_bytes(C, taps));
    for (int32_t b = 0; b < blocks; b++) {
        for (int32_t j = 0; j < 4; j++) {
            for (int32_t i = 0; i < 16; i++) {
                const int32_t c = b * 64 + 4 * i + j, slot = b * 64 + j * 16 + i;
                int64_t sum = 0;
                for (int32_t t = 0; t < taps; t++) {
                    const int32_t w = c < C ? weight[(int64_t)t * C + c] : 0;
                    packedWeight[((int64_t)b * taps + t) * 256 + j * 64 + 4 * i + j] = (int8_t)w;
                    sum += w;
                }
                // Every tap reads x (the zero point where it falls outside the image), so
                // sum (x - zero) w = sum x w - zero sum w for every pixel; wraps like the accumulators.
                packedBias[slot] = c < C ? (int32_t)(uint32_t)((int64_t)bias[c] - (int64_t)unsignedZero * sum) : 0;
                packedMultiplier[slot] = c < C ? multiplier[c] : 0.0f;
            }
        }
    }
}

int32_t rk_depthwise_flat_supported(int32_t C) { return C >= 1 && C <= 32 && 64 % C == 0; }

void rk_depthwise_pack_flat(const int32_t *weight, const int32_t *bias, const float *multiplier, int32_t C, int32_t taps,
                            int32_t unsignedZero, int8_t *packedWeight, int32_t *packedBias, float *packedMultiplier) {
    memset(packedWeight, 0, (size_t)taps * 256);
    for (int32_t j = 0; j < 4; j++) {
        for (int32_t i = 0; i < 16; i++) {
            // Byte 4i+j of a 64-byte run is channel (4i+j) mod C of one of the 64/C pixels.
            const int32_t c = (4 * i + j) % C, slot = j * 16 + i;
            int64_t sum = 0;
            for (int32_t t = 0; t < taps; t++) {
                const int32_t w = weight[(int64_t)t * C + c];
                packedWeight[(int64_t)t * 256 + j * 64 + 4 * i + j] = (int8_t)w;
                sum += w;
            }
            packedBias[slot] = (int32_t)(uint32_t)((int64_t)bias[c] - (int64_t)unsignedZero * sum);
            packedMultiplier[slot] = multiplier[c];
        }
    }
}

// MARK: - Elementwise and layout

RK_MULTIVERSION
void rk_qadd(int64_t count, const void *a, const void *b, int32_t inputSigned, const rk_qadd_parameters *q, void *out) {
    const float ra = q->ratioA, rb = q->ratioB, za = (float)q->zeroA, zb = (float)q->zeroB;
    const float lo = (float)(q->lo - q->zeroOut), hi = (float)(q->hi - q->zeroOut);
    if (inputSigned) {
        const int8_t *x = (const int8_t *)a, *y = (const int8_t *)b;
        int8_t *o = (int8_t *)out;
        for (int64_t i = 0; i < count; i++) {
            const float v = fminf(fmaxf(((float)x[i] - za) * ra + ((float)y[i] - zb) * rb, lo), hi);
            o[i] = (int8_t)((int32_t)nearbyintf(v) + q->zeroOut);
        }
    } else {
        const uint8_t *x = (const uint8_t *)a, *y = (const uint8_t *)b;
        uint8_t *o = (uint8_t *)out;
        for (int64_t i = 0; i < count; i++) {
            const float v = fminf(fmaxf(((float)x[i] - za) * ra + ((float)y[i] - zb) * rb, lo), hi);
            o[i] = (uint8_t)((int32_t)nearbyintf(v) + q->zeroOut);
        }
    }
}

RK_MULTIVERSION
void rk_quantize_nchw_to_nhwc(const float *in, int32_t channels, int32_t pixels, float scale, int32_t zero, int32_t lo, int32_t hi,
                              int32_t outputSigned, void *out) {
    const float flo = (float)lo, fhi = (float)hi, fz = (float)zero;
    // Quantize 64 pixels of a plane at a time (a loop the compiler vectorises), then scatter them into
    // channels-last order.
    int32_t values[64];
    for (int32_t p0 = 0; p0 < pixels; p0 += 64) {
        const int32_t n = imin(64, pixels - p0);
        for (int32_t c = 0; c < channels; c++) {
            const float *src = in + (int64_t)c * pixels + p0;
            for (int32_t i = 0; i < n; i++) {
                // Same order as onnxruntime: divide, round half to even, add the zero point, saturate;
                // NaN gives the zero point.
                const float v = nearbyintf(src[i] / scale) + fz;
                values[i] = v != v ? zero : (int32_t)fminf(fmaxf(v, flo), fhi);
            }
            uint8_t *dst = (uint8_t *)out + (int64_t)p0 * channels + c;
            for (int32_t i = 0; i < n; i++) dst[(int64_t)i * channels] = (uint8_t)values[i];
        }
    }
    (void)outputSigned;   // the byte pattern of values in [lo, hi] is the same for int8 and uint8
}

RK_MULTIVERSION
void rk_dequantize_nhwc_to_nchw(const void *in, int32_t inputSigned, int32_t channels, int32_t pixels, float scale, int32_t zero, float *out) {
    for (int32_t p = 0; p < pixels; p++) {
        for (int32_t c = 0; c < channels; c++) {
            const int64_t i = (int64_t)p * channels + c;
            const int32_t raw = inputSigned ? (int32_t)((const int8_t *)in)[i] : (int32_t)((const uint8_t *)in)[i];
            out[(int64_t)c * pixels + p] = (float)(raw - zero) * scale;
        }
    }
}

void rk_transpose_bytes(const uint8_t *in, int32_t rows, int32_t columns, uint8_t *out) {
    for (int32_t r = 0; r < rows; r++)
        for (int32_t c = 0; c < columns; c++) out[(int64_t)c * rows + r] = in[(int64_t)r * columns + c];
}
