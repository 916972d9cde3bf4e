"""Human labels before retraining: machine-labelled lines stay out unless accepted on purpose, and a relabelling
job (Ground Truth label adjustment) turns the board's predictions into people's labels."""

import json
from pathlib import Path

import pytest

from helpers import gt_line, write_jpeg, write_lines
from toolchain.dataset import DatasetError, human_labelled, parse_manifest
from toolchain.evaluate import render_markdown
from toolchain.manifest import main
from toolchain.train import machine_labels, parse_args, prepare


def _manifest(tmp_path: Path, human: dict[str, int], machine: dict[str, int]) -> Path:
    """Per label, `human[label]` lines a person labelled and `machine[label]` the board predicted."""
    lines = []
    for flag, counts in (("yes", human), ("no", machine)):
        for index, label in enumerate(["clean", "dirty"]):
            for i in range(counts.get(label, 0)):
                ref = write_jpeg(tmp_path / "img" / f"{label}-{flag}-{i}.jpg", (40 * i, 90, 30 * index))
                lines.append(gt_line(str(ref), index, label, **{"human-annotated": flag}))
    return write_lines(tmp_path / "manifest.jsonl", lines)


def test_only_human_annotated_lines_train_by_default_and_the_rest_are_counted(tmp_path):
    path = _manifest(tmp_path, {"clean": 5, "dirty": 5}, {"clean": 3, "dirty": 4})
    p = prepare(parse_args(["--data", str(path)]))
    assert len(p.train) + len(p.test) == 10 and all(s.human for s in p.train + p.test)
    assert p.machine_left_out == 7
    m = machine_labels(p, accepted=False)
    assert m == {"accepted": False, "left_out": 7, "included": 0, "share": 0.0}


def test_accept_machine_labels_includes_them_and_states_their_share(tmp_path):
    path = _manifest(tmp_path, {"clean": 5, "dirty": 5}, {"clean": 3, "dirty": 2})
    p = prepare(parse_args(["--data", str(path), "--accept-machine-labels"]))
    assert len(p.train) + len(p.test) == 15 and p.machine_left_out == 0
    m = machine_labels(p, accepted=True)
    assert m["included"] == 5 and m["share"] == pytest.approx(1 / 3)
    report = {"model": "m.onnx", "model_version": "1", "trained_at": "t", "dataset_sha256": "ab" * 32,
              "labels": ["clean", "dirty"], "test_images": 3, "split": "s",
              "agreement": {"rate": 1.0, "images": 3}, "evaluations": {}, "dataset": {"machine_labels": m}}
    assert "- machine-labelled lines: 5 of the images used (33.3%), included on purpose" in render_markdown(report)
    report["dataset"]["machine_labels"] = machine_labels(prepare(parse_args(["--data", str(path)])), accepted=False)
    assert "- machine-labelled lines: 5 left out; only human-annotated labels used" in render_markdown(report)


def test_a_manifest_of_only_machine_labels_is_refused_with_the_way_out(tmp_path):
    path = _manifest(tmp_path, {}, {"clean": 5, "dirty": 5})
    with pytest.raises(DatasetError, match="all 10 lines are machine-labelled.*--accept-machine-labels"):
        prepare(parse_args(["--data", str(path)]))
    ds, left_out = human_labelled(parse_manifest(path), accept_machine_labels=True)
    assert len(ds.samples) == 10 and left_out == 0


def test_a_line_without_the_flag_counts_as_machine_labelled(tmp_path):
    ref = write_jpeg(tmp_path / "a.jpg")
    line = gt_line(str(ref), 0, "clean")
    del line["duct-condition-metadata"]["human-annotated"]
    ds = parse_manifest(write_lines(tmp_path / "m.jsonl", [line, gt_line(str(ref), 1, "dirty", **{"human-annotated": "yes"})]))
    assert [s.human for s in ds.samples] == [False, True]


def _sidecars(mirror: Path) -> None:
    for i, (label, index, human) in enumerate([("clean", 0, "no"), ("dirty", 1, "no"), ("dirty", 1, "yes")]):
        key = f"fleet/dev1/sample/2026/12/07/item{i}"
        write_jpeg(mirror / "bkt" / f"{key}.jpg")
        doc = {"device_id": "dev1", "kind": "sample",
               "ground_truth": gt_line(f"s3://bkt/{key}.jpg", index, label, **{"human-annotated": human})}
        (mirror / "bkt" / f"{key}.json").write_text(json.dumps(doc))


def test_relabelling_input_holds_the_machine_labels_as_pre_annotations(tmp_path, capsys):
    mirror = tmp_path / "mirror"
    _sidecars(mirror)
    out = tmp_path / "job-input.jsonl"
    assert main(["--from", "s3://bkt/fleet", "--s3-mirror", str(mirror), "--out", str(out), "--relabelling-input"]) == 0
    lines = [json.loads(x) for x in out.read_text().splitlines()]
    assert len(lines) == 2  # the human-annotated line needs no review
    assert all(x["duct-condition-metadata"]["human-annotated"] == "no" for x in lines)
    assert [x["duct-condition"] for x in lines] == [0, 1]  # the board's labels, unchanged, as pre-annotations
    err = capsys.readouterr().err
    assert "2 machine-labelled lines for people to confirm or correct" in err
    assert "LabelAttributeName other than 'duct-condition'" in err


def _job_output(tmp_path: Path, lines_in: list[dict]) -> Path:
    """What a Ground Truth adjustment job with LabelAttributeName duct-condition-reviewed writes: each input
    line with the workers' answer under the new attribute (the first confirmed, the second corrected)."""
    out = []
    for x, (index, name) in zip(lines_in, [(0, "clean"), (0, "clean")]):
        y = dict(x)
        y["duct-condition-reviewed"] = index
        y["duct-condition-reviewed-metadata"] = {
            "class-name": name, "confidence": 0.95, "type": "groundtruth/image-classification",
            "job-name": "labeling-job/duct-review", "human-annotated": "yes",
            "creation-date": "2026-12-07T12:00:00.000000", "adjustment-status": "adjusted"}
        out.append(y)
    expired = dict(lines_in[0])
    expired["source-ref"] = expired["source-ref"].replace("item0", "item9")
    return write_lines(tmp_path / "job-output.manifest", out + [expired])


def test_relabelling_output_becomes_a_human_labelled_training_manifest(tmp_path, capsys):
    mirror = tmp_path / "mirror"
    _sidecars(mirror)
    job_in = tmp_path / "job-input.jsonl"
    assert main(["--from", "s3://bkt/fleet", "--s3-mirror", str(mirror), "--out", str(job_in), "--relabelling-input"]) == 0
    job_out = _job_output(tmp_path, [json.loads(x) for x in job_in.read_text().splitlines()])
    out = tmp_path / "reviewed.jsonl"
    assert main(["--from-relabelling", str(job_out), "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert "2 relabelled lines (1 confirmed, 1 corrected), 1 without an answer (left out), 0 malformed" in err
    ds = parse_manifest(out, s3_mirror=mirror)
    assert [s.label for s in ds.samples] == ["clean", "clean"]  # the people's labels, not the board's
    assert all(s.human for s in ds.samples)
    line = json.loads(out.read_text().splitlines()[1])
    assert set(line) == {"source-ref", "duct-condition", "duct-condition-metadata"}
    assert line["duct-condition-metadata"]["job-name"] == "labeling-job/duct-review"


def test_relabelling_output_with_a_bad_answer_names_the_line(tmp_path, capsys):
    bad = gt_line("s3://bkt/x.jpg", 0, "clean")
    bad["duct-condition-reviewed"] = "clean"  # a name where Ground Truth writes the class index
    bad["duct-condition-reviewed-metadata"] = dict(bad["duct-condition-metadata"], **{"human-annotated": "yes"})
    job_out = write_lines(tmp_path / "out.manifest", [bad])
    assert main(["--from-relabelling", str(job_out), "--out", str(tmp_path / "m.jsonl")]) == 1
    err = capsys.readouterr().err
    assert "out.manifest:1" in err and "must be a class index" in err
    assert not (tmp_path / "m.jsonl").exists()
