"""build-manifest round trip: sidecars in a bucket mirror -> manifest -> dataset parser."""

import json
from pathlib import Path

from helpers import gt_line, write_jpeg
from toolchain.dataset import parse_manifest
from toolchain.manifest import collect, main


def upload(mirror: Path, device: str, kind: str, item: str, label: str | None, index: int = 0,
           sidecar: str | None = None) -> str:
    """One uploaded item the way the daemon's outbox lays it out."""
    key = f"fleet/{device}/{kind}/2026/11/27/{item}"
    write_jpeg(mirror / "bkt" / f"{key}.jpg")
    doc = {"device_id": device, "kind": kind, "captured_at": "2026-11-27T10:00:00Z"}
    if label is not None:
        doc["ground_truth"] = gt_line(f"s3://bkt/{key}.jpg", index, label)
    (mirror / "bkt" / f"{key}.json").write_text(sidecar if sidecar is not None else json.dumps(doc))
    return f"s3://bkt/{key}.jpg"


def test_round_trip_from_sidecars_to_training_dataset(tmp_path, capsys):
    mirror = tmp_path / "mirror"
    refs = [upload(mirror, "dev1", "snapshot", "a1", "clean", 0),
            upload(mirror, "dev1", "sample", "a2", "dirty", 1),
            upload(mirror, "dev2", "snapshot", "b1", "dirty", 1)]
    upload(mirror, "dev2", "snapshot", "b2", None)  # not labelled: skipped, not an error
    upload(mirror, "dev2", "status", "b3", "clean", 0)  # other kinds are not training data
    out = tmp_path / "out" / "manifest.jsonl"
    assert main(["--from", "s3://bkt/fleet", "--s3-mirror", str(mirror), "--out", str(out)]) == 0
    lines = [json.loads(x) for x in out.read_text().splitlines()]
    assert [x["source-ref"] for x in lines] == sorted(refs)
    assert lines[0]["duct-condition-metadata"]["job-name"] == "labeling-job/remotair-dev1"
    ds = parse_manifest(out, s3_mirror=mirror)
    assert ds.labels == ["clean", "dirty"]
    assert sorted(s.label for s in ds.samples) == ["clean", "dirty", "dirty"]
    assert all(s.path.is_file() for s in ds.samples)
    err = capsys.readouterr().err
    assert "3 lines, 0 malformed sidecars, 1 without ground_truth, 0 duplicates, 1 of other kinds" in err


def test_malformed_sidecars_are_named_and_counted_and_fail_above_the_share(tmp_path, capsys):
    mirror = tmp_path / "mirror"
    for i in range(8):
        upload(mirror, "dev1", "snapshot", f"ok{i}", "clean" if i % 2 else "dirty", i % 2 ^ 1)
    upload(mirror, "dev1", "snapshot", "broken", None, sidecar="{truncated")
    bad_gt = {"ground_truth": {"source-ref": "s3://bkt/x.jpg", "duct-condition": "dirty",
                               "duct-condition-metadata": {"class-name": "dirty",
                                                           "type": "groundtruth/image-classification"}}}
    upload(mirror, "dev1", "sample", "badindex", None, sidecar=json.dumps(bad_gt))
    res = collect(mirror / "bkt" / "fleet")
    assert len(res.lines) == 8 and len(res.bad) == 2
    assert any("broken.json: not valid JSON" in b for b in res.bad)
    assert any("badindex.json: ground_truth: 'duct-condition' must be a class index" in b for b in res.bad)

    out = tmp_path / "m.jsonl"
    assert main(["--from", str(mirror / "bkt" / "fleet"), "--out", str(out)]) == 1
    assert not out.exists()
    err = capsys.readouterr().err
    assert "malformed: " in err and "2 of 10 sidecars malformed, more than 5%" in err
    assert main(["--from", str(mirror / "bkt" / "fleet"), "--out", str(out), "--max-bad-share", "0.25"]) == 0
    assert len(out.read_text().splitlines()) == 8


def test_s3_source_is_read_from_the_bucket_itself(tmp_path, monkeypatch, capsys):
    """Without --s3-mirror, s3://bucket/prefix is listed and read with boto3 (moto here), giving the mirror's manifest."""
    import boto3
    from moto import mock_aws

    mirror = tmp_path / "mirror"
    upload(mirror, "dev1", "snapshot", "a1", "clean", 0)
    upload(mirror, "dev1", "sample", "a2", "dirty", 1)
    upload(mirror, "dev2", "snapshot", "b2", None)
    upload(mirror, "dev2", "snapshot", "b4", "dirty", 1)
    (mirror / "bkt/fleet/dev2/snapshot/2026/11/27/b4.jpg").unlink()  # a sidecar whose image never arrived
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws():
        s3 = boto3.client("s3")
        s3.create_bucket(Bucket="bkt")
        for path in sorted((mirror / "bkt").rglob("*.*")):
            s3.put_object(Bucket="bkt", Key=path.relative_to(mirror / "bkt").as_posix(), Body=path.read_bytes())
        from_bucket, from_mirror = tmp_path / "bucket.jsonl", tmp_path / "mirror.jsonl"
        assert main(["--from", "s3://bkt/fleet", "--out", str(from_bucket), "--max-bad-share", "0.5"]) == 0
        err = capsys.readouterr().err
        assert "2 lines, 1 malformed sidecars, 1 without ground_truth" in err
        assert "s3://bkt/fleet/dev2/snapshot/2026/11/27/b4.json: image b4.jpg missing" in err
        assert main(["--from", "s3://bkt/fleet", "--s3-mirror", str(mirror), "--out", str(from_mirror),
                     "--max-bad-share", "0.5"]) == 0
        assert from_bucket.read_text() == from_mirror.read_text()
        assert main(["--from", "s3://nosuchbucket/fleet", "--out", str(tmp_path / "x.jsonl")]) == 2
        assert "cannot list the bucket" in capsys.readouterr().err
