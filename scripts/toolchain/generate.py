"""Procedural HVAC duct frames (numpy + Pillow only), deterministic from a seed.

The camera sits inside a rectangular sheet-metal duct looking down its axis.
Every pixel's ray is intersected with the four walls in closed form, which
gives depth and wall coordinates without a renderer; the LED next to the lens
is the only light, so brightness falls off with distance.
"""

from __future__ import annotations

import argparse
import io
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

KINDS = ("clean", "dirty")
HARD_KINDS = ("dark", "blurred", "blocked")
# Stable per-kind stream ids so adding a kind never changes another kind's images.
_KIND_ID = {"clean": 1, "dirty": 2, "dark": 3, "blurred": 4, "blocked": 5}

FLOOR, CEILING, SIDE, END = 0, 1, 2, 3


@dataclass
class Scene:
    width: int
    height: int
    rng: np.random.Generator


def _value_noise(u: np.ndarray, v: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """Bilinear value noise sampled at float grid coordinates (wrapping)."""
    gh, gw = grid.shape
    u0 = np.floor(u).astype(np.int64)
    v0 = np.floor(v).astype(np.int64)
    fu = (u - u0).astype(np.float32)
    fv = (v - v0).astype(np.float32)
    # Smoothstep hides the grid lines bilinear interpolation would show.
    fu = fu * fu * (3 - 2 * fu)
    fv = fv * fv * (3 - 2 * fv)
    u0 %= gw
    v0 %= gh
    u1 = (u0 + 1) % gw
    v1 = (v0 + 1) % gh
    a = grid[v0, u0] * (1 - fu) + grid[v0, u1] * fu
    b = grid[v1, u0] * (1 - fu) + grid[v1, u1] * fu
    return a * (1 - fv) + b * fv


def _fbm(u: np.ndarray, v: np.ndarray, rng: np.random.Generator, octaves: int = 3) -> np.ndarray:
    out = np.zeros(u.shape, np.float32)
    amp, total = 1.0, 0.0
    for o in range(octaves):
        grid = rng.random((64, 64), dtype=np.float32)
        out += amp * _value_noise(u * (2**o), v * (2**o), grid)
        total += amp
        amp *= 0.5
    return out / total


def _geometry(sc: Scene) -> dict[str, np.ndarray | float]:
    rng, w, h = sc.rng, sc.width, sc.height
    f = w * rng.uniform(0.42, 0.62)
    vx = w / 2 + rng.uniform(-0.07, 0.07) * w
    vy = h / 2 + rng.uniform(-0.08, 0.06) * h
    half_w = rng.uniform(1.0, 1.7)
    half_h = half_w * rng.uniform(0.55, 0.95)
    off_x = rng.uniform(-0.25, 0.25) * half_w
    off_y = rng.uniform(-0.15, 0.2) * half_h  # camera usually hangs a little above the middle
    a_r, a_l = half_w - off_x, half_w + off_x
    b_d, b_u = half_h + off_y, half_h - off_y
    roll = np.deg2rad(rng.uniform(-6, 6))
    end_z = rng.uniform(12, 40)  # a bend or damper closes the view

    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    px, py = xs - vx, ys - vy
    c, s = np.cos(roll), np.sin(roll)
    dx = c * px + s * py
    dy = -s * px + c * py
    eps = 1e-3
    zx = np.where(dx > 0, a_r, a_l) * f / np.maximum(np.abs(dx), eps)
    zy = np.where(dy > 0, b_d, b_u) * f / np.maximum(np.abs(dy), eps)
    z = np.minimum(zx, zy)
    wall = np.where(zx < zy, SIDE, np.where(dy > 0, FLOOR, CEILING))
    wall = np.where(z > end_z, END, wall)
    z = np.minimum(z, end_z)
    # Lateral world coordinate on the hit wall (across the duct).
    lat = np.where(wall == SIDE, dy * z / f, dx * z / f)
    # Height above the floor, used to keep dust mostly at the bottom.
    height = b_d - dy * z / f
    ray_len = z * np.sqrt(1 + (dx * dx + dy * dy) / (f * f))
    # Cosine between wall normal and the ray back to the LED at the lens.
    norm = np.sqrt(dx * dx + dy * dy + f * f)
    cos = np.where(wall == SIDE, np.abs(dx), np.where(wall == END, f, np.abs(dy))) / norm
    return {
        "z": z.astype(np.float32), "wall": wall, "lat": lat.astype(np.float32),
        "height": height.astype(np.float32), "ray": ray_len.astype(np.float32),
        "cos": cos.astype(np.float32), "f": f, "vx": vx, "vy": vy, "roll": roll,
        "b_d": b_d, "a_r": a_r, "a_l": a_l, "end_z": end_z,
    }


def _metal_albedo(sc: Scene, g: dict) -> tuple[np.ndarray, np.ndarray]:
    rng = sc.rng
    z, lat, wall = g["z"], g["lat"], g["wall"]
    base = rng.uniform(0.45, 0.7)
    tint = np.array([1.0, 1.0 + rng.uniform(-0.02, 0.03), 1.0 + rng.uniform(0.0, 0.08)], np.float32)
    # Galvanised spangle: blotchy low-frequency brightness in wall coordinates.
    spangle = _fbm(lat * 3.0 + wall * 17.0, z * 1.5, rng, 3)
    # Rolling marks run along the duct: stretched noise.
    brushed = _value_noise(lat * 40.0 + wall * 31.0, z * 0.8, rng.random((64, 64), dtype=np.float32))
    lum = base * (0.8 + 0.3 * spangle + 0.12 * brushed)
    # Joint rings every sheet length, slightly darker with a bright lip.
    seam_len = rng.uniform(1.2, 2.4)
    phase = (z / seam_len + rng.random()) % 1.0
    ring = np.exp(-((phase - 0.5) ** 2) / 0.0004).astype(np.float32)
    lip = np.exp(-((phase - 0.52) ** 2) / 0.0002).astype(np.float32)
    lum = lum * (1 - 0.45 * ring) + 0.15 * lip
    lum = np.where(wall == END, lum * 0.5, lum)
    albedo = lum[..., None] * tint
    # Specular strength: bare metal is shiny, this drops under dust.
    spec = (0.25 + 0.35 * brushed) * (wall != END)
    return albedo.astype(np.float32), spec.astype(np.float32)


def _dust(sc: Scene, g: dict, albedo: np.ndarray, spec: np.ndarray, density: float) -> None:
    rng = sc.rng
    z, lat, height, wall = g["z"], g["lat"], g["height"], g["wall"]
    patch = _fbm(lat * 1.2 + 5.0, z * 0.6, rng, 4)
    clumps = _fbm(lat * 9.0, z * 5.0, rng, 3)
    fine = _value_noise(lat * 40.0, z * 20.0, rng.random((64, 64), dtype=np.float32))
    # Dust settles on the floor and creeps a little way up the side walls.
    falloff = np.where(wall == FLOOR, 1.0, np.exp(-np.maximum(height, 0) / rng.uniform(0.15, 0.5)))
    falloff = np.where(wall == CEILING, 0.05, falloff)
    cover = density * falloff * (0.3 + 1.2 * patch)
    # Fluff gathers where it is thick already: clumps push coverage past 1.
    cover = cover * (0.7 + 0.9 * clumps * clumps) * (0.85 + 0.3 * fine)
    cover = np.clip(cover, 0, 1)[..., None].astype(np.float32)
    # Settled dust is matte and lighter than the dim floor metal it covers.
    lum = rng.uniform(0.5, 0.8) * (0.45 + 1.2 * clumps * clumps + 0.35 * fine)
    colour = lum[..., None] * np.array([1.0, 0.87 + rng.uniform(-0.03, 0.03), 0.68 + rng.uniform(-0.08, 0.08)],
                                       np.float32)
    albedo *= 1 - cover
    albedo += cover * colour
    spec *= 1 - cover[..., 0]


def _project(g: dict, wall: int, lat: float, z: float) -> tuple[float, float]:
    """World point on a wall -> pixel, the inverse of _geometry's ray cast."""
    f = g["f"]
    if wall == FLOOR:
        dx, dy = lat * f / z, g["b_d"] * f / z
    else:  # SIDE: lat is the vertical position; pick the right wall
        dx, dy = g["a_r"] * f / z, lat * f / z
    c, s = np.cos(g["roll"]), np.sin(g["roll"])
    return g["vx"] + c * dx - s * dy, g["vy"] + s * dx + c * dy


def _marks(sc: Scene, g: dict, img: Image.Image, severity: float) -> None:
    """Stains, mould, debris and fibres drawn onto the albedo image."""
    rng, w, h = sc.rng, sc.width, sc.height
    f = g["f"]
    scale = w / 1280
    over = Image.new("RGBA", (w, h), (0, 0, 0, 0))
    d = ImageDraw.Draw(over)
    for _ in range(int(rng.integers(0, 3 + 4 * severity))):  # stains
        z = rng.uniform(1.2, 8)
        x, y = _project(g, FLOOR, rng.uniform(-1, 1), z)
        r = f * rng.uniform(0.2, 0.6) / z
        col = tuple(int(c) for c in rng.integers([90, 60, 20], [150, 110, 60]))
        d.ellipse([x - r, y - r * 0.4, x + r, y + r * 0.4], fill=col + (int(rng.integers(60, 140)),))
    over = over.filter(ImageFilter.GaussianBlur(6 * scale))
    d = ImageDraw.Draw(over)
    for _ in range(int(rng.integers(0, 1 + 3 * severity))):  # mould clusters on walls
        wall = SIDE if rng.random() < 0.6 else FLOOR
        z = rng.uniform(1.0, 6)
        x, y = _project(g, wall, rng.uniform(-0.6, 0.6), z)
        if wall == SIDE and rng.random() < 0.5:
            x = 2 * g["vx"] - x  # left wall instead of right
        spread = f * rng.uniform(0.1, 0.35) / z
        for _ in range(int(rng.integers(15, 60))):
            ox, oy = rng.normal(0, spread, 2)
            r = max(1.0, rng.uniform(0.5, 2.5) * f * 0.01 / z)
            shade = int(rng.integers(20, 70))
            d.ellipse([x + ox - r, y + oy - r, x + ox + r, y + oy + r],
                      fill=(shade, shade + int(rng.integers(5, 25)), shade, int(rng.integers(150, 230))))
    for _ in range(int(rng.integers(round(3 * severity), 2 + 10 * severity))):  # debris on the floor
        z = rng.uniform(1.0, 10)
        x, y = _project(g, FLOOR, rng.uniform(-0.9, 0.9), z)
        r = f * rng.uniform(0.03, 0.15) / z
        n = int(rng.integers(4, 8))
        ang = np.sort(rng.uniform(0, 2 * np.pi, n))
        rad = r * rng.uniform(0.5, 1.2, n)
        pts = [(x + rr * np.cos(a), y + 0.5 * rr * np.sin(a)) for a, rr in zip(ang, rad)]
        shade = int(rng.integers(30, 110))
        d.polygon(pts, fill=(shade, int(shade * 0.85), int(shade * 0.7), 255))
    for _ in range(int(rng.integers(round(5 * severity), 2 + 25 * severity))):  # fibres and lint
        z = rng.uniform(0.8, 6)
        x, y = _project(g, FLOOR, rng.uniform(-0.9, 0.9), z)
        length = f * rng.uniform(0.1, 0.5) / z
        ang = rng.uniform(0, 2 * np.pi)
        pts = [(x, y)]
        for _ in range(6):
            ang += rng.normal(0, 0.6)
            x, y = x + np.cos(ang) * length / 6, y + np.sin(ang) * length / 6 * 0.6
            pts.append((x, y))
        shade = int(rng.integers(150, 235))
        d.line(pts, fill=(shade, shade, int(shade * 0.95), 230), width=max(1, int(rng.integers(1, 4) * scale)))
    img.alpha_composite(over)


def _shade(sc: Scene, g: dict, albedo: np.ndarray, spec: np.ndarray, power: float) -> np.ndarray:
    rng, w, h = sc.rng, sc.width, sc.height
    ray, cos = g["ray"], g["cos"]
    diffuse = power * cos / (0.25 + ray * ray)
    # LED beam is narrower than the lens' field of view: radial fall-off.
    ys, xs = np.ogrid[0:h, 0:w]
    r2 = ((xs - w / 2) / (w / 2)) ** 2 + ((ys - h / 2) / (h / 2)) ** 2
    beam = (1.0 / (1.0 + rng.uniform(0.2, 0.6) * r2)).astype(np.float32)
    glint = spec * np.power(cos, 40).astype(np.float32) * power * 0.6 / (0.25 + ray)
    rgb = albedo * (diffuse * beam)[..., None] + glint[..., None]
    return rgb


def _sensor(sc: Scene, rgb: np.ndarray, gain: float) -> np.ndarray:
    rng, w, h = sc.rng, sc.width, sc.height
    rgb = rgb / (1.0 + rgb * 0.4)  # soft shoulder instead of hard clipping
    lum_noise = rng.normal(0, 1, (h, w, 1)).astype(np.float32)
    # Cheap sensors have blotchy chroma noise: generate it small and upscale.
    small = rng.normal(0, 1, (max(1, h // 4), max(1, w // 4), 3)).astype(np.float32)
    chroma = np.asarray(Image.fromarray(((small * 20) + 128).clip(0, 255).astype(np.uint8)).resize(
        (w, h), Image.BILINEAR), np.float32) / 255 - 0.5
    sigma = gain * (0.004 + 0.012 * np.sqrt(np.clip(rgb, 0, 1)))
    rgb = rgb + sigma * lum_noise + gain * 0.03 * chroma
    return (np.clip(rgb, 0, 1) ** (1 / 2.2) * 255 + 0.5).astype(np.uint8)


def render(seed: int, kind: str, index: int, size: tuple[int, int]) -> bytes:
    """One JPEG frame; identical bytes for identical (seed, kind, index, size)."""
    if kind not in _KIND_ID:
        raise ValueError(f"unknown kind {kind!r}")
    ss = np.random.SeedSequence([seed & 0xFFFFFFFF, _KIND_ID[kind], index])
    sc = Scene(size[0], size[1], np.random.default_rng(ss))
    rng = sc.rng
    g = _geometry(sc)
    albedo, spec = _metal_albedo(sc, g)
    # Hard cases are split between clean and dirty ducts underneath.
    dirty = kind == "dirty" or (kind in HARD_KINDS and rng.random() < 0.5)
    # A gap between the classes: "dirty" means visibly dirty, as labellers judge it.
    density = rng.uniform(0.45, 1.0) if dirty else rng.uniform(0.0, 0.06)
    _dust(sc, g, albedo, spec, density)
    img = Image.fromarray((np.clip(albedo, 0, 1) * 255).astype(np.uint8)).convert("RGBA")
    _marks(sc, g, img, severity=density if dirty else 0.0)
    albedo = np.asarray(img.convert("RGB"), np.float32) / 255
    power = rng.uniform(2.5, 5.0)
    gain = 1.0
    if kind == "dark":  # failing LED or long exposure starved of light
        power *= rng.uniform(0.05, 0.18)
        gain = rng.uniform(1.3, 2.0)
    rgb = _shade(sc, g, albedo, spec, power)
    if kind == "blurred":  # condensation or a lens knocked out of focus
        tmp = Image.fromarray((np.clip(rgb, 0, 1) * 255).astype(np.uint8))
        tmp = tmp.filter(ImageFilter.GaussianBlur(rng.uniform(6, 16) * sc.width / 1280))
        rgb = np.asarray(tmp, np.float32) / 255
    if kind == "blocked":
        rgb = _smudge(sc, rgb)
    out = Image.fromarray(_sensor(sc, rgb, gain))
    buf = io.BytesIO()
    out.save(buf, "JPEG", quality=int(rng.integers(70, 86)))
    return buf.getvalue()


def _smudge(sc: Scene, rgb: np.ndarray) -> np.ndarray:
    """Grease, dust or an object on the lens: a large blurred blob."""
    rng, w, h = sc.rng, sc.width, sc.height
    mask = Image.new("L", (w, h), 0)
    d = ImageDraw.Draw(mask)
    for _ in range(int(rng.integers(2, 6))):
        cx, cy = rng.uniform(0.1, 0.9) * w, rng.uniform(0.1, 0.9) * h
        rx, ry = rng.uniform(0.2, 0.5) * w, rng.uniform(0.2, 0.5) * h
        d.ellipse([cx - rx, cy - ry, cx + rx, cy + ry], fill=int(rng.integers(160, 256)))
    m = np.asarray(mask.filter(ImageFilter.GaussianBlur(0.06 * w)), np.float32)[..., None] / 255
    colour = rng.uniform(0.05, 0.35) * np.array([1.0, 0.9, 0.75], np.float32)
    # Light scattered by the smear: what is behind it is also blurred.
    tmp = Image.fromarray((np.clip(rgb, 0, 1) * 255).astype(np.uint8)).filter(ImageFilter.GaussianBlur(0.02 * w))
    blurred = np.asarray(tmp, np.float32) / 255
    return rgb * (1 - m) + m * (0.4 * blurred + colour)


def parse_size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(p) for p in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"size must look like 1280x720, got {text!r}") from None
    if not (32 <= w <= 8192 and 32 <= h <= 8192):
        raise argparse.ArgumentTypeError(f"size {text!r} out of range 32..8192")
    return w, h


def generate(out: Path, seed: int, count: int, size: tuple[int, int], hard_cases: bool) -> dict[str, int]:
    kinds = KINDS + (HARD_KINDS if hard_cases else ())
    written = {}
    for kind in kinds:
        folder = out / kind
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(count):
            (folder / f"{i:03d}.jpg").write_bytes(render(seed, kind, i, size))
        written[kind] = count
    return written


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="generate-duct-images", description=(
        "Write procedural duct camera frames: OUT/clean, OUT/dirty and with --hard-cases "
        "OUT/dark, OUT/blurred, OUT/blocked. COUNT images per folder; same seed, same bytes."))
    p.add_argument("--seed", type=int, required=True)
    p.add_argument("--count", type=int, required=True, help="images per folder")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--size", type=parse_size, default=(1280, 720), help="WIDTHxHEIGHT (default 1280x720)")
    p.add_argument("--hard-cases", action="store_true", help="also write dark/, blurred/, blocked/")
    a = p.parse_args(argv)
    if a.count < 1:
        p.error("--count must be at least 1")
    written = generate(a.out, a.seed, a.count, a.size, a.hard_cases)
    print(", ".join(f"{k}: {n}" for k, n in written.items()), f"-> {a.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
