#include "CInferenceKernels.h"

#include <math.h>
#include <string.h>

// The portable kernels are plain loops; on x86-64 each is also compiled for AVX2 and picked at load
// time (ifunc), since the x86-64 baseline (SSE2) lacks even a 32-bit vector multiply.
#if defined(__x86_64__) && defined(__clang__)
#define RK_MULTIVERSION __attribute__((target_clones("avx2", "default")))
#else
#define RK_MULTIVERSION
#endif

static inline int32_t rk_min(int32_t a, int32_t b) { return a < b ? a : b; }
static inline int32_t rk_max(int32_t a, int32_t b) { return a > b ? a : b; }

// First and one-past-last output column whose input column ow*stride - pad + offset lies in [0, width).
static void valid_columns(int32_t outWidth, int32_t width, int32_t stride, int32_t pad, int32_t offset,
                          int32_t *first, int32_t *last) {
    int32_t shift = pad - offset;  // input column = ow*stride - shift
    int32_t start = shift > 0 ? (shift + stride - 1) / stride : 0;
    int32_t limit = width - 1 + shift;  // ow*stride <= limit
    int32_t end = limit < 0 ? 0 : limit / stride + 1;
    *first = rk_min(start, outWidth);
    *last = rk_max(*first, rk_min(end, outWidth));
}

RK_MULTIVERSION
void rk_conv2d_f32(const rk_conv_geometry *g, const float *in, const float *weight, const float *bias,
                   float *out, float lo, float hi) {
    const int32_t cinG = g->inChannels / g->group, coutG = g->outChannels / g->group;
    const int32_t planeIn = g->inHeight * g->inWidth, planeOut = g->outHeight * g->outWidth;
    const int32_t kernelSize = g->kernelHeight * g->kernelWidth;
    const int pointwise = g->kernelHeight == 1 && g->kernelWidth == 1 && g->strideHeight == 1 && g->strideWidth == 1
        && g->padTop == 0 && g->padLeft == 0 && g->padBottom == 0 && g->padRight == 0;
    for (int32_t m = 0; m < g->outChannels; m++) {
        const int32_t group = m / coutG;
        float *plane = out + (int64_t)m * planeOut;
        const float b = bias ? bias[m] : 0.0f;
        for (int32_t p = 0; p < planeOut; p++) plane[p] = b;
        for (int32_t c = 0; c < cinG; c++) {
            const float *src = in + (int64_t)(group * cinG + c) * planeIn;
            const float *w = weight + ((int64_t)m * cinG + c) * kernelSize;
            if (pointwise) {
                const float wv = w[0];
                for (int32_t p = 0; p < planeOut; p++) plane[p] += wv * src[p];
                continue;
            }
            for (int32_t kh = 0; kh < g->kernelHeight; kh++) {
                for (int32_t kw = 0; kw < g->kernelWidth; kw++) {
                    const float wv = w[kh * g->kernelWidth + kw];
                    int32_t first, last;
                    valid_columns(g->outWidth, g->inWidth, g->strideWidth, g->padLeft, kw * g->dilationWidth, &first, &last);
                    for (int32_t oh = 0; oh < g->outHeight; oh++) {
                        const int32_t ih = oh * g->strideHeight - g->padTop + kh * g->dilationHeight;
                        if (ih < 0 || ih >= g->inHeight) continue;
                        const float *row = src + (int64_t)ih * g->inWidth - g->padLeft + kw * g->dilationWidth;
                        float *dst = plane + (int64_t)oh * g->outWidth;
                        if (g->strideWidth == 1) {
                            for (int32_t ow = first; ow < last; ow++) dst[ow] += wv * row[ow];
                        } else {
                            for (int32_t ow = first; ow < last; ow++) dst[ow] += wv * row[ow * g->strideWidth];
                        }
                    }
                }
            }
        }
        for (int32_t p = 0; p < planeOut; p++) plane[p] = fminf(fmaxf(plane[p], lo), hi);
    }
}

RK_MULTIVERSION
void rk_gemm_f32(int32_t M, int32_t N, int32_t K, const float *a, const float *bT, const float *bias, float *out) {
    for (int32_t m = 0; m < M; m++) {
        const float *row = a + (int64_t)m * K;
        for (int32_t n = 0; n < N; n++) {
            const float *col = bT + (int64_t)n * K;
            float sum = 0.0f;
            for (int32_t k = 0; k < K; k++) sum += row[k] * col[k];
            out[(int64_t)m * N + n] = sum + (bias ? bias[n] : 0.0f);
        }
    }
}

#define RK_PAD(NAME, TYPE)                                                                                    \
    RK_MULTIVERSION void NAME(const TYPE *in, int32_t channels, int32_t height, int32_t width, int32_t zeroPoint,             \
              int32_t padTop, int32_t padLeft, int32_t padBottom, int32_t padRight, int16_t *out) {           \
        const int32_t paddedWidth = width + padLeft + padRight, paddedHeight = height + padTop + padBottom;   \
        for (int32_t c = 0; c < channels; c++) {                                                              \
            int16_t *plane = out + (int64_t)c * paddedHeight * paddedWidth;                                   \
            memset(plane, 0, sizeof(int16_t) * (size_t)paddedHeight * (size_t)paddedWidth);                  \
            const TYPE *src = in + (int64_t)c * height * width;                                               \
            for (int32_t h = 0; h < height; h++) {                                                            \
                int16_t *dst = plane + (int64_t)(h + padTop) * paddedWidth + padLeft;                         \
                const TYPE *row = src + (int64_t)h * width;                                                   \
                for (int32_t w = 0; w < width; w++) dst[w] = (int16_t)((int32_t)row[w] - zeroPoint);          \
            }                                                                                                 \
        }                                                                                                     \
    }
RK_PAD(rk_pad_u8, uint8_t)
RK_PAD(rk_pad_s8, int8_t)


// Writes one output channel from its int32 accumulators.
RK_MULTIVERSION
static void requantize_channel(const int32_t *acc, int32_t count, int32_t channel, void *out, int64_t offset,
                               const rk_requant *rq) {
    if (rq->floatOutput) {
        const float s = rq->floatScale[channel], b = rq->floatBias ? rq->floatBias[channel] : 0.0f;
        float *dst = rq->floatOutput + offset;
        for (int32_t i = 0; i < count; i++) dst[i] = (float)acc[i] * s + b;
        return;
    }
    const float m = rq->multiplier[channel];
    const float lo = (float)(rq->lo - rq->zeroPoint), hi = (float)(rq->hi - rq->zeroPoint);
    if (rq->outputSigned) {
        int8_t *dst = (int8_t *)out + offset;
        for (int32_t i = 0; i < count; i++) {
            float v = fminf(fmaxf(nearbyintf((float)acc[i] * m), lo), hi);
            dst[i] = (int8_t)((int32_t)v + rq->zeroPoint);
        }
    } else {
        uint8_t *dst = (uint8_t *)out + offset;
        for (int32_t i = 0; i < count; i++) {
            float v = fminf(fmaxf(nearbyintf((float)acc[i] * m), lo), hi);
            dst[i] = (uint8_t)((int32_t)v + rq->zeroPoint);
        }
    }
}

RK_MULTIVERSION
void rk_qgemm(int32_t M, int32_t N, int32_t K, const int16_t *a, const int8_t *bT, const int32_t *bias,
              void *out, const rk_requant *rq) {
    for (int32_t m = 0; m < M; m++) {
        const int16_t *row = a + (int64_t)m * K;
        for (int32_t n = 0; n < N; n++) {
            const int8_t *col = bT + (int64_t)n * K;
            int32_t sum = bias ? bias[n] : 0;
            for (int32_t k = 0; k < K; k++) sum += (int32_t)row[k] * (int32_t)col[k];
            requantize_channel(&sum, 1, n, out, (int64_t)m * N + n, rq);
        }
    }
}

