import io

import numpy as np
from PIL import Image

from toolchain.generate import generate, render


def test_same_seed_same_bytes_and_other_seeds_differ():
    a = render(7, "dirty", 3, (160, 90))
    assert a == render(7, "dirty", 3, (160, 90))
    assert a != render(8, "dirty", 3, (160, 90))
    assert a != render(7, "dirty", 4, (160, 90))
    im = Image.open(io.BytesIO(a))
    assert im.format == "JPEG" and im.size == (160, 90) and im.mode == "RGB"


def test_folders_per_kind_with_hard_cases(tmp_path):
    generate(tmp_path, seed=1, count=2, size=(128, 72), hard_cases=True)
    for kind in ("clean", "dirty", "dark", "blurred", "blocked"):
        assert sorted(p.name for p in (tmp_path / kind).iterdir()) == ["000.jpg", "001.jpg"]
    generate(tmp_path / "plain", seed=1, count=1, size=(128, 72), hard_cases=False)
    assert sorted(p.name for p in (tmp_path / "plain").iterdir()) == ["clean", "dirty"]


def test_dark_frames_are_darker_and_blurred_frames_smoother():
    def arr(kind, i):
        return np.asarray(Image.open(io.BytesIO(render(5, kind, i, (320, 180)))).convert("L"), np.float32)

    clean = [arr("clean", i) for i in range(4)]
    assert np.mean([arr("dark", i).mean() for i in range(4)]) < 0.5 * np.mean([c.mean() for c in clean])

    def detail(a):  # mean absolute Laplacian-ish difference
        return np.abs(np.diff(a, 2, axis=1)).mean()

    assert np.mean([detail(arr("blurred", i)) for i in range(4)]) < np.mean([detail(c) for c in clean])
