// Integer kernels over channels-last (NHWC) activations, the layout of every quantized 4-D tensor inside
// an integer island: one pixel's channels are adjacent, so a dot-product lane reads 4 of them at once and
// a depthwise kernel vectorises across channels without transposes.
//
// This file: operand packing, im2col, the portable kernels (plain loops, the reference the fast paths of
// int8_x86.c, int8_avx2.c and int8_arm.c match byte for byte), and the elementwise and layout kernels.
#include "int8_internal.h"

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


int64_t rk_depthwise_packed_weight_bytes(int32_t C, int32_t taps) { return (int64_t)((C + 63) / 64) * taps * 256; }

void rk_depthwise_pack(const int32_t *weight, const int32_t *bias, const float *multiplier, int32_t C, int32_t taps,
                       int32_t unsignedZero, int8_t *packedWeight, int32_t *packedBias, float *packedMultiplier) {
    // The widening kernels (AVX2, and NEON without the dot product) have layouts of their own. Keyed on
    // the set, not on rk_force_portable: the portable kernel reads the unpacked operands anyway.
#if RK_ARM_NEON
    if (rk__kernel_set() == RK_KERNELS_NEON) {
        rk__depthwise_pack_neon(weight, bias, multiplier, C, taps, packedWeight, packedBias, packedMultiplier);
        return;
    }
#endif
#if RK_X86
    if (rk__kernel_set() == RK_KERNELS_AVX2) {
        rk__depthwise_pack_avx2(weight, bias, multiplier, C, taps, unsignedZero, packedWeight, packedBias, packedMultiplier);
        return;
    }
#endif
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

// MARK: - Portable kernels

RK_MULTIVERSION
void rk__gemm_portable(int32_t P, int32_t M, int32_t K, const uint8_t *a, int64_t lda, uint8_t flip, const int8_t *packed,
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
void rk__depthwise_portable(const rk_conv_geometry *g, const void *in, int32_t inputSigned, const int32_t *weight,
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
