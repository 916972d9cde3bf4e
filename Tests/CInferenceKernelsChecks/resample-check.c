// The preprocessing kernels (Sources/CInferenceKernels/resample.c) on random geometries under AddressSanitizer:
// frame sizes not multiples of anything, every chroma layout, crops anywhere, shrinking and enlarging. The
// tables are built as InputResampler/AreaAxis builds them (taps rounded up to 4, unused ones weighing 0) and
// every buffer has exactly the size the Swift side gives it, so a read past a plane, a table or the scratch
// rows is caught. Usage: resample-check [iterations]. Exit 1 on a value outside 0...255.
#include "CInferenceKernels.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
typedef struct { int origin, span, taps; int32_t *first; float *weight; } axis;
static axis make_axis(double begin, double end, int samples, int dest) {
  axis a; a.origin = (int)floor(begin); if (a.origin > samples - 1) a.origin = samples - 1; if (a.origin < 0) a.origin = 0;
  double low0 = begin - a.origin, high0 = end - a.origin, scale = (end - begin) / dest;
  int *start = calloc(dest, sizeof(int)), *count = calloc(dest, sizeof(int)); int M = samples + 2; float *w = calloc((size_t)dest * M, sizeof(float));
  int last = 0, most = 1;
  for (int o = 0; o < dest; o++) {
    double low = low0 + o * scale, high = fmin(high0, low0 + (o + 1) * scale), total = high - low;
    int s = (int)floor(low), st = -1, n = 0;
    while (s < high && a.origin + s < samples) { double c = fmin(high, s + 1.0) - fmax(low, (double)s); if (c > 1e-9) { if (st < 0) st = s; w[o * M + n++] = (float)(c / total); } s++; }
    int b = st >= 0 ? st : (int)floor(low); if (b > samples - 1 - a.origin) b = samples - 1 - a.origin; if (b < 0) b = 0;
    if (n == 0) { w[o * M] = 1; n = 1; }
    start[o] = b; count[o] = n; if (b + n > last) last = b + n; if (n > most) most = n;
  }
  a.span = last > 1 ? last : 1; a.taps = (most + 3) / 4 * 4;
  a.first = malloc(dest * sizeof(int32_t)); a.weight = calloc((size_t)dest * a.taps, sizeof(float));
  for (int o = 0; o < dest; o++) { a.first[o] = start[o]; for (int k = 0; k < count[o]; k++) a.weight[o * a.taps + k] = w[o * M + k]; }
  free(start); free(count); free(w); return a;
}
static rk_area_axis ax(axis a, int count) { rk_area_axis r = {a.first, a.weight, a.taps, count}; return r; }
static void release(axis a) { free(a.first); free(a.weight); }

int main(int argc, char **argv) {
  const int iterations = argc > 1 ? atoi(argv[1]) : 3000;
  srand(3);
  for (int it = 0; it < iterations; it++) {
    int W = 1 + rand() % 300, H = 1 + rand() % 200, fx = (int[]){1, 2, 4}[rand() % 3], fy = 1 + rand() % 2;
    int outW = 1 + rand() % 64, outH = 1 + rand() % 64;
    int cl = rand() % W, ct = rand() % H, cw = 1 + rand() % (W - cl), ch = 1 + rand() % (H - ct);
    int lw = (W + fx - 1) / fx * fx, lh = (H + fy - 1) / fy * fy, cwid = lw / fx, chgt = lh / fy;
    uint8_t *y = malloc(lw * lh), *cb = malloc(cwid * chgt), *cr = malloc(cwid * chgt), *rgb = malloc(W * H * 3);
    for (int i = 0; i < lw * lh; i++) y[i] = rand(); for (int i = 0; i < cwid * chgt; i++) { cb[i] = rand(); cr[i] = rand(); }
    for (int i = 0; i < W * H * 3; i++) rgb[i] = rand();
    axis lc = make_axis(cl, cl + cw, lw, outW), lr = make_axis(ct, ct + ch, lh, outH);
    axis cc = make_axis((double)cl / fx, fmin((double)(cl + cw) / fx, cwid), cwid, outW), cr_ = make_axis((double)ct / fy, fmin((double)(ct + ch) / fy, chgt), chgt, outH);
    rk_area_plane planes[3] = {
      {y + lr.origin * lw + lc.origin, lw, lc.span, ax(lc, outW), ax(lr, outH)},
      {cb + cr_.origin * cwid + cc.origin, cwid, cc.span, ax(cc, outW), ax(cr_, outH)},
      {cr + cr_.origin * cwid + cc.origin, cwid, cc.span, ax(cc, outW), ax(cr_, outH)}};
    axis rc = make_axis(cl, cl + cw, W, outW), rr = make_axis(ct, ct + ch, H, outH);
    rk_area_plane rp = {rgb + rr.origin * W * 3 + rc.origin * 3, W * 3, rc.span, ax(rc, outW), ax(rr, outH)};
    size_t yccScratch = (lc.span + lc.taps + 4) + (cc.span + cc.taps + 4) + 3 * outW, rgbScratch = 3 * (rc.span + rc.taps) + 4 + 3 * outW;
    float *s1 = calloc(yccScratch, 4), *s2 = calloc(rgbScratch, 4), *t = malloc(3 * outW * outH * 4); uint8_t *q = malloc(3 * outW * outH);
    rk_area_output o = {t, NULL, outW, outH, {1, 1, 1}, {0, 0, 0}, 1, 0, 0, 255};
    rk_area_output oq = {NULL, q, outW, outH, {1, 1, 1}, {0, 0, 0}, 0.5f, 3, 0, 255};
    rk_resample_ycc(planes, 3, &o, s1); rk_resample_ycc(planes, 1, &oq, s1); rk_resample_ycc(planes, 3, &oq, s1);
    rk_resample_rgb(&rp, &o, s2); rk_resample_rgb(&rp, &oq, s2);
    for (int i = 0; i < 3 * outW * outH; i++) if (!(t[i] >= 0 && t[i] <= 255)) { printf("bad value %f it %d\n", t[i], it); return 1; }
    free(y); free(cb); free(cr); free(rgb); free(s1); free(s2); free(t); free(q);
    release(lc); release(lr); release(cc); release(cr_); release(rc); release(rr);
  }
  printf("resample kernels: %d random geometries ok\n", iterations);
  return 0;
}
