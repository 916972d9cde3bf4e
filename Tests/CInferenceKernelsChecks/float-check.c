// Cross-checks the fast float convolution kernels (float_conv.c) against the portable ones and against
// the direct convolution (rk_conv2d_f32) on random shapes: within a tolerance scaled by the magnitude of
// the sum, since fused multiply-adds round differently from a multiply then an add. Also checks that the
// threaded forms equal one thread bit for bit. Run on x86-64 (AVX-512F, AVX2+FMA) and under qemu-aarch64
// (NEON) by scripts/test.d/35-kernel-paths.
//
// Usage: float-check [CASES] [SEED] [KERNELS]   (exit status 2 when this CPU cannot run KERNELS)
#include "CInferenceKernels.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check-random.h"

static float *values(int64_t count) {
    // 64 spare bytes, as the execution plan gives every value.
    float *p = aligned_alloc(64, ((size_t)count * 4 + 64 + 63) / 64 * 64);
    for (int64_t i = 0; i < count + 16; i++) p[i] = uniform(-1, 1);
    return p;
}

// |a - b| within 1e-5 of the sum of |terms| (about 80 float ulps of the largest possible partial sum).
// Exactly `count` floats (no spare bytes): inputs, so AddressSanitizer sees any read past them.
static float *exact(int64_t count) {
    float *p = malloc((size_t)(count > 0 ? count : 1) * 4);
    for (int64_t i = 0; i < count; i++) p[i] = uniform(-1, 1);
    return p;
}

static int close(const float *a, const float *b, int64_t count, const float *scale, const char *what) {
    for (int64_t i = 0; i < count; i++) {
        if (fabsf(a[i] - b[i]) > 1e-5f * scale[i] + 1e-6f) {
            fprintf(stderr, "float-check: %s differs at %lld: %.9g vs %.9g (scale %g)\n", what, (long long)i, a[i], b[i], scale[i]);
            return 0;
        }
    }
    return 1;
}

static int check_gemm(rk_pool *pool) {
    const int32_t M = range(1, 70), K = range(1, 600), P = range(1, 300);
    const float lo = next() % 2 ? 0.0f : -INFINITY, hi = next() % 3 ? INFINITY : 6.0f;
    float *w = values((int64_t)M * K), *in = exact((int64_t)K * P);
    float *packed = values(rk_sgemm_packed_floats(M, K)), *bias = values(M + RK_SGEMM_ROWS);
    float *fast = values((int64_t)M * P), *threaded = values((int64_t)M * P), *portable = values((int64_t)M * P);
    float *scale = values((int64_t)M * P);
    rk_sgemm_pack(w, M, K, packed);
    for (int32_t m = 0; m < M; m++)
        for (int32_t p = 0; p < P; p++) {
            float s = fabsf(bias[m]);
            for (int32_t k = 0; k < K; k++) s += fabsf(w[(int64_t)m * K + k] * in[(int64_t)k * P + p]);
            scale[(int64_t)m * P + p] = s;
        }
    rk_sgemm(M, K, P, packed, bias, in, fast, lo, hi);
    rk_sgemm_parallel(pool, M, K, P, packed, bias, in, threaded, lo, hi);
    const char *set = rk_float_kernels();
    rk_select_float_kernels("portable");
    rk_sgemm(M, K, P, packed, bias, in, portable, lo, hi);
    int ok = close(fast, portable, (int64_t)M * P, scale, "sgemm") && memcmp(fast, threaded, (size_t)M * P * 4) == 0;
    rk_select_float_kernels(set);
    if (!ok) fprintf(stderr, "float-check: sgemm M=%d K=%d P=%d failed (threads bit for bit: %d)\n", M, K, P,
                     memcmp(fast, threaded, (size_t)M * P * 4) == 0);
    free(w), free(in), free(packed), free(bias), free(fast), free(threaded), free(portable), free(scale);
    return ok;
}

static int check_depthwise(rk_pool *pool) {
    const int32_t k = next() % 2 ? 3 : 5, stride = range(1, 2), C = range(1, 40);
    const int32_t H = range(1, 70), W = range(1, 70), pad = range(0, k / 2 + 1);
    rk_conv_geometry g = {C, H, W, C, 0, 0, C, k, k, stride, stride, pad, pad, pad, pad, 1, 1};
    if (H + 2 * pad < k || W + 2 * pad < k) return 1;
    g.outHeight = (H + 2 * pad - k) / stride + 1;
    g.outWidth = (W + 2 * pad - k) / stride + 1;
    if (!rk_depthwise_f32_supported(&g)) {
        fprintf(stderr, "float-check: depthwise %dx%d/%d not supported\n", k, k, stride);
        return 0;
    }
    const float lo = next() % 2 ? 0.0f : -INFINITY, hi = next() % 3 ? INFINITY : 6.0f;
    const int64_t outCount = (int64_t)C * g.outHeight * g.outWidth;
    float *in = exact((int64_t)C * H * W), *w = values((int64_t)C * k * k), *bias = values(C);
    float *fast = values(outCount), *threaded = values(outCount), *direct = values(outCount), *scale = values(outCount);
    for (int64_t i = 0; i < outCount; i++) scale[i] = 2.0f * (float)(k * k + 1);
    const int64_t scratchFloats = rk_depthwise_f32_scratch_floats(&g);
    float *scratch = scratchFloats ? exact(scratchFloats * 3) : NULL;
    rk_depthwise_f32(&g, in, w, bias, fast, lo, hi, scratch);
    rk_depthwise_f32_parallel(pool, &g, in, w, bias, threaded, lo, hi, scratch, scratchFloats);
    rk_conv2d_f32(&g, in, w, bias, direct, lo, hi);
    const int ok = close(fast, direct, outCount, scale, "depthwise") && memcmp(fast, threaded, (size_t)outCount * 4) == 0;
    if (!ok) fprintf(stderr, "float-check: depthwise C=%d %dx%d k=%d s=%d pad=%d failed\n", C, H, W, k, stride, pad);
    free(in), free(w), free(bias), free(fast), free(threaded), free(direct), free(scale), free(scratch);
    return ok;
}

// Any convolution as im2col + the matrix product per group, against the direct convolution.
static int check_im2col(void) {
    const int32_t kh = range(1, 5), kw = range(1, 5), sh = range(1, 3), sw = range(1, 3), dh = range(1, 2), dw = range(1, 2);
    const int32_t groups = range(1, 3), cin = groups * range(1, 5), cout = groups * range(1, 9);
    const int32_t H = range(1, 30), W = range(1, 30);
    rk_conv_geometry g = {cin, H, W, cout, 0, 0, groups, kh, kw, sh, sw, range(0, 3), range(0, 3), range(0, 3), range(0, 3), dh, dw};
    const int32_t eh = (kh - 1) * dh + 1, ew = (kw - 1) * dw + 1;
    if (H + g.padTop + g.padBottom < eh || W + g.padLeft + g.padRight < ew) return 1;
    g.outHeight = (H + g.padTop + g.padBottom - eh) / sh + 1;
    g.outWidth = (W + g.padLeft + g.padRight - ew) / sw + 1;
    const float lo = next() % 2 ? 0.0f : -INFINITY, hi = INFINITY;
    const int32_t cg = cin / groups, mg = cout / groups, K = cg * kh * kw, P = g.outHeight * g.outWidth;
    float *in = exact((int64_t)cin * H * W), *w = values((int64_t)cout * K), *bias = values(cout + RK_SGEMM_ROWS);
    float *col = exact((int64_t)K * P), *packed = values(rk_sgemm_packed_floats(mg, K)), *groupBias = values(mg + RK_SGEMM_ROWS);
    float *ours = values((int64_t)cout * P), *direct = values((int64_t)cout * P), *scale = values((int64_t)cout * P);
    for (int64_t i = 0; i < (int64_t)cout * P; i++) scale[i] = (float)(K + 1);
    for (int32_t group = 0; group < groups; group++) {
        rk_im2col_f32(&g, in, group * cg, cg, col);
        rk_sgemm_pack(w + (int64_t)group * mg * K, mg, K, packed);
        memcpy(groupBias, bias + group * mg, sizeof(float) * (size_t)mg);
        rk_sgemm(mg, K, P, packed, groupBias, col, ours + (int64_t)group * mg * P, lo, hi);
    }
    rk_conv2d_f32(&g, in, w, bias, direct, lo, hi);
    const int ok = close(ours, direct, (int64_t)cout * P, scale, "im2col");
    if (!ok) fprintf(stderr, "float-check: im2col %dx%d k%dx%d s%dx%d d%dx%d g%d %d->%d failed\n", H, W, kh, kw, sh, sw, dh, dw, groups, cin, cout);
    free(in), free(w), free(bias), free(col), free(packed), free(groupBias), free(ours), free(direct), free(scale);
    return ok;
}

int main(int argc, char **argv) {
    const int cases = argc > 1 ? atoi(argv[1]) : 200;
    state = argc > 2 ? (uint64_t)atoll(argv[2]) : 1;
    if (argc > 3 && !rk_select_float_kernels(argv[3])) {
        printf("float-check: this CPU cannot run the %s kernels\n", argv[3]);
        return 2;
    }
    rk_pool *pool = rk_pool_create(3);
    int failures = 0;
    for (int i = 0; i < cases; i++) {
        failures += !check_gemm(pool);
        failures += !check_depthwise(pool);
        failures += !check_im2col();
    }
    rk_pool_destroy(pool);
    printf("float-check (%s): %d cases, %d failures\n", rk_float_kernels(), cases, failures);
    return failures ? 1 : 0;
}
