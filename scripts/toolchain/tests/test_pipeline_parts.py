"""Torch-free parts of the training pipeline: preprocessing, calibration sample, daemon lookup."""

import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from toolchain.dataset import IMAGENET_MEAN, IMAGENET_STD, Sample, load_image
from toolchain.evaluate import find_remotaird
from toolchain.train import calibration_sample


def test_load_image_stretches_and_normalises_like_the_daemon(tmp_path):
    img = np.zeros((60, 120, 3), np.uint8)
    img[:, :60] = (255, 0, 0)  # left half red, right half black
    Image.fromarray(img).save(tmp_path / "a.png")
    x = load_image(tmp_path / "a.png", 32)
    assert x.shape == (3, 32, 32) and x.dtype == np.float32
    red_left = (1 - IMAGENET_MEAN[0]) / IMAGENET_STD[0]
    black = -IMAGENET_MEAN[1] / IMAGENET_STD[1]
    assert x[0, 16, 2] == pytest.approx(red_left, abs=1e-5)
    assert x[1, 16, 30] == pytest.approx(black, abs=1e-5)
    crop = load_image(tmp_path / "a.png", 32, resize="center_crop")  # middle square: half red, half black
    assert crop[0, 16, 2] == pytest.approx(red_left, abs=1e-5)
    with pytest.raises(ValueError, match="resize must be one of"):
        load_image(tmp_path / "a.png", 32, resize="letterbox")


def test_calibration_sample_alternates_labels_and_is_repeatable():
    train = ([Sample(Path(f"/c/{i}.jpg"), "clean", "") for i in range(30)]
             + [Sample(Path(f"/d/{i}.jpg"), "dirty", "") for i in range(5)])
    a = calibration_sample(train, 8, seed=1)
    assert a == calibration_sample(list(reversed(train)), 8, seed=1)
    assert [s.label for s in a][:6] == ["clean", "dirty"] * 3
    assert sum(s.label == "dirty" for s in a) == 4
    assert len(calibration_sample(train, 100, seed=1)) == 35


def test_remotaird_is_found_by_env_then_release_then_debug(tmp_path, monkeypatch):
    monkeypatch.delenv("REMOTAIRD", raising=False)
    assert find_remotaird(tmp_path) is None
    debug = tmp_path / ".build/debug/remotaird"
    debug.parent.mkdir(parents=True)
    debug.write_text("#!/bin/sh\n")
    assert find_remotaird(tmp_path) is None  # not executable
    os.chmod(debug, 0o755)
    assert find_remotaird(tmp_path) == debug
    release = tmp_path / ".build/release/remotaird"
    release.parent.mkdir(parents=True)
    release.write_text("#!/bin/sh\n")
    os.chmod(release, 0o755)
    assert find_remotaird(tmp_path) == release
    monkeypatch.setenv("REMOTAIRD", str(tmp_path / "nope"))
    with pytest.raises(FileNotFoundError, match="REMOTAIRD=.*nope"):
        find_remotaird(tmp_path)


def _folder(root: Path, labels, n=3):
    from helpers import write_jpeg

    for lb in labels:
        for i in range(n):
            write_jpeg(root / lb / f"{i}.jpg", (40 * i, 80, 120))
    return root


def test_pipeline_refuses_a_test_set_with_other_labels(tmp_path):
    from toolchain.dataset import DatasetError
    from toolchain.train import parse_args, prepare

    train = _folder(tmp_path / "train", ["clean", "dirty"])
    test = _folder(tmp_path / "test", ["clean", "dusty"])
    with pytest.raises(DatasetError, match="labels differ between train"):
        prepare(parse_args(["--data", str(train), "--test", str(test)]))
    p = prepare(parse_args(["--data", str(train), "--test", str(train)]))
    assert p.labels == ["clean", "dirty"] and len(p.train) == len(p.test) == 6 and p.how.startswith("explicit test set")


def test_pipeline_refuses_an_alarm_label_the_data_lacks(tmp_path):
    from toolchain.dataset import DatasetError
    from toolchain.train import parse_args, prepare

    data = _folder(tmp_path / "d", ["ok", "bad"])
    with pytest.raises(DatasetError, match="--alarm-label 'dirty' is not a dataset label"):
        prepare(parse_args(["--data", str(data)]))
    p = prepare(parse_args(["--data", str(data), "--alarm-label", "bad"]))
    assert p.labels == ["bad", "ok"] and len(p.test) == 2 and p.how == "stratified 80/20 split, seed 20"
