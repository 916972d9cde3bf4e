"""The board's image preprocessing, in numpy: what the model sees on the board is what it sees here.

The daemon (Sources/Inference/Classifier) decodes a JPEG at the smallest power-of-two DCT scale at which
the region still covers the input size (libjpeg-turbo's scaled IDCT), crops the region rounded outwards to
whole pixels, area-averages it to the input size, rounds each value to 8 bits and normalises. Training,
int8 calibration, evaluation and the bundle's reference scores all go through here, so the report's F1 and
thresholds describe the pipeline the board runs (issue 22, point 5).

Decoding uses Pillow's `draft`, which reaches the same libjpeg-turbo scaling. The area averaging follows
`rk_resample_rgb` (Sources/CInferenceKernels/resample.c) and the axis tables `AreaAxis`
(Sources/Inference/Classifier/InputResampler.swift): weights computed in double and stored as float32, the
vertical pass first (taps summed in pairs as the kernel does), then the horizontal one, all in float32.
Remaining difference: for YCbCr JPEGs the board averages the Y, Cb and Cr planes without chroma upsampling
and converts each output pixel to RGB, where libjpeg here upsamples and converts before the averaging; and the
board's vector code sums in another float order, so a value on a rounding tie can land one level apart (the
decode itself is identical: Pillow's draft equals libturbojpeg's tjDecompress2 at the same scale).
tests/test_preprocess.py measures what that leaves.
"""

from __future__ import annotations

import functools
import math
from pathlib import Path
from typing import Iterable

import numpy as np

from .metadata import RESIZE_MODES


class PreprocessError(Exception):
    """An image the board's path cannot read; the message names the file."""


def source_region(width: int, height: int, out_w: int, out_h: int, resize: str) -> tuple[float, float, float, float]:
    """Normalised (x, y, w, h) of the frame that becomes the input: `Preprocessor.sourceRegion` without a
    region of interest (the whole frame, centre-cropped to the input's aspect for `center_crop`)."""
    x, y, w, h = 0.0, 0.0, 1.0, 1.0
    if resize == "stretch":
        return x, y, w, h
    if resize != "center_crop":
        raise ValueError(f"resize must be one of {RESIZE_MODES}, got {resize!r}")
    region_aspect = (w * width) / (h * height)
    target_aspect = out_w / out_h
    if region_aspect > target_aspect:
        new_w = w * target_aspect / region_aspect
        x += (w - new_w) / 2
        w = new_w
    else:
        new_h = h * region_aspect / target_aspect
        y += (h - new_h) / 2
        h = new_h
    return x, y, w, h


def pixel_rect(region: tuple[float, float, float, float], width: int, height: int) -> tuple[int, int, int, int]:
    """(left, top, width, height) in pixels: `PixelRect.init(_:imageWidth:height:)`, rounded outwards."""
    x, y, w, h = region
    if (x, y, w, h) == (0.0, 0.0, 1.0, 1.0):
        return 0, 0, width, height
    left = min(width - 1, max(0, math.floor(x * width)))
    top = min(height - 1, max(0, math.floor(y * height)))
    right = min(width, max(left + 1, math.ceil((x + w) * width)))
    bottom = min(height, max(top + 1, math.ceil((y + h) * height)))
    return left, top, right - left, bottom - top


def dct_denominator(width: int, height: int, region: tuple[float, float, float, float], out_w: int, out_h: int) -> int:
    """`JPEGDecoder.modelInputScale`: the largest of 8, 4, 2, 1 at which the region still has the input's size
    (libjpeg-turbo's scaled size is the ceiling of size / denominator)."""
    need_w = min(math.ceil(out_w / region[2]), width)
    need_h = min(math.ceil(out_h / region[3]), height)
    for d in (8, 4, 2):
        if -(-width // d) >= need_w and -(-height // d) >= need_h:
            return d
    return 1


@functools.lru_cache(maxsize=32)
def area_axis(begin: float, end: float, samples: int, destination: int) -> tuple[int, np.ndarray, np.ndarray]:
    """`AreaAxis`: (origin, first[destination], weight[destination, taps]) for averaging [begin, end) of an
    axis onto `destination` outputs; `taps` is a multiple of 4, unused taps weigh 0."""
    origin = max(0, min(samples - 1, math.floor(begin)))
    low0, high0 = begin - origin, end - origin
    scale = (end - begin) / destination
    per_output: list[tuple[int, list[float]]] = []
    for output in range(destination):
        low = low0 + output * scale
        high = min(high0, low0 + (output + 1) * scale)
        total = high - low
        sample = math.floor(low)
        start = None
        weights: list[float] = []
        while sample < high and origin + sample < samples:
            covered = min(high, sample + 1) - max(low, sample)
            if covered > 1e-9:  # slivers are floating-point residue, as on the board
                if start is None:
                    start = sample
                weights.append(covered / total)
            sample += 1
        begins = max(0, min(start if start is not None else math.floor(low), samples - 1 - origin))
        per_output.append((begins, weights or [1.0]))
    taps = (max(len(w) for _, w in per_output) + 3) // 4 * 4
    first = np.array([s for s, _ in per_output], np.int64)
    weight = np.zeros((destination, taps), np.float32)
    for i, (_, w) in enumerate(per_output):
        weight[i, :len(w)] = np.asarray(w, np.float64).astype(np.float32)
    return origin, first, weight


def area_resize(rgb: np.ndarray, crop: tuple[int, int, int, int], out_w: int, out_h: int) -> np.ndarray:
    """Area-averages `crop` of an H x W x 3 uint8 image to out_h x out_w x 3 levels (float32 integers 0..255),
    in `rk_resample_rgb`'s order of float32 operations."""
    if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"expected an H x W x 3 uint8 image, got {rgb.dtype} {rgb.shape}")
    left, top, cw, ch = crop
    height, width = rgb.shape[:2]
    col_origin, col_first, col_w = area_axis(float(left), float(left + cw), width, out_w)
    row_origin, row_first, row_w = area_axis(float(top), float(top + ch), height, out_h)
    src = rgb[row_origin:, col_origin:].astype(np.float32)
    rows_avail, cols_avail = src.shape[:2]
    sums = np.empty((out_h, cols_avail, 3), np.float32)
    taps = col_w.shape[1]
    # Column taps past the image weigh 0 on the board (they read padding); clip the index, the weight is 0.
    col_idx = np.minimum(col_first[:, None] + np.arange(taps)[None, :], cols_avail - 1)
    for row in range(out_h):
        w = row_w[row]
        base = row_first[row]
        acc = None
        t = 0
        # sum_rows: zero weights skipped, non-zero taps taken two at a time (r0 * w0 + r1 * w1).
        while t < len(w):
            w0 = w[t]
            if w0 == 0:
                t += 1
                continue
            r0 = src[base + t]
            w1 = w[t + 1] if t + 1 < len(w) else np.float32(0)
            if w1 != 0:
                part = r0 * w0 + src[base + t + 1] * w1
                t += 2
            else:
                part = r0 * w0
                t += 1
            acc = part if acc is None else acc + part
        sums[row] = 0 if acc is None else acc
    # Horizontal, all rows at once (the same float32 operations per value): from 0, every tap (zero-weight ones
    # included) added in order.
    out = np.zeros((out_h, out_w, 3), np.float32)
    for k in range(taps):
        out = out + sums[:, col_idx[:, k]] * col_w[None, :, k, None]
    # round_level: floor(min(v + 0.5, 255)), clamped at 0.
    return np.floor(np.maximum(np.minimum(out + np.float32(0.5), np.float32(255)), np.float32(0)))


def decode(path: Path, out_w: int, out_h: int, resize: str = "stretch") -> np.ndarray:
    """The board's decode, crop and area averaging: out_h x out_w x 3 levels (float32 integers 0..255)."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            width, height = im.size
            region = source_region(width, height, out_w, out_h, resize)
            if im.format == "JPEG":
                d = dct_denominator(width, height, region, out_w, out_h)
                if d > 1:
                    # draft picks the largest power of two <= min(W // w, H // h): this size makes it pick d.
                    im.draft("RGB", (width // d, height // d))
                    expected = (-(-width // d), -(-height // d))
                    if im.size != expected:
                        raise PreprocessError(f"{path}: Pillow decodes at {im.size}, the board at {expected} (1/{d})")
            rgb = np.asarray(im.convert("RGB"), np.uint8)
    except (OSError, UnidentifiedImageError, SyntaxError, ValueError) as e:
        raise PreprocessError(f"{path}: cannot decode: {e}") from None
    crop = pixel_rect(region, rgb.shape[1], rgb.shape[0])
    return area_resize(rgb, crop, out_w, out_h)


def normalisation(mean: Iterable[float], std: Iterable[float]) -> tuple[np.ndarray, np.ndarray]:
    """(v / 255 - mean) / std as v * scale + offset, in float32 as `Preprocessor.plan` computes them."""
    mean32 = np.asarray(list(mean), np.float32)
    std32 = np.asarray(list(std), np.float32)
    scale = np.float32(1) / (np.float32(255) * std32)
    offset = -mean32 / std32
    return scale.astype(np.float32), offset.astype(np.float32)


def tensor(path: Path, size: int, mean: Iterable[float], std: Iterable[float], resize: str = "stretch") -> np.ndarray:
    """float32 CHW input for a square `size` model, as the board computes it."""
    levels = decode(path, size, size, resize)
    scale, offset = normalisation(mean, std)
    return np.ascontiguousarray((levels * scale + offset).astype(np.float32).transpose(2, 0, 1))
