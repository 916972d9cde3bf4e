// AArch64 int8 kernels: the ARMv8.2 dot product (sdot) where the core has it (Cortex-A55, A76 and
// later), plain NEON otherwise (Cortex-A53, A72), chosen at run time (int8_dispatch.c).
#include "int8_internal.h"

#if RK_ARM_NEON
#include <arm_neon.h>
#include <sys/auxv.h>
#define RK_DOT __attribute__((target("dotprod")))
#define RK_INLINE_DOT static inline __attribute__((always_inline, target("dotprod")))
#ifndef HWCAP_ASIMDDP
#define HWCAP_ASIMDDP (1 << 20)
#endif

int32_t rk__dot_cpu(void) {
    static int32_t cached = -1;
    if (cached < 0) cached = (getauxval(AT_HWCAP) & HWCAP_ASIMDDP) != 0;
    return cached;
}

// sdot multiplies signed bytes only: activations are read as x ^ 0x80 (x - 128 for uint8, which int8
// input already is once the caller's flip is undone), and 128 x (sum of the weights) goes into the bias.

// Requantizes 4 accumulators exactly as requantize() (plain NEON, shared by every kernel of this file).
static inline int32x4_t requantize4(int32x4_t acc, float32x4_t multiplier, float32x4_t lo, float32x4_t hi, int32x4_t zero) {
    float32x4_t v = vmulq_f32(vcvtq_f32_s32(acc), multiplier);
    v = vminq_f32(vmaxq_f32(v, lo), hi);
    return vaddq_s32(vcvtnq_s32_f32(v), zero);   // round to nearest, ties to even, as nearbyintf
}

static inline uint8x16_t narrow16(int32x4_t a, int32x4_t b, int32x4_t c, int32x4_t d) {
    const int16x8_t ab = vcombine_s16(vmovn_s32(a), vmovn_s32(b)), cd = vcombine_s16(vmovn_s32(c), vmovn_s32(d));
    return vreinterpretq_u8_s8(vcombine_s8(vmovn_s16(ab), vmovn_s16(cd)));
}

// Start values of one block of 16 outputs: bias + 128 x the sum of each output's weights (the reads are
// x ^ 0x80 = x - 128, see above). Plain NEON, shared by both matrix kernels; runs once per block and call.
static inline void block_start(const int8_t *w, int32_t groups, const int32_t *bias, int32x4_t start[4]) {
    const int8x8_t ones = vdup_n_s8(1);
    for (int q = 0; q < 4; q++) {
        int32x4_t low = vdupq_n_s32(0), high = vdupq_n_s32(0);
        for (int32_t gi = 0; gi < groups; gi++) {
            low = vpadalq_s16(low, vmull_s8(vld1_s8(w + (int64_t)gi * 64 + 16 * q), ones));
            high = vpadalq_s16(high, vmull_s8(vld1_s8(w + (int64_t)gi * 64 + 16 * q + 8), ones));
        }
        // Lanes of low: (output 0, depth 0-1), (0, 2-3), (1, 0-1), (1, 2-3); of high the same for outputs 2, 3.
        start[q] = vaddq_s32(vld1q_s32(bias + 4 * q), vshlq_n_s32(vpaddq_s32(low, high), 7));
    }
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
        const uint8x16_t bytes = narrow16(requantize4(acc[r][0], m0, lo, hi, zero), requantize4(acc[r][1], m1, lo, hi, zero),
                                          requantize4(acc[r][2], m2, lo, hi, zero), requantize4(acc[r][3], m3, lo, hi, zero));
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
void rk__gemm_dot(int32_t P, int32_t M, int32_t K, const uint8_t *a, int64_t lda, uint8_t flipByte, const int8_t *packed,
                     const int32_t *bias, void *out, int64_t ldc, const rk_requant *rq) {
    const int32_t groups = (K + 3) / 4, blocks = (M + 15) / 16;
    const float32x4_t lo = vdupq_n_f32((float)(rq->lo - rq->zeroPoint)), hi = vdupq_n_f32((float)(rq->hi - rq->zeroPoint));
    const int32x4_t zero = vdupq_n_s32(rq->zeroPoint);
    const uint8x16_t flip = vdupq_n_u8((uint8_t)(flipByte ^ 0x80));
    for (int32_t b = 0; b < blocks; b++) {
        const int8_t *w = packed + (int64_t)b * groups * 64;
        int32x4_t start[4];
        block_start(w, groups, bias + b * 16, start);
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
void rk__depthwise_dot(const rk_conv_geometry *g, const uint8_t *in, int32_t inputSigned, int32_t unsignedZero,
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
    const uint8_t *sources[1][RK_DW_MAX_TAPS];
    int64_t offsets[RK_DW_MAX_TAPS];
    rk__depthwise_offsets(g, offsets);
    for (int32_t oh = 0; oh < g->outHeight; oh++) {
        for (int32_t ow = 0; ow < g->outWidth; ow++) {
            rk__depthwise_sources(g, in, zeroRow, offsets, oh, ow, 1, 1, sources);
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
                        memcpy(staged, sources[0][t] + c, (size_t)(C - c));
                        raw = vld1q_u8(staged);
                    } else {
                        raw = vld1q_u8(sources[0][t] + c);
                    }
                    const int8x16_t x = vreinterpretq_s8_u8(veorq_u8(raw, flip));
                    acc0 = vdotq_s32(acc0, vld1q_s8(w), x);
                    acc1 = vdotq_s32(acc1, vld1q_s8(w + 64), x);
                    acc2 = vdotq_s32(acc2, vld1q_s8(w + 128), x);
                    acc3 = vdotq_s32(acc3, vld1q_s8(w + 192), x);
                }
                const float *m = multiplier + b * 64 + 4 * q;
                const uint8x16_t grouped = narrow16(requantize4(acc0, vld1q_f32(m), lo, hi, outZero),
                                                    requantize4(acc1, vld1q_f32(m + 16), lo, hi, outZero),
                                                    requantize4(acc2, vld1q_f32(m + 32), lo, hi, outZero),
                                                    requantize4(acc3, vld1q_f32(m + 48), lo, hi, outZero));
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
void rk__gemm_neon(int32_t P, int32_t M, int32_t K, const uint8_t *a, int64_t lda, uint8_t flipByte, const int8_t *packed,
                      const int32_t *bias, void *out, int64_t ldc, const rk_requant *rq) {
    const int32_t groups = (K + 3) / 4, blocks = (M + 15) / 16;
    const float32x4_t lo = vdupq_n_f32((float)(rq->lo - rq->zeroPoint)), hi = vdupq_n_f32((float)(rq->hi - rq->zeroPoint));
    const int32x4_t zero = vdupq_n_s32(rq->zeroPoint);
    const uint8x8_t flip = vdup_n_u8((uint8_t)(flipByte ^ 0x80));
    for (int32_t b = 0; b < blocks; b++) {
        const int8_t *w = packed + (int64_t)b * groups * 64;
        int32x4_t start[4];
        block_start(w, groups, bias + b * 16, start);
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
            const uint8x16_t bytes = narrow16(requantize4(sums[0], vld1q_f32(multiplier), lo, hi, zero),
                                              requantize4(sums[1], vld1q_f32(multiplier + 4), lo, hi, zero),
                                              requantize4(sums[2], vld1q_f32(multiplier + 8), lo, hi, zero),
                                              requantize4(sums[3], vld1q_f32(multiplier + 12), lo, hi, zero));
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

// Depthwise without the dot product. A tap's 16 channels are widened to int16 as x - zero point (one
// usubl/ssubl per 8 channels, exact in -255..255), multiplied by int16 weights and accumulated into int32
// (smlal/smlal2: 4 lanes each, exact like the portable loop's int32 products). Taps outside the image
// read a row of the zero point (see rk__depthwise_sources) and add exactly 0, so the bias is the plain
// one and the sums equal the portable kernel's. Operands (rk__depthwise_pack_neon): weights int16
// [taps][C rounded up to 16], bias and multipliers in channel order.
//
// Four output pixels per step share each tap's weight loads and give 16 independent accumulator chains
// (smlal has a latency of several cycles on Cortex-A53/A72; one chain per 4 channels would stall on it).
#define RK_NEON_DW_PIXELS 4

void rk__depthwise_pack_neon(const int32_t *weight, const int32_t *bias, const float *multiplier, int32_t C, int32_t taps,
                             int8_t *packedWeight, int32_t *packedBias, float *packedMultiplier) {
    // The int16 weights (2 bytes per tap and channel, C rounded up to 16) fit in the space the sdot layout
    // takes (4 bytes per tap and channel, C rounded up to 64), so the buffer sizes do not depend on the core.
    // Stored byte by byte (memcpy): the buffer need not be aligned for int16.
    const int32_t stride = (C + 15) / 16 * 16, slots = (C + 63) / 64 * 64;
    memset(packedWeight, 0, (size_t)rk_depthwise_packed_weight_bytes(C, taps));
    for (int32_t t = 0; t < taps; t++)
        for (int32_t c = 0; c < C; c++) {
            const int16_t w = (int16_t)weight[(int64_t)t * C + c];
            memcpy(packedWeight + 2 * ((int64_t)t * stride + c), &w, sizeof w);
        }
    for (int32_t c = 0; c < slots; c++) {
        packedBias[c] = c < C ? bias[c] : 0;
        packedMultiplier[c] = c < C ? multiplier[c] : 0.0f;
    }
}

// x - zero for 16 input bytes, as two vectors of 8 int16. Two 8-byte loads (one ldp) rather than one
// 16-byte load: with the zero point a splat, clang turns usubl2/ssubl2 into ext + usubl/ssubl.
static inline __attribute__((always_inline)) void widen16(const int SIGNED, const uint8_t *source, uint8x8_t zero, int16x8_t *low, int16x8_t *high) {
    const uint8x8_t first = vld1_u8(source), second = vld1_u8(source + 8);
    if (SIGNED) {
        *low = vsubl_s8(vreinterpret_s8_u8(first), vreinterpret_s8_u8(zero));
        *high = vsubl_s8(vreinterpret_s8_u8(second), vreinterpret_s8_u8(zero));
    } else {
        // The uint16 difference wraps; read as int16 it is the exact x - zero.
        *low = vreinterpretq_s16_u16(vsubl_u8(first, zero));
        *high = vreinterpretq_s16_u16(vsubl_u8(second, zero));
    }
}

static inline __attribute__((always_inline)) void depthwise_neon_rows(const int SIGNED, const rk_conv_geometry *g, const uint8_t *in,
                                                                      uint8_t zeroByte, const int8_t *weight, const int32_t *bias,
                                                                      const float *multiplier, uint8_t *out, const rk_requant *rq,
                                                                      const uint8_t *zeroRow) {
    const int32_t C = g->inChannels, taps = g->kernelHeight * g->kernelWidth, stride = (C + 15) / 16 * 16;
    const float32x4_t lo = vdupq_n_f32((float)(rq->lo - rq->zeroPoint)), hi = vdupq_n_f32((float)(rq->hi - rq->zeroPoint));
    const int32x4_t outZero = vdupq_n_s32(rq->zeroPoint);
    const uint8x8_t zero = vdup_n_u8(zeroByte);
    int64_t offsets[RK_DW_MAX_TAPS];
    rk__depthwise_offsets(g, offsets);
    const uint8_t *sources[RK_NEON_DW_PIXELS][RK_DW_MAX_TAPS];
    for (int32_t oh = 0; oh < g->outHeight; oh++) {
        for (int32_t ow0 = 0; ow0 < g->outWidth; ow0 += RK_NEON_DW_PIXELS) {
            const int32_t count = imin(RK_NEON_DW_PIXELS, g->outWidth - ow0);
            rk__depthwise_sources(g, in, zeroRow, offsets, oh, ow0, count, RK_NEON_DW_PIXELS, sources);
            uint8_t *dst = out + ((int64_t)oh * g->outWidth + ow0) * C;
            // The last group of a pixel reads up to 15 bytes past its channels: the next pixel's, or the 64
            // spare bytes every buffer of the plan (and the zero row) has. Their weights are 0, and those lanes
            // are not stored.
            for (int32_t c = 0; c < C; c += 16) {
                int32x4_t acc[RK_NEON_DW_PIXELS][4];
                for (int q = 0; q < 4; q++) {
                    const int32x4_t start = vld1q_s32(bias + c + 4 * q);
                    for (int p = 0; p < RK_NEON_DW_PIXELS; p++) acc[p][q] = start;
                }
                const int8_t *w = weight + 2 * c;
                for (int32_t t = 0; t < taps; t++, w += 2 * stride) {
                    const int16x8_t w0 = vreinterpretq_s16_s8(vld1q_s8(w)), w1 = vreinterpretq_s16_s8(vld1q_s8(w + 16));
                    for (int p = 0; p < RK_NEON_DW_PIXELS; p++) {
                        int16x8_t x0, x1;
                        widen16(SIGNED, sources[p][t] + c, zero, &x0, &x1);
                        acc[p][0] = vmlal_s16(acc[p][0], vget_low_s16(x0), vget_low_s16(w0));
                        acc[p][1] = vmlal_high_s16(acc[p][1], x0, w0);
                        acc[p][2] = vmlal_s16(acc[p][2], vget_low_s16(x1), vget_low_s16(w1));
                        acc[p][3] = vmlal_high_s16(acc[p][3], x1, w1);
                    }
                }
                const float32x4_t m0 = vld1q_f32(multiplier + c), m1 = vld1q_f32(multiplier + c + 4);
                const float32x4_t m2 = vld1q_f32(multiplier + c + 8), m3 = vld1q_f32(multiplier + c + 12);
                const int32_t lanes = imin(16, C - c);
                for (int p = 0; p < count; p++) {
                    const uint8x16_t bytes = narrow16(requantize4(acc[p][0], m0, lo, hi, outZero), requantize4(acc[p][1], m1, lo, hi, outZero),
                                                      requantize4(acc[p][2], m2, lo, hi, outZero), requantize4(acc[p][3], m3, lo, hi, outZero));
                    uint8_t *o = dst + (int64_t)p * C + c;
                    if (lanes == 16) {
                        vst1q_u8(o, bytes);
                    } else {
                        // A full store would overwrite the next pixel's first channels, already written.
                        uint8_t staged[16];
                        vst1q_u8(staged, bytes);
                        memcpy(o, staged, (size_t)lanes);
                    }
                }
            }
        }
    }
}

void rk__depthwise_neon(const rk_conv_geometry *g, const uint8_t *in, int32_t inputSigned, int32_t zero,
                        const rk_depthwise_packed *packed, void *out, const rk_requant *rq, uint8_t *zeroRow) {
    // The input's own bytes of its zero point (int8 or uint8): the zero row then widens to exactly 0.
    const uint8_t zeroByte = (uint8_t)(zero & 0xFF);
    memset(zeroRow, zeroByte, (size_t)g->inChannels + 64);
    if (inputSigned) depthwise_neon_rows(1, g, in, zeroByte, packed->weight, packed->bias, packed->multiplier, out, rq, zeroRow);
    else depthwise_neon_rows(0, g, in, zeroByte, packed->weight, packed->bias, packed->multiplier, out, rq, zeroRow);
}

int32_t rk__neon_cpu(void) { return 1; }
#else
int32_t rk__neon_cpu(void) { return 0; }
int32_t rk__dot_cpu(void) { return 0; }
#endif
