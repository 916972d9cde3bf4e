import random
from pathlib import Path

import pytest

from helpers import gt_line, write_jpeg, write_lines
from toolchain.dataset import (DatasetError, Sample, check_same_labels, dataset_sha256, drop_missing, load,
                               load_folder, parse_manifest, require_labels, stratified_split)


def make_mirror(tmp: Path, n_clean=3, n_dirty=2):
    mirror = tmp / "mirror"
    lines = []
    for i in range(n_clean):
        write_jpeg(mirror / "bkt" / "dev1" / f"c{i}.jpg")
        lines.append(gt_line(f"s3://bkt/dev1/c{i}.jpg", 0, "clean"))
    for i in range(n_dirty):
        write_jpeg(mirror / "bkt" / "dev1" / f"d{i}.jpg", (90, 80, 60))
        lines.append(gt_line(f"s3://bkt/dev1/d{i}.jpg", 1, "dirty"))
    return mirror, lines


def test_valid_manifest_resolves_s3_refs_against_the_mirror(tmp_path):
    mirror, lines = make_mirror(tmp_path)
    ds = parse_manifest(write_lines(tmp_path / "m.jsonl", lines + [""]), s3_mirror=mirror)
    assert ds.labels == ["clean", "dirty"]
    assert [s.label for s in ds.samples] == ["clean"] * 3 + ["dirty"] * 2
    assert ds.samples[0].path == mirror / "bkt" / "dev1" / "c0.jpg"
    assert ds.samples[4].origin.endswith("m.jsonl:5")
    assert all(s.path.is_file() for s in ds.samples)


def test_label_order_follows_class_index_not_file_order(tmp_path):
    lines = [gt_line("b.jpg", 1, "dirty"), gt_line("a.jpg", 0, "clean")]
    ds = parse_manifest(write_lines(tmp_path / "m.jsonl", lines))
    assert ds.labels == ["clean", "dirty"]
    assert ds.samples[0].path == tmp_path / "b.jpg"  # local refs are relative to the manifest


def test_malformed_lines_are_all_named_by_line_number(tmp_path):
    good = gt_line("a.jpg", 0, "clean")
    no_ref = gt_line("b.jpg", 1, "dirty")
    del no_ref["source-ref"]
    wrong_type = gt_line("c.jpg", 1, "dirty", type="groundtruth/text-classification")
    conflict = gt_line("d.jpg", 0, "dirty")  # index 0 was 'clean' on line 1
    bad_conf = gt_line("e.jpg", 1, "dirty", confidence=1.7)
    path = write_lines(tmp_path / "m.jsonl", [good, "{not json", no_ref, wrong_type, conflict, bad_conf])
    with pytest.raises(DatasetError) as e:
        parse_manifest(path)
    msg = str(e.value)
    assert "5 malformed line(s)" in msg
    for n, what in [(2, "not valid JSON"), (3, "source-ref"), (4, "groundtruth/image-classification"),
                    (5, "class index 0 is 'dirty' here but 'clean'"), (6, "confidence")]:
        assert f"m.jsonl:{n}: " in msg and what in msg
    assert "m.jsonl:1:" not in msg


def test_s3_ref_without_mirror_is_an_error_naming_the_line(tmp_path):
    path = write_lines(tmp_path / "m.jsonl", [gt_line("s3://bkt/a.jpg", 0, "clean")])
    with pytest.raises(DatasetError, match=r"m.jsonl:1: .*--s3-mirror"):
        parse_manifest(path)


def test_s3_ref_may_not_climb_out_of_the_mirror(tmp_path):
    path = write_lines(tmp_path / "m.jsonl", [gt_line("s3://bkt/../../etc/passwd", 0, "clean")])
    with pytest.raises(DatasetError, match=r"m.jsonl:1: .*'\.\.'"):
        parse_manifest(path, s3_mirror=tmp_path)


def test_label_attribute_is_detected_or_named(tmp_path):
    lines = [gt_line("a.jpg", 0, "clean", attr="my-job"), gt_line("b.jpg", 1, "dirty", attr="my-job")]
    assert parse_manifest(write_lines(tmp_path / "m.jsonl", lines)).labels == ["clean", "dirty"]
    with pytest.raises(DatasetError, match="no label attribute 'duct-condition'"):
        parse_manifest(tmp_path / "m.jsonl", label_attribute="duct-condition")


def test_missing_and_unreadable_images_are_listed_skipped_and_counted(tmp_path):
    mirror, lines = make_mirror(tmp_path, n_clean=10, n_dirty=10)
    (mirror / "bkt" / "dev1" / "c3.jpg").unlink()
    (mirror / "bkt" / "dev1" / "d7.jpg").write_bytes(b"not a jpeg at all")
    ds = parse_manifest(write_lines(tmp_path / "m.jsonl", lines), s3_mirror=mirror)
    report: list[str] = []
    kept = drop_missing(ds, max_share=0.1, report=report)
    assert len(kept.samples) == 18
    assert len(report) == 2
    assert any("m.jsonl:4:" in r and "c3.jpg: missing" in r for r in report)
    assert any("m.jsonl:18:" in r and "d7.jpg: unreadable" in r for r in report)


def test_run_fails_when_too_many_images_are_missing(tmp_path):
    mirror, lines = make_mirror(tmp_path, n_clean=5, n_dirty=5)
    for i in range(2):
        (mirror / "bkt" / "dev1" / f"c{i}.jpg").unlink()
    ds = parse_manifest(write_lines(tmp_path / "m.jsonl", lines), s3_mirror=mirror)
    with pytest.raises(DatasetError, match=r"2 of 10 images missing or unreadable \(20.0%\), more than the allowed 5.0%"):
        drop_missing(ds)


def test_folder_dataset_and_single_label_error(tmp_path):
    for i in range(3):
        write_jpeg(tmp_path / "ds" / "clean" / f"{i}.jpg")
    (tmp_path / "ds" / "clean" / "notes.txt").write_text("ignored")
    with pytest.raises(DatasetError, match="only one label \\(clean\\)"):
        require_labels(load(tmp_path / "ds"))
    write_jpeg(tmp_path / "ds" / "dirty" / "0.jpg")
    ds = load_folder(tmp_path / "ds")
    require_labels(ds)
    assert ds.labels == ["clean", "dirty"] and len(ds.samples) == 4


def test_empty_label_folder_is_an_error(tmp_path):
    write_jpeg(tmp_path / "ds" / "clean" / "0.jpg")
    (tmp_path / "ds" / "dirty").mkdir()
    with pytest.raises(DatasetError, match="without images: dirty"):
        load_folder(tmp_path / "ds")


def test_labels_differing_between_train_and_test_is_an_error(tmp_path):
    for lb in ("clean", "dirty"):
        write_jpeg(tmp_path / "train" / lb / "0.jpg")
    for lb in ("clean", "mouldy"):
        write_jpeg(tmp_path / "test" / lb / "0.jpg")
    with pytest.raises(DatasetError, match="labels differ between train .*clean, dirty.* and test .*clean, mouldy"):
        check_same_labels(load_folder(tmp_path / "train"), load_folder(tmp_path / "test"))


def samples(n_clean: int, n_dirty: int) -> list[Sample]:
    return ([Sample(Path(f"/d/clean/{i:03d}.jpg"), "clean", "") for i in range(n_clean)]
            + [Sample(Path(f"/d/dirty/{i:03d}.jpg"), "dirty", "") for i in range(n_dirty)])


def test_split_is_deterministic_and_order_independent():
    s = samples(50, 30)
    shuffled = s[:]
    random.Random(1).shuffle(shuffled)
    assert stratified_split(s) == stratified_split(s)
    train, test = stratified_split(s)
    train2, test2 = stratified_split(shuffled)
    assert set(test) == set(test2) and set(train) == set(train2)
    assert set(stratified_split(s, seed=99)[1]) != set(test)


def test_split_is_stratified_80_20_and_disjoint():
    s = samples(50, 30)
    train, test = stratified_split(s)
    assert sum(x.label == "clean" for x in test) == 10
    assert sum(x.label == "dirty" for x in test) == 6
    assert len(train) == 64 and not set(train) & set(test) and set(train) | set(test) == set(s)


def test_split_keeps_at_least_one_of_each_label_on_both_sides():
    train, test = stratified_split(samples(2, 3))
    assert {x.label for x in test} == {"clean", "dirty"} == {x.label for x in train}
    with pytest.raises(DatasetError, match="label 'dirty' has 1 image"):
        stratified_split(samples(5, 1))


def test_dataset_hash_depends_on_content_and_labels_not_paths(tmp_path):
    a = write_jpeg(tmp_path / "a.jpg", (1, 2, 3))
    b = write_jpeg(tmp_path / "b.jpg", (200, 2, 3))
    b2 = tmp_path / "elsewhere.jpg"
    b2.write_bytes(b.read_bytes())
    h = dataset_sha256([Sample(a, "clean", ""), Sample(b, "dirty", "")])
    assert h == dataset_sha256([Sample(b2, "dirty", ""), Sample(a, "clean", "")])
    assert h != dataset_sha256([Sample(a, "dirty", ""), Sample(b, "clean", "")])
