// The classifier's preprocessing in one pass: area-average a crop of a decoded frame to the model's
// input size, round to 8 bits, normalise and write NCHW float, or the channels-last bytes the model's
// input QuantizeLinear would make of that (the plan then skips that step). Two sources: interleaved RGB,
// and the Y/Cb/Cr planes of a JPEG decoded without colour conversion (converted per output pixel here).
//
// Each output row is first the weighted sum of its source rows (a loop over whole rows the compiler
// vectorises), then each output pixel the weighted sum of its columns: 4 adjacent row sums times 4
// weights per vector operation (a gather per tap across output pixels costs several times more).
#include "CInferenceKernels.h"
#include "int8_internal.h"

typedef float rk_f32x4 __attribute__((vector_size(16)));
typedef float rk_f32x8 __attribute__((vector_size(32)));

static inline rk_f32x4 load4(const float *p) {
    rk_f32x4 v;
    memcpy(&v, p, sizeof v);
    return v;
}

// sum[x] = weighted sum of the source rows of output row `row` (taps weighing 0 are skipped: they may
// lie outside the image). Two rows per pass where possible: one load and store of `sum` for two rows.
static inline __attribute__((always_inline)) void sum_rows(const uint8_t *origin, int64_t stride, int32_t n,
                                                           const rk_area_axis *rows, int32_t row, float *restrict sum) {
    const float *w = rows->weight + (int64_t)row * rows->taps;
    const uint8_t *base = origin + (int64_t)rows->first[row] * stride;
    int32_t t = 0, started = 0;
    while (t < rows->taps) {
        const float w0 = w[t];
        if (w0 == 0) { t++; continue; }
        const uint8_t *restrict r0 = base + t * stride;
        const float w1 = t + 1 < rows->taps ? w[t + 1] : 0;
        if (w1 != 0) {
            const uint8_t *restrict r1 = r0 + stride;
            if (started) {
                for (int32_t x = 0; x < n; x++) sum[x] += (float)r0[x] * w0 + (float)r1[x] * w1;
            } else {
                for (int32_t x = 0; x < n; x++) sum[x] = (float)r0[x] * w0 + (float)r1[x] * w1;
            }
            t += 2;
        } else {
            if (started) {
                for (int32_t x = 0; x < n; x++) sum[x] += (float)r0[x] * w0;
            } else {
                for (int32_t x = 0; x < n; x++) sum[x] = (float)r0[x] * w0;
            }
            t += 1;
        }
        started = 1;
    }
    if (!started) for (int32_t x = 0; x < n; x++) sum[x] = 0;
}

// line[j] = sum over taps of weight * sum[first[j] + tap], four taps per vector. Four outputs at a time
// so the four horizontal reductions share shuffles.
static inline __attribute__((always_inline)) void sum_columns(const float *restrict sum, const rk_area_axis *columns,
                                                              float *restrict line) {
    const int32_t width = columns->count, taps = columns->taps;
    int32_t j = 0;
    if (taps == 4) {
        // The common case (shrinking by up to 3x): two outputs per 8-lane product, their weights adjacent.
        for (; j + 8 <= width; j += 8) {
            rk_f32x8 p[4];
            for (int32_t k = 0; k < 4; k++) {
                rk_f32x8 w;
                memcpy(&w, columns->weight + (int64_t)(j + 2 * k) * 4, sizeof w);
                const rk_f32x4 s0 = load4(sum + columns->first[j + 2 * k]), s1 = load4(sum + columns->first[j + 2 * k + 1]);
                p[k] = __builtin_shufflevector(s0, s1, 0, 1, 2, 3, 4, 5, 6, 7) * w;
            }
            const rk_f32x8 a = __builtin_shufflevector(p[0], p[1], 0, 2, 4, 6, 8, 10, 12, 14) + __builtin_shufflevector(p[0], p[1], 1, 3, 5, 7, 9, 11, 13, 15);
            const rk_f32x8 b = __builtin_shufflevector(p[2], p[3], 0, 2, 4, 6, 8, 10, 12, 14) + __builtin_shufflevector(p[2], p[3], 1, 3, 5, 7, 9, 11, 13, 15);
            const rk_f32x8 r = __builtin_shufflevector(a, b, 0, 2, 4, 6, 8, 10, 12, 14) + __builtin_shufflevector(a, b, 1, 3, 5, 7, 9, 11, 13, 15);
            memcpy(line + j, &r, sizeof r);
        }
    }
    for (; j + 4 <= width; j += 4) {
        rk_f32x4 p[4];
        for (int32_t k = 0; k < 4; k++) {
            const float *s = sum + columns->first[j + k], *w = columns->weight + (int64_t)(j + k) * taps;
            rk_f32x4 acc = load4(s) * load4(w);
            for (int32_t t = 4; t < taps; t += 4) acc += load4(s + t) * load4(w + t);
            p[k] = acc;
        }
        const rk_f32x4 a = __builtin_shufflevector(p[0], p[1], 0, 2, 4, 6) + __builtin_shufflevector(p[0], p[1], 1, 3, 5, 7);
        const rk_f32x4 b = __builtin_shufflevector(p[2], p[3], 0, 2, 4, 6) + __builtin_shufflevector(p[2], p[3], 1, 3, 5, 7);
        const rk_f32x4 r = __builtin_shufflevector(a, b, 0, 2, 4, 6) + __builtin_shufflevector(a, b, 1, 3, 5, 7);
        memcpy(line + j, &r, sizeof r);
    }
    for (; j < width; j++) {
        const float *s = sum + columns->first[j], *w = columns->weight + (int64_t)j * taps;
        float acc = 0;
        for (int32_t t = 0; t < taps; t++) acc += s[t] * w[t];
        line[j] = acc;
    }
}

// Rounds a value to the nearest 8-bit level (floor of v + 0.5, clamped to 0...255): what storing the
// resized image as bytes keeps. Truncation is the floor for non-negative values, and converts in one
// vector instruction where floorf is a library call on x86-64 without SSE4.1.
static inline float round_level(float v) {
    v = fminf(v + 0.5f, 255.0f);
    return (float)(int32_t)fmaxf(v, 0.0f);
}

// Normalises one output row of rounded levels (in place) and stores it: NCHW float, or quantized NHWC.
static inline __attribute__((always_inline)) void emit_row(const rk_area_output *output, int32_t row, float *restrict red,
                                                           float *restrict green, float *restrict blue) {
    const int32_t width = output->width;
    for (int32_t j = 0; j < width; j++) {
        red[j] = red[j] * output->scale[0] + output->offset[0];
        green[j] = green[j] * output->scale[1] + output->offset[1];
        blue[j] = blue[j] * output->scale[2] + output->offset[2];
    }
    if (output->quantized == NULL) {
        const int64_t pixels = (int64_t)width * output->height;
        float *r = output->tensor + (int64_t)row * width;
        memcpy(r, red, sizeof(float) * (size_t)width);
        memcpy(r + pixels, green, sizeof(float) * (size_t)width);
        memcpy(r + 2 * pixels, blue, sizeof(float) * (size_t)width);
        return;
    }
    // The same operations as rk_quantize_nchw_to_nhwc on the same float values: identical bytes.
    const float scale = output->quantScale, fz = (float)output->quantZero;
    const float lo = (float)output->quantLo, hi = (float)output->quantHi;
    const int32_t zero = output->quantZero;
    uint8_t *restrict out = output->quantized + (int64_t)row * width * 3;
    for (int32_t j = 0; j < width; j++) {
        const float r = nearbyintf(red[j] / scale) + fz, g = nearbyintf(green[j] / scale) + fz, b = nearbyintf(blue[j] / scale) + fz;
        out[3 * j] = (uint8_t)(r != r ? zero : (int32_t)fminf(fmaxf(r, lo), hi));
        out[3 * j + 1] = (uint8_t)(g != g ? zero : (int32_t)fminf(fmaxf(g, lo), hi));
        out[3 * j + 2] = (uint8_t)(b != b ? zero : (int32_t)fminf(fmaxf(b, lo), hi));
    }
}

RK_MULTIVERSION
void rk_resample_rgb(const rk_area_plane *plane, const rk_area_output *output, float *scratch) {
    const int32_t width = output->width, height = output->height, span = plane->span, taps = plane->columns.taps;
    float *sum = scratch, *red = sum + 3 * (span + taps) + 4, *green = red + width, *blue = green + width;
    for (int32_t row = 0; row < height; row++) {
        sum_rows(plane->origin, plane->stride, span * 3, &plane->rows, row, sum);
        // One 4-lane load per tap: R, G, B and the next pixel's R (weighted, then ignored).
        for (int32_t j = 0; j < width; j++) {
            const float *s = sum + 3 * plane->columns.first[j], *w = plane->columns.weight + (int64_t)j * taps;
            rk_f32x4 acc = {0, 0, 0, 0};
            for (int32_t t = 0; t < taps; t++) acc += load4(s + 3 * t) * w[t];
            red[j] = round_level(acc[0]);
            green[j] = round_level(acc[1]);
            blue[j] = round_level(acc[2]);
        }
        emit_row(output, row, red, green, blue);
    }
}

RK_MULTIVERSION
void rk_resample_ycc(const rk_area_plane *planes, int32_t planeCount, const rk_area_output *output, float *scratch) {
    const int32_t width = output->width, height = output->height;
    const rk_area_plane *luma = &planes[0];
    float *lumaSum = scratch, *y = lumaSum + luma->span + luma->columns.taps, *cb = y + width, *cr = cb + width, *chromaSum = cr + width;
    for (int32_t row = 0; row < height; row++) {
        sum_rows(luma->origin, luma->stride, luma->span, &luma->rows, row, lumaSum);
        sum_columns(lumaSum, &luma->columns, y);
        if (planeCount != 3) {
            // Greyscale: R = G = B = Y.
            for (int32_t j = 0; j < width; j++) y[j] = cb[j] = cr[j] = round_level(y[j]);
            emit_row(output, row, y, cb, cr);
            continue;
        }
        const rk_area_plane *blueDiff = &planes[1], *redDiff = &planes[2];
        sum_rows(blueDiff->origin, blueDiff->stride, blueDiff->span, &blueDiff->rows, row, chromaSum);
        sum_columns(chromaSum, &blueDiff->columns, cb);
        sum_rows(redDiff->origin, redDiff->stride, redDiff->span, &redDiff->rows, row, chromaSum);
        sum_columns(chromaSum, &redDiff->columns, cr);
        // JFIF full-range YCbCr -> RGB with libjpeg's constants (jdcolor.c), in place (y, cb, cr become
        // R, G, B). The conversion is affine, so converting the averages equals averaging the converted
        // pixels up to clamping and rounding.
        for (int32_t j = 0; j < width; j++) {
            const float luminance = y[j], u = cb[j] - 128.0f, v = cr[j] - 128.0f;
            y[j] = round_level(luminance + 1.40200f * v);
            cb[j] = round_level(luminance - 0.34414f * u - 0.71414f * v);
            cr[j] = round_level(luminance + 1.77200f * u);
        }
        emit_row(output, row, y, cb, cr);
    }
}
