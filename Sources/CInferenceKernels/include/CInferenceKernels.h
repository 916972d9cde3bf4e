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

/// Integer matrix product: rows of a (M x K, int16 = x - zeroPoint) times bT (N x K int8) + bias,
/// requantized per column n.
void rk_qgemm(int32_t M, int32_t N, int32_t K, const int16_t *a, const int8_t *bT, const int32_t *bias,
              void *out, const rk_requant *rq);



// MARK: - Channels-last (NHWC) integer kernels, with AVX-512 VNNI fast paths chosen at run time

/// 1 when this CPU has fast int8 kernels (x86-64: AVX-512 VNNI vpdpbusd, else AVX2; AArch64: NEON, with
/// the ARMv8.2 dot product sdot where the core has it) and they are not disabled.
int32_t rk_fast_int8_available(void);
/// Which int8 kernels run: "avx512-vnni", "avx2", "neon-sdot", "neon" or "portable".
const char *rk_int8_kernels(void);
/// Disables (1) or re-enables (0) the fast paths, so tests can compare them with the portable kernels.
void rk_force_portable(int32_t on);
/// For tests: runs the fast kernels named (a name of rk_int8_kernels) instead of the CPU's best, e.g.
/// "avx2" on an AVX-512 VNNI machine or "neon" on a core with sdot; NULL restores the best. Returns 0
/// (and changes nothing) when this CPU cannot run them. rk_depthwise_pack follows the selection, so
/// select before packing. Process-wide, not thread-safe.
int32_t rk_select_int8_kernels(const char *name);

/// Bytes of weights packed by rk_gemm_pack for M outputs of depth K.
int64_t rk_gemm_packed_bytes(int32_t M, int32_t K);
/// Packs int8 weights [M][K] into blocks of 16 outputs x groups of 4 depth values (zero padded), the
/// operand layout of one vpdpbusd.
void rk_gemm_pack(const int8_t *weight, int32_t M, int32_t K, int8_t *packed);

/// Integer matrix product with requantized output: out[p][m] (row stride ldc bytes) =
/// requant(bias[m] + sum_k a[p][k] * w[m][k]) for p < P, m < M. `a` holds P rows of unsigned bytes
/// (row stride lda), each readable up to K rounded up to 4 (the packed weights there are zero), read
/// xor `flip` (0x80 reads int8 activations as their unsigned form, x + 128);
/// `bias` and `rq->multiplier` hold M rounded up to 16 values. Zero points are folded into `bias` by
/// the caller. Output bytes are uint8 or int8 by `rq->outputSigned`. `rq->floatOutput` is not used.
void rk_qgemm_u8s8(int32_t P, int32_t M, int32_t K, const uint8_t *a, int64_t lda, uint8_t flip, const int8_t *packed,
                   const int32_t *bias, void *out, int64_t ldc, const rk_requant *rq);

/// Copies the receptive field of every output pixel of an NHWC image into one row of `col`
/// (taps in (kh, kw, channel) order, `rowBytes` per row, zero after the last tap): channels
/// [channelOffset, channelOffset + channels) of each tap, xor `flip` (0x80 turns int8 into the
/// unsigned form the dot product reads), `padValue` outside the image.
void rk_im2col_nhwc(const rk_conv_geometry *g, const uint8_t *in, int32_t channelOffset, int32_t channels, uint8_t flip,
                    uint8_t padValue, uint8_t *col, int32_t rowBytes);

/// Operands of the dot-product depthwise kernel, made by rk_depthwise_pack: for each block of 64
/// channels and each tap, four 64-byte weight vectors (vector j keeps byte j of every 4, the weight of
/// channel 4i+j), and bias (zero-point correction folded in) and multipliers in the same permuted order.
/// For few channels (rk_depthwise_flat_supported) the `flat` operands tile the same pattern over 64
/// bytes of 64/C neighbouring pixels (rk_depthwise_pack_flat: taps x 256 bytes, 64 bias and multiplier
/// slots); NULL otherwise. Where the widening kernels run (AVX2; NEON without the dot product),
/// rk_depthwise_pack makes their layout instead, in the same buffers (see rk__depthwise_pack_avx2 and
/// rk__depthwise_pack_neon); the flat operands are unused there.
typedef struct {
    const int8_t *weight;
    const int32_t *bias;
    const float *multiplier;
    const int8_t *flatWeight;
    const int32_t *flatBias;
    const float *flatMultiplier;
} rk_depthwise_packed;

int32_t rk_depthwise_flat_supported(int32_t C);
void rk_depthwise_pack_flat(const int32_t *weight, const int32_t *bias, const float *multiplier, int32_t C, int32_t taps,
                            int32_t unsignedZero, int8_t *packedWeight, int32_t *packedBias, float *packedMultiplier);

int64_t rk_depthwise_packed_weight_bytes(int32_t C, int32_t taps);
int64_t rk_depthwise_scratch_bytes(int32_t C);
/// Packs int32 weights [taps][C], bias [C] and multipliers [C]; packedBias and packedMultiplier hold
/// C rounded up to 64 values. `unsignedZero` is the input zero point (plus 128 for int8 input).
void rk_depthwise_pack(const int32_t *weight, const int32_t *bias, const float *multiplier, int32_t C, int32_t taps,
                       int32_t unsignedZero, int8_t *packedWeight, int32_t *packedBias, float *packedMultiplier);

/// Depthwise convolution (one filter per channel) over NHWC: weights int32 [kh][kw][C], `bias` per
/// channel, multipliers in `rq`, plus the packed operands of the fast path. `scratch` holds
/// rk_depthwise_scratch_bytes(C) bytes, 64-byte aligned.
void rk_qdepthwise_nhwc(const rk_conv_geometry *g, const void *in, int32_t inputSigned, int32_t zero, const int32_t *weight,
                        const int32_t *bias, const rk_depthwise_packed *packed, void *out, const rk_requant *rq, void *scratch);

/// Quantized addition of two tensors of the same shape and layout:
/// out = clamp(round((a - zeroA) * ratioA + (b - zeroB) * ratioB) + zeroOut, lo, hi),
/// with ratioX = scaleX / scaleOut.
typedef struct {
    float ratioA, ratioB;
    int32_t zeroA, zeroB, zeroOut;
    int32_t lo, hi;
} rk_qadd_parameters;
void rk_qadd(int64_t count, const void *a, const void *b, int32_t inputSigned, const rk_qadd_parameters *q, void *out);

/// QuantizeLinear per tensor from NCHW float into NHWC bytes (channels x pixels in, pixels x channels out).
void rk_quantize_nchw_to_nhwc(const float *in, int32_t channels, int32_t pixels, float scale, int32_t zero, int32_t lo, int32_t hi,
                              int32_t outputSigned, void *out);
/// DequantizeLinear per tensor from NHWC bytes into NCHW float.
void rk_dequantize_nhwc_to_nchw(const void *in, int32_t inputSigned, int32_t channels, int32_t pixels, float scale, int32_t zero, float *out);
/// Transposes a rows x columns matrix of bytes (NHWC <-> NCHW for one image).
void rk_transpose_bytes(const uint8_t *in, int32_t rows, int32_t columns, uint8_t *out);
// MARK: - Threads (inference.threads)

/// A fixed pool of worker threads; the caller's thread is one of them.
typedef struct rk_pool rk_pool;
typedef void (*rk_task)(void *context, int32_t part, int32_t parts);
/// Starts threads - 1 workers (fewer if the system refuses some); NULL only when out of memory.
rk_pool *rk_pool_create(int32_t threads);
/// Threads a run uses (1 for NULL).
int32_t rk_pool_threads(const rk_pool *pool);
/// Runs task(context, part, parts) for every part, part 0 on the calling thread; returns when all are done.
/// Allocates nothing.
void rk_pool_run(rk_pool *pool, rk_task task, void *context);
void rk_pool_destroy(rk_pool *pool);

/// rk_qgemm_u8s8 with the pixels split across the pool's threads.
void rk_qgemm_u8s8_parallel(rk_pool *pool, int32_t P, int32_t M, int32_t K, const uint8_t *a, int64_t lda, uint8_t flip,
                            const int8_t *packed, const int32_t *bias, void *out, int64_t ldc, const rk_requant *rq);
/// rk_qdepthwise_nhwc with the output rows split across the pool's threads; `scratch` holds one
/// rk_depthwise_scratch_bytes area per thread, `scratchStride` bytes apart.
void rk_qdepthwise_nhwc_parallel(rk_pool *pool, const rk_conv_geometry *g, const void *in, int32_t inputSigned, int32_t zero,
                                 const int32_t *weight, const int32_t *bias, const rk_depthwise_packed *packed, void *out,
                                 const rk_requant *rq, void *scratch, int64_t scratchStride);
// MARK: - Float convolutions over NCHW (float_conv.c), with AVX-512F / AVX2+FMA / NEON paths chosen at run time

/// Which float kernels run: "avx512", "avx2", "neon" or "portable".
const char *rk_float_kernels(void);
/// For tests: runs the float kernels named (a name of rk_float_kernels) instead of the CPU's best; NULL
/// restores the best. Returns 0 (and changes nothing) when this CPU cannot run them. Process-wide.
int32_t rk_select_float_kernels(const char *name);

/// Output channels per panel of packed float weights.
#define RK_SGEMM_ROWS 6
/// Floats of weights packed by rk_sgemm_pack for M outputs of depth K (M rounded up to RK_SGEMM_ROWS).
int64_t rk_sgemm_packed_floats(int32_t M, int32_t K);
/// Packs float weights [M][K] into panels of RK_SGEMM_ROWS outputs, depth-major inside a panel (zero padded).
void rk_sgemm_pack(const float *weight, int32_t M, int32_t K, float *packed);
/// out[m][p] = clamp(bias[m] + sum_k w[m][k] * in[k][p], lo, hi) for m < M, p < P (row stride P for in and
/// out). `bias` holds M rounded up to RK_SGEMM_ROWS values. Every set sums each value in the same k order.
void rk_sgemm(int32_t M, int32_t K, int32_t P, const float *packed, const float *bias, const float *in, float *out, float lo, float hi);
/// rk_sgemm with whole tiles of pixels (or panels of outputs) split across the pool's threads; same results.
void rk_sgemm_parallel(rk_pool *pool, int32_t M, int32_t K, int32_t P, const float *packed, const float *bias, const float *in,
                       float *out, float lo, float hi);
/// Copies the receptive fields of channels [channelOffset, channelOffset + channels) of an NCHW image into
/// `col` as a (channels x kh x kw) x (outHeight x outWidth) matrix, zero outside the image.
void rk_im2col_f32(const rk_conv_geometry *g, const float *in, int32_t channelOffset, int32_t channels, float *col);

/// 1 when rk_depthwise_f32 handles this geometry: one filter per channel, square 3x3 or 5x5, stride 1 or 2
/// in both directions, no dilation.
int32_t rk_depthwise_f32_supported(const rk_conv_geometry *g);
/// Floats of scratch rk_depthwise_f32 needs for this geometry (a zero-padded copy of one plane, for small
/// planes); 0 when it needs none.
int64_t rk_depthwise_f32_scratch_floats(const rk_conv_geometry *g);
/// Depthwise convolution over NCHW: weights [C][k][k], bias [C] (not NULL), out = clamp(conv + bias, lo, hi).
/// `scratch` holds rk_depthwise_f32_scratch_floats(g) floats (may be NULL when that is 0).
void rk_depthwise_f32(const rk_conv_geometry *g, const float *in, const float *weight, const float *bias, float *out, float lo, float hi,
                      float *scratch);
/// rk_depthwise_f32 with the channels split across the pool's threads; `scratch` holds one area per thread,
/// `scratchStride` floats apart.
void rk_depthwise_f32_parallel(rk_pool *pool, const rk_conv_geometry *g, const float *in, const float *weight, const float *bias,
                               float *out, float lo, float hi, float *scratch, int64_t scratchStride);

// MARK: - Preprocessing: area-averaging resize of a decoded frame straight into the input tensor (resample.c)

/// One axis of an area-averaging resize: output i (of `count`) is the weighted sum of source samples
/// first[i] ... first[i] + taps - 1 with weights weight[i * taps ...] (output-major; `taps` is a multiple
/// of 4 and unused taps weigh 0, so they may lie past the crop). Indices are relative to the crop.
typedef struct {
    const int32_t *first;
    const float *weight;
    int32_t taps, count;
} rk_area_axis;

/// A crop of one 8-bit plane (or of an interleaved RGB image) and how it maps to the output grid.
typedef struct {
    const uint8_t *origin;    // the crop's first sample
    int64_t stride;           // bytes from one row to the next
    int32_t span;             // the crop's width in pixels (for RGB, each 3 bytes)
    rk_area_axis columns, rows;
} rk_area_plane;

/// Where the result goes: value = round(average to 8 bits) * scale[c] + offset[c] into the NCHW float
/// `tensor`, or, when `quantized` is set, that value quantized exactly as rk_quantize_nchw_to_nhwc does
/// (round_half_even(value / quantScale) + quantZero, clamped to quantLo...quantHi) into NHWC bytes.
typedef struct {
    float *tensor;            // 3 x height x width, or NULL
    uint8_t *quantized;       // height x width x 3, or NULL
    int32_t width, height;
    float scale[3], offset[3];
    float quantScale;
    int32_t quantZero, quantLo, quantHi;
} rk_area_output;

/// Interleaved RGB -> the output. `scratch` holds 3 * (span + column taps) + 4 + 3 * width floats, zeroed once.
void rk_resample_rgb(const rk_area_plane *plane, const rk_area_output *output, float *scratch);
/// JPEG planes -> the output (RGB): Y, Cb, Cr (planeCount 3; each with its own axes, so chroma at its own
/// resolution) or Y alone (planeCount 1, greyscale: R = G = B = Y). Each output pixel is converted from
/// the averaged YCbCr with JFIF full-range constants. `scratch` holds (luma span + its column taps) +
/// (chroma span + its column taps) + 3 * width floats, zeroed once.
void rk_resample_ycc(const rk_area_plane *planes, int32_t planeCount, const rk_area_output *output, float *scratch);

#endif
