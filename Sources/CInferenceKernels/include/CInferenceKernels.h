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



// MARK: - Dot-product kernels (x86-64 AVX-512 VNNI), chosen at run time

/// 1 while rk_force_portable(1) is in effect.
int32_t rk_portable_forced(void);

/// Integer convolution computed with float multiply-adds, used when every partial sum is an integer
/// below 2^24 (kernel size x 255 x 128 < 2^24: depthwise and small 3x3 convolutions), so each float
/// sum is exact and the result bit-identical to rk_qconv2d. The padded input holds (x - zero point) as
/// floats (rk_pad_u8_f32 / rk_pad_s8_f32), the weights as floats; `acc` is outHeight x outWidth scratch.
void rk_qconv2d_exact_f32(const rk_conv_geometry *g, const float *paddedIn, const float *weight, const int32_t *bias,
                          float *acc, void *out, const rk_requant *rq);
void rk_pad_u8_f32(const uint8_t *in, int32_t channels, int32_t height, int32_t width, int32_t zeroPoint,
                   int32_t padTop, int32_t padLeft, int32_t padBottom, int32_t padRight, float *out);
void rk_pad_s8_f32(const int8_t *in, int32_t channels, int32_t height, int32_t width, int32_t zeroPoint,
                   int32_t padTop, int32_t padLeft, int32_t padBottom, int32_t padRight, float *out);

/// 1 when the CPU has AVX-512 VNNI (vpdpbusd) and the fast path is not disabled.
int32_t rk_fast_int8_available(void);
/// Disables (1) or re-enables (0) the fast paths, so tests can compare them with the portable kernels.
void rk_force_portable(int32_t on);

/// Bytes of the packed weights of a pointwise convolution (M output x C input channels).
int64_t rk_pointwise_packed_bytes(int32_t M, int32_t C);
/// Packs int8 weights [M][C] into blocks of 16 output channels x 4 input channels (zero padded).
void rk_pointwise_pack(const int8_t *weight, int32_t M, int32_t C, int8_t *packed);
/// Bytes of scratch for rk_qpointwise_fast (the input transposed to pixel-major).
int64_t rk_pointwise_scratch_bytes(int32_t C, int32_t pixels);

/// Pointwise (1x1, stride 1, no padding, one group) integer convolution with AVX-512 VNNI:
/// acc[m][p] = biasAdjusted[m] + sum_c x[c][p] * w[m][c], x read as unsigned (int8 input is shifted by
/// 128 and its zero point with it, folded into biasAdjusted by the caller), then requantized as rk_qconv2d.
/// Returns 0 when the fast path is unavailable (the caller then runs the portable kernel).
int32_t rk_qpointwise_fast(int32_t C, int32_t M, int32_t pixels, const void *in, int32_t inputSigned,
                           const int8_t *packed, const int32_t *biasAdjusted, uint8_t *scratch, void *out,
                           const rk_requant *rq);
#endif
