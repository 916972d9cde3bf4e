// Cross-checks the fast int8 kernels of Sources/CInferenceKernels against the portable ones on random
// shapes, byte for byte: the Swift parity suite compares the portable path with onnxruntime, this program
// extends the comparison to the fast paths of the CPU it runs on, including AArch64's sdot and plain NEON
// under qemu-aarch64 (scripts/test.d/35-kernel-paths), which no Swift test on this x86-64 machine can reach.
//
// Usage: kernel-check [CASES] [SEED] [KERNELS]
// KERNELS names a set of fast kernels to check instead of the CPU's best (rk_select_int8_kernels), e.g.
// avx2 on an AVX-512 VNNI machine; exit status 2 when this CPU cannot run it.
#include "CInferenceKernels.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check-random.h"

static void *slack(size_t bytes) {
    // 64 spare bytes, as the execution plan gives every value.
    uint8_t *p = aligned_alloc(64, (bytes + 64 + 63) / 64 * 64);
    for (size_t i = 0; i < bytes + 64; i++) p[i] = (uint8_t)next();
    return p;
}

static rk_requant random_stage(const float *multiplier) {
    rk_requant rq = {0};
    rq.multiplier = multiplier;
    rq.outputSigned = (int32_t)(next() & 1);
    rq.zeroPoint = rq.outputSigned ? range(-128, 127) : range(0, 255);
    rq.lo = rq.outputSigned ? -128 : 0;
    rq.hi = rq.outputSigned ? 127 : 255;
    if (next() % 3 == 0) rq.lo = rq.zeroPoint;   // a fused Relu
    return rq;
}

static int check_gemm(int index) {
    const int32_t P = range(1, 40), M = range(1, 80), K = range(1, 300);
    const int64_t lda = K + range(0, 8), ldc = M + range(0, 8);
    uint8_t *a = slack((size_t)(P * lda));
    int8_t *w = slack((size_t)M * K);
    int8_t *packed = slack((size_t)rk_gemm_packed_bytes(M, K));
    rk_gemm_pack(w, M, K, packed);
    int32_t *bias = slack(sizeof(int32_t) * (size_t)(M + 16));
    float *multiplier = slack(sizeof(float) * (size_t)(M + 16));
    for (int32_t m = 0; m < M + 16; m++) {
        bias[m] = range(-200000, 200000);
        multiplier[m] = uniform(0.00005f, 0.01f);
    }
    const uint8_t flip = (next() & 1) ? 0x80 : 0;
    const rk_requant rq = random_stage(multiplier);
    uint8_t *fast = calloc((size_t)(P * ldc + 64), 1), *portable = calloc((size_t)(P * ldc + 64), 1);
    rk_qgemm_u8s8(P, M, K, a, lda, flip, packed, bias, fast, ldc, &rq);
    rk_force_portable(1);
    rk_qgemm_u8s8(P, M, K, a, lda, flip, packed, bias, portable, ldc, &rq);
    rk_force_portable(0);
    int bad = 0;
    for (int32_t p = 0; p < P && !bad; p++)
        for (int32_t m = 0; m < M; m++)
            if (fast[p * ldc + m] != portable[p * ldc + m]) {
                fprintf(stderr, "gemm case %d (P %d M %d K %d flip %d): pixel %d output %d: fast %d portable %d\n", index, P, M, K,
                        flip, p, m, fast[p * ldc + m], portable[p * ldc + m]);
                bad = 1;
                break;
            }
    free(a); free(w); free(packed); free(bias); free(multiplier); free(fast); free(portable);
    return bad;
}

// Depthwise cases compared (random kernels larger than their padded input are skipped), and how many
// of them had each feature, so a run shows what it covered.
static int depthwiseRun, depthwiseSigned, depthwiseOdd, depthwiseLarge, depthwiseStrided, depthwiseDilated;

static int check_depthwise(int index) {
    rk_conv_geometry g = {0};
    static const int32_t few[] = {1, 2, 4, 8, 16, 32};
    g.inChannels = g.outChannels = g.group = (next() & 1) ? few[next() % 6] : range(1, 200);
    g.inHeight = range(1, 14);
    g.inWidth = range(1, 14);
    g.kernelHeight = range(1, 7);
    g.kernelWidth = range(1, 7);
    g.strideHeight = range(1, 2);
    g.strideWidth = range(1, 2);
    g.dilationHeight = range(1, 2);
    g.dilationWidth = range(1, 2);
    g.padTop = range(0, 2); g.padBottom = range(0, 2); g.padLeft = range(0, 2); g.padRight = range(0, 2);
    const int32_t extentH = (g.kernelHeight - 1) * g.dilationHeight + 1, extentW = (g.kernelWidth - 1) * g.dilationWidth + 1;
    if (g.inHeight + g.padTop + g.padBottom < extentH || g.inWidth + g.padLeft + g.padRight < extentW) return 0;
    g.outHeight = (g.inHeight + g.padTop + g.padBottom - extentH) / g.strideHeight + 1;
    g.outWidth = (g.inWidth + g.padLeft + g.padRight - extentW) / g.strideWidth + 1;
    const int32_t C = g.inChannels, taps = g.kernelHeight * g.kernelWidth;
    const int32_t inputSigned = (int32_t)(next() & 1), zero = inputSigned ? range(-128, 127) : range(0, 255);
    depthwiseRun++;
    depthwiseSigned += inputSigned;
    depthwiseOdd += C % 2;
    depthwiseLarge += g.kernelHeight >= 6 || g.kernelWidth >= 6;
    depthwiseStrided += g.strideHeight == 2 || g.strideWidth == 2;
    depthwiseDilated += g.dilationHeight == 2 || g.dilationWidth == 2;
    uint8_t *in = slack((size_t)C * g.inHeight * g.inWidth);
    int32_t *weight = slack(sizeof(int32_t) * (size_t)(taps * C)), *bias = slack(sizeof(int32_t) * (size_t)C);
    float *multiplier = slack(sizeof(float) * (size_t)(C + 16));
    for (int32_t i = 0; i < taps * C; i++) weight[i] = range(-128, 127);
    for (int32_t c = 0; c < C; c++) {
        bias[c] = range(-50000, 50000);
        multiplier[c] = uniform(0.0005f, 0.02f);
    }
    const int32_t slots = (C + 63) / 64 * 64;
    int8_t *packedWeight = slack((size_t)rk_depthwise_packed_weight_bytes(C, taps));
    int32_t *packedBias = slack(sizeof(int32_t) * (size_t)slots);
    float *packedMultiplier = slack(sizeof(float) * (size_t)slots);
    rk_depthwise_pack(weight, bias, multiplier, C, taps, zero + (inputSigned ? 128 : 0), packedWeight, packedBias, packedMultiplier);
    rk_depthwise_packed packed = {packedWeight, packedBias, packedMultiplier, NULL, NULL, NULL};
    int8_t *flatWeight = slack((size_t)taps * 256);
    int32_t *flatBias = slack(sizeof(int32_t) * 64);
    float *flatMultiplier = slack(sizeof(float) * 64);
    if (rk_depthwise_flat_supported(C)) {
        rk_depthwise_pack_flat(weight, bias, multiplier, C, taps, zero + (inputSigned ? 128 : 0), flatWeight, flatBias, flatMultiplier);
        packed.flatWeight = flatWeight;
        packed.flatBias = flatBias;
        packed.flatMultiplier = flatMultiplier;
    }
    const rk_requant rq = random_stage(multiplier);
    void *scratch = slack((size_t)rk_depthwise_scratch_bytes(C));
    const size_t outBytes = (size_t)C * g.outHeight * g.outWidth;
    uint8_t *fast = calloc(outBytes + 64, 1), *portable = calloc(outBytes + 64, 1);
    rk_qdepthwise_nhwc(&g, in, inputSigned, zero, weight, bias, &packed, fast, &rq, scratch);
    rk_force_portable(1);
    rk_qdepthwise_nhwc(&g, in, inputSigned, zero, weight, bias, &packed, portable, &rq, scratch);
    rk_force_portable(0);
    int bad = 0;
    for (size_t i = 0; i < outBytes; i++)
        if (fast[i] != portable[i]) {
            fprintf(stderr, "depthwise case %d (C %d %dx%d k %dx%d s %d,%d d %d,%d signed %d): byte %zu: fast %d portable %d\n", index, C,
                    g.inHeight, g.inWidth, g.kernelHeight, g.kernelWidth, g.strideHeight, g.strideWidth, g.dilationHeight,
                    g.dilationWidth, inputSigned, i, fast[i], portable[i]);
            bad = 1;
            break;
        }
    free(in); free(weight); free(bias); free(multiplier); free(packedWeight); free(packedBias); free(packedMultiplier);
    free(flatWeight); free(flatBias); free(flatMultiplier);
    free(scratch); free(fast); free(portable);
    return bad;
}

int main(int argc, char **argv) {
    const int cases = argc > 1 ? atoi(argv[1]) : 300;
    state = argc > 2 ? strtoull(argv[2], NULL, 10) : 1;
    if (argc > 3 && !rk_select_int8_kernels(argv[3])) {
        fprintf(stderr, "kernel-check: this CPU cannot run the %s kernels\n", argv[3]);
        return 2;
    }
    if (!rk_fast_int8_available()) {
        fprintf(stderr, "kernel-check: this CPU has no fast int8 kernels; nothing to compare\n");
        return 2;
    }
    int failures = 0;
    for (int i = 0; i < cases; i++) failures += check_gemm(i) + check_depthwise(i);
    printf("kernel-check (%s): %d random matrix products and %d depthwise convolutions, fast vs portable: %d mismatches\n",
           rk_int8_kernels(), cases, depthwiseRun, failures);
    printf("  depthwise: %d int8 input, %d odd channel counts, %d with a kernel side of 6 or 7, %d strided, %d dilated\n",
           depthwiseSigned, depthwiseOdd, depthwiseLarge, depthwiseStrided, depthwiseDilated);
    return failures ? 1 : 0;
}
