// Times the int8 kernels of Sources/CInferenceKernels on the convolutions of MobileNetV2 at 224x224
// (uint8 activations, one thread): every 1x1 convolution as rk_qgemm_u8s8 and every depthwise one as
// rk_qdepthwise_nhwc, once per kernel set this CPU runs (the portable loops, then each fast set, selected
// with rk_select_int8_kernels). Layers run in network order, each reading the previous one's output as
// the network does (so from cache where it fits); residual additions are left out, and of the 3x3 stem
// only its matrix product is in (its im2col copy is not a kernel here). Prints per set and kind the median
// over the passes of this thread's CPU time, and the ratio to the portable kernels. Every set's outputs
// are compared with the portable ones too: a timing of wrong results would mean nothing.
//
// Usage: kernel-bench [RUNS]   (scripts/bench/bench-int8-kernels builds and runs it)
#include "CInferenceKernels.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct {
    int depthwise;
    int32_t P, M, K;         // matrix product: pixels, outputs, depth
    rk_conv_geometry g;      // depthwise
    uint8_t *in, *out, *reference;
    int8_t *packed;          // matrix product weights
    int32_t *weight, *bias;  // depthwise: int32 [taps][C]; both: bias
    float *multiplier;
    int8_t *dwWeight, *flatWeight;   // depthwise operands, packed again for each set
    int32_t *dwBias, *flatBias;
    float *dwMultiplier, *flatMultiplier;
    void *scratch;
    rk_requant rq;
} layer;

static uint64_t state = 1;
static uint32_t next(void) {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (uint32_t)(state >> 33);
}

static void *bytes(size_t n) {
    // 64 spare bytes, as the execution plan gives every value.
    uint8_t *p = aligned_alloc(64, (n + 64 + 63) / 64 * 64);
    for (size_t i = 0; i < n + 64; i++) p[i] = (uint8_t)next();
    return p;
}

static layer layers[64];
static int count;

static void stage(layer *l, int32_t channels, int relu6) {
    l->bias = bytes(sizeof(int32_t) * (size_t)(channels + 64));
    l->multiplier = bytes(sizeof(float) * (size_t)(channels + 64));
    for (int32_t c = 0; c < channels + 64; c++) {
        l->bias[c] = (int32_t)(next() % 40000) - 20000;
        l->multiplier[c] = 0.0002f + (float)(next() % 1000) * 0.000002f;
    }
    l->rq.multiplier = l->multiplier;
    l->rq.zeroPoint = relu6 ? 0 : 128;
    l->rq.lo = 0;
    l->rq.hi = relu6 ? 170 : 255;   // Relu6 at the output scale of a typical quantized MobileNetV2
}

// The previous layer's output (the network's input for the first).
static uint8_t *chained(size_t n) { return count > 1 ? layers[count - 2].out : bytes(n); }

static void add_pointwise(int32_t pixels, int32_t K, int32_t M, int relu6) {
    layer *l = &layers[count++];
    memset(l, 0, sizeof *l);
    l->P = pixels;
    l->K = K;
    l->M = M;
    l->in = chained((size_t)pixels * K);
    int8_t *w = bytes((size_t)M * K);
    for (int32_t i = 0; i < M * K; i++) w[i] = (int8_t)((int32_t)(next() % 255) - 127);
    l->packed = bytes((size_t)rk_gemm_packed_bytes(M, K));
    rk_gemm_pack(w, M, K, l->packed);
    free(w);
    stage(l, M, relu6);
    l->out = bytes((size_t)pixels * M);
    l->reference = bytes((size_t)pixels * M);
}

static void add_depthwise(int32_t size, int32_t C, int32_t stride) {
    layer *l = &layers[count++];
    memset(l, 0, sizeof *l);
    l->depthwise = 1;
    rk_conv_geometry *g = &l->g;
    g->inChannels = g->outChannels = g->group = C;
    g->inHeight = g->inWidth = size;
    g->kernelHeight = g->kernelWidth = 3;
    g->strideHeight = g->strideWidth = stride;
    g->padTop = g->padLeft = g->padBottom = g->padRight = 1;
    g->dilationHeight = g->dilationWidth = 1;
    g->outHeight = g->outWidth = (size + 2 - 3) / stride + 1;
    l->in = chained((size_t)size * size * C);
    l->weight = bytes(sizeof(int32_t) * 9 * (size_t)C);
    for (int32_t i = 0; i < 9 * C; i++) l->weight[i] = (int32_t)(next() % 255) - 127;
    stage(l, C, 1);
    l->dwWeight = bytes((size_t)rk_depthwise_packed_weight_bytes(C, 9));
    l->dwBias = bytes(sizeof(int32_t) * (size_t)((C + 63) / 64 * 64));
    l->dwMultiplier = bytes(sizeof(float) * (size_t)((C + 63) / 64 * 64));
    if (rk_depthwise_flat_supported(C)) {
        // The VNNI kernel's operands for few channels (the first block's 32), as the planner makes them.
        l->flatWeight = bytes(9 * 256);
        l->flatBias = bytes(sizeof(int32_t) * 64);
        l->flatMultiplier = bytes(sizeof(float) * 64);
        rk_depthwise_pack_flat(l->weight, l->bias, l->multiplier, C, 9, 0, l->flatWeight, l->flatBias, l->flatMultiplier);
    }
    l->scratch = bytes((size_t)rk_depthwise_scratch_bytes(C));
    const size_t outBytes = (size_t)g->outHeight * g->outWidth * C;
    l->out = bytes(outBytes);
    l->reference = bytes(outBytes);
}

// The inverted residual blocks of MobileNetV2 (expansion, output channels, repeats, first stride).
static void mobilenet_v2(void) {
    static const int32_t blocks[7][4] = {{1, 16, 1, 1}, {6, 24, 2, 2}, {6, 32, 3, 2}, {6, 64, 4, 2},
                                         {6, 96, 3, 1}, {6, 160, 3, 2}, {6, 320, 1, 1}};
    int32_t size = 112, channels = 32;
    add_pointwise(112 * 112, 27, 32, 1);   // the stem's matrix product (3x3x3 taps)
    for (int b = 0; b < 7; b++)
        for (int32_t i = 0; i < blocks[b][2]; i++) {
            const int32_t hidden = channels * blocks[b][0], stride = i == 0 ? blocks[b][3] : 1, out = (size - 1) / stride + 1;
            if (blocks[b][0] != 1) add_pointwise(size * size, channels, hidden, 1);
            add_depthwise(size, hidden, stride);
            add_pointwise(out * out, hidden, blocks[b][1], 0);
            size = out;
            channels = blocks[b][1];
        }
    add_pointwise(7 * 7, 320, 1280, 1);
}

static void run(layer *l, uint8_t *out) {
    if (l->depthwise) {
        const rk_depthwise_packed packed = {l->dwWeight, l->dwBias, l->dwMultiplier, l->flatWeight, l->flatBias, l->flatMultiplier};
        rk_qdepthwise_nhwc(&l->g, l->in, 0, 0, l->weight, l->bias, &packed, out, &l->rq, l->scratch);
    } else {
        rk_qgemm_u8s8(l->P, l->M, l->K, l->in, l->K, 0, l->packed, l->bias, out, l->M, &l->rq);
    }
}

static size_t out_bytes(const layer *l) {
    return l->depthwise ? (size_t)l->g.outHeight * l->g.outWidth * l->g.inChannels : (size_t)l->P * l->M;
}

// This thread's CPU time: the build machines are shared, and wall-clock time would count the slices
// other processes take.
static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static int compare_double(const void *a, const void *b) {
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

// Median milliseconds of the matrix products (times[0]) and the depthwise convolutions (times[1]) over
// `runs` passes through the network; every output compared with the reference.
static void measure(int runs, double median[2], int *mismatches) {
    double times[2][101];
    for (int r = 0; r < runs; r++) {
        times[0][r] = times[1][r] = 0;
        for (int i = 0; i < count; i++) {
            const double start = now();
            run(&layers[i], layers[i].out);
            times[layers[i].depthwise][r] += (now() - start) * 1e3;
        }
    }
    for (int i = 0; i < count; i++)
        if (memcmp(layers[i].out, layers[i].reference, out_bytes(&layers[i])) != 0) (*mismatches)++;
    for (int kind = 0; kind < 2; kind++) {
        qsort(times[kind], (size_t)runs, sizeof(double), compare_double);
        median[kind] = times[kind][runs / 2];
    }
}

static void pack_depthwise(void) {
    for (int i = 0; i < count; i++) {
        layer *l = &layers[i];
        if (l->depthwise)
            rk_depthwise_pack(l->weight, l->bias, l->multiplier, l->g.inChannels, 9, 0, l->dwWeight, l->dwBias, l->dwMultiplier);
    }
}

int main(int argc, char **argv) {
    int runs = argc > 1 ? atoi(argv[1]) : 11;
    if (runs < 1) runs = 1;
    if (runs > 101) runs = 101;
    mobilenet_v2();
    double pointwiseMACs = 0, depthwiseMACs = 0;
    for (int i = 0; i < count; i++) {
        const layer *l = &layers[i];
        if (l->depthwise) depthwiseMACs += (double)out_bytes(l) * 9;
        else pointwiseMACs += (double)l->P * l->M * l->K;
    }
    printf("MobileNetV2 224x224, one thread: %d matrix products (%.0f M MACs), depthwise %.1f M MACs; median of %d runs\n",
           count - 17, pointwiseMACs / 1e6, depthwiseMACs / 1e6, runs);
    // The portable kernels first: their outputs are the reference.
    rk_force_portable(1);
    for (int i = 0; i < count; i++) {
        run(&layers[i], layers[i].out);
        memcpy(layers[i].reference, layers[i].out, out_bytes(&layers[i]));
    }
    int mismatches = 0;
    double portable[2];
    measure(runs, portable, &mismatches);
    rk_force_portable(0);
    printf("%-12s  matrix products %8.2f ms   depthwise %8.2f ms   total %8.2f ms\n", "portable", portable[0], portable[1],
           portable[0] + portable[1]);
    static const char *sets[] = {"avx2", "avx512-vnni", "neon", "neon-sdot"};
    for (size_t s = 0; s < sizeof sets / sizeof sets[0]; s++) {
        if (!rk_select_int8_kernels(sets[s])) continue;
        pack_depthwise();   // the layout follows the selected set
        double fast[2];
        measure(runs, fast, &mismatches);
        printf("%-12s  matrix products %8.2f ms   depthwise %8.2f ms   total %8.2f ms   portable/%s: %.2fx, %.2fx, %.2fx\n",
               sets[s], fast[0], fast[1], fast[0] + fast[1], sets[s], portable[0] / fast[0], portable[1] / fast[1],
               (portable[0] + portable[1]) / (fast[0] + fast[1]));
    }
    rk_select_int8_kernels(NULL);
    if (mismatches) fprintf(stderr, "kernel-bench: %d layer outputs differ from the portable kernels'\n", mismatches);
    return mismatches ? 1 : 0;
}
