// Hot loops of the inference runtime: convolutions and matrix products in float and in int8 with
// int32 accumulation. Plain C the compiler vectorises (built with -O3 even in debug builds), so the
// Swift side only plans, checks and calls. All shapes are checked by the Swift planner before a call.
#ifndef CINFERENCEKERNELS_H
#define CINFERENCEKERNELS_H

#include <stdint.h>

/// Geometry of one 2-D convolution over one NCHW image.
typedef struct {
    int32_t inChannels, inHeight, inWidth;
    int32_t outChannels, outHeight, outWidth;
    int32_t group;
    int32_t kernelHeight, kernelWidth;
    int32_t strideHeight, strideWidth;
    int32_t padTop, padLeft, padBottom, padRight;
    int32_t dilationHeight, dilationWidth;
} rk_conv_geometry;

/// Float convolution: out = clamp(conv(in, weight) + bias, lo, hi). `bias` may be NULL.
void rk_conv2d_f32(const rk_conv_geometry *g, const float *in, const float *weight, const float *bias,
                   float *out, float lo, float hi);

/// Float matrix product: out[m][n] = sum_k a[m][k] * b[k][n] (b given as bT[n][k]) + bias[n] (bias may be NULL).
void rk_gemm_f32(int32_t M, int32_t N, int32_t K, const float *a, const float *bT, const float *bias, float *out);

/// Writes (x - zeroPoint) of a quantized NCHW image into a zero-padded int16 buffer of
/// channels x (height + padTop + padBottom) x (width + padLeft + padRight).
void rk_pad_u8(const uint8_t *in, int32_t channels, int32_t height, int32_t width, int32_t zeroPoint,
               int32_t padTop, int32_t padLeft, int32_t padBottom, int32_t padRight, int16_t *out);
void rk_pad_s8(const int8_t *in, int32_t channels, int32_t height, int32_t width, int32_t zeroPoint,
               int32_t padTop, int32_t padLeft, int32_t padBottom, int32_t padRight, int16_t *out);

/// Output stage of an integer kernel: per output channel a float multiplier (input scale x weight
/// scale / output scale), the output zero point and the clamp that also carries a fused activation.
typedef struct {
    const float *multiplier;   // per output channel
    int32_t zeroPoint;
    int32_t lo, hi;            // clamp in the quantized domain
    int32_t outputSigned;      // 1: int8 output, 0: uint8 output
    float *floatOutput;        // when not NULL, write acc * floatScale[channel] + floatBias[channel] here instead
    const float *floatScale;
    const float *floatBias;
} rk_requant;

/// Integer convolution over a padded int16 input (see rk_pad_*): int8 weights (already minus their
/// zero point), int32 bias, int32 accumulation into `acc` (outHeight x outWidth scratch), requantized.
void rk_qconv2d(const rk_conv_geometry *g, const int16_t *paddedIn, const int8_t *weight, const int32_t *bias,
                int32_t *acc, void *out, const rk_requant *rq);

/// Integer matrix product: rows of a (M x K, int16 = x - zeroPoint) times bT (N x K int8) + bias,
/// requantized per column n.
void rk_qgemm(int32_t M, int32_t N, int32_t K, const int16_t *a, const int8_t *bT, const int32_t *bias,
              void *out, const rk_requant *rq);

#endif
