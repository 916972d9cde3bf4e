#!/usr/bin/env python3
"""Kill -9 torture for the outbox (driven by scripts/testing/crash-outbox).

Each round starts `outbox-torture run` (enqueue + upload continuously), kills it with SIGKILL at a random moment,
then checks with `outbox-torture check` (which runs start-up recovery) and boto3:
  - the database passes integrity_check and was not moved aside; nothing was counted lost;
  - every acknowledged item (acked.log) is either still queued or fully uploaded;
  - every uploaded object is exactly what was enqueued (bodies are self-verifying, see outbox-torture).
usage: crash_driver.py TORTURE_BIN WORKDIR ROUNDS   (S3 endpoint and keys from S3_* variables)
"""
import hashlib
import json
import os
import random
import signal
import subprocess
import sys
import time

import boto3

torture, workdir, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3])
endpoint, moto, bucket = os.environ["S3_ENDPOINT"], os.environ["S3_MOTO_ENDPOINT"], os.environ["S3_BUCKET"]
prefix = "crash-%d" % int(time.time())
snapshot_bytes = 40_000
env = dict(os.environ, AWS_ACCESS_KEY_ID=os.environ["S3_ACCESS_KEY"], AWS_SECRET_ACCESS_KEY=os.environ["S3_SECRET_KEY"])
s3 = boto3.client("s3", endpoint_url=moto, aws_access_key_id=os.environ["S3_ACCESS_KEY"],
                  aws_secret_access_key=os.environ["S3_SECRET_KEY"], region_name="us-east-1")
rng = random.Random(int(os.environ.get("CRASH_SEED", "0")) or None)


def derived_jpeg(item_id, size):
    out = bytearray(b"\xff\xd8")
    block = hashlib.sha256(item_id.encode()).digest()
    while len(out) < size - 2:
        out += block[: size - 2 - len(out)]
        block = hashlib.sha256(block).digest()
    return bytes(out + b"\xff\xd9")


verified = {}
failures = []


def fail(message):
    failures.append(message)
    print("FAIL: " + message, flush=True)


def verify_new_objects():
    keys = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix + "/"):
        keys += [(o["Key"], o["ETag"].strip('"')) for o in page.get("Contents", [])]
    for key, etag in keys:
        if verified.get(key) == etag:
            continue
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        item_id = key.rsplit("/", 1)[1].rsplit(".", 1)[0]
        if hashlib.md5(body).hexdigest() != etag:
            fail("%s: ETag %s is not the MD5 of the stored body" % (key, etag))
        if key.endswith(".jpg"):
            if body != derived_jpeg(item_id, snapshot_bytes):
                fail("%s: JPEG differs from what was enqueued (%d bytes)" % (key, len(body)))
        else:
            try:
                doc = json.loads(body)
            except ValueError:
                fail("%s: JSON does not parse (%d bytes)" % (key, len(body)))
                continue
            if doc.get("id") != item_id or "/%s/" % doc.get("kind") not in key:
                fail("%s: JSON names id %s kind %s" % (key, doc.get("id"), doc.get("kind")))
            if "jpeg_sha256" in doc and doc["jpeg_sha256"] != hashlib.sha256(derived_jpeg(item_id, snapshot_bytes)).hexdigest():
                fail("%s: sidecar digest differs" % key)
        verified[key] = etag
    return {key for key, _ in keys}


def check(round_number):
    result = subprocess.run([torture, "check", "--dir", workdir], capture_output=True, text=True, timeout=120)
    if result.returncode != 0:
        fail("round %d: check exited %d: %s" % (round_number, result.returncode, result.stderr[-500:]))
        return None
    state = json.loads(result.stdout.strip().splitlines()[-1])
    if state["integrity"] != "ok":
        fail("round %d: integrity_check: %s" % (round_number, state["integrity"]))
    if state["recovery"].get("databaseMovedAside"):
        fail("round %d: database moved aside: %s" % (round_number, state["recovery"].get("databaseProblem")))
    if state["lost"] != 0 or state["recovery"].get("itemsMarkedLost", 0) != 0:
        fail("round %d: %d items lost" % (round_number, state["lost"]))
    return state


acked_path = os.path.join(workdir, "acked.log")
totals = {"temp": 0, "orphans": 0, "rounds": 0}
started = time.time()
for round_number in range(1, rounds + 1):
    child = subprocess.Popen([torture, "run", "--dir", workdir, "--endpoint", endpoint, "--bucket", bucket, "--prefix", prefix,
                              "--snapshot-bytes", str(snapshot_bytes), "--pause-ms", "5"],
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)
    line = child.stdout.readline()
    if b"READY" not in line:
        child.kill()
        fail("round %d: torture did not start" % round_number)
        break
    # Recovery is done by READY; kill during enqueue, upload, ack or eviction at a random moment.
    time.sleep(rng.uniform(0.02, 1.2))
    child.send_signal(signal.SIGKILL)
    child.wait()
    state = check(round_number)
    if state is None:
        break
    totals["rounds"] += 1
    totals["temp"] += state["recovery"].get("temporaryFilesRemoved", 0)
    totals["orphans"] += state["recovery"].get("orphanBlobsRemoved", 0)
    uploaded = verify_new_objects()
    queued = set(state["queued"])
    acked = 0
    with open(acked_path) as log:
        for entry in log:
            fields = entry.split()
            if len(fields) != 3:
                continue
            acked += 1
            item_id, json_key, jpg_key = fields
            if item_id in queued:
                continue
            missing = [k for k in (json_key, jpg_key) if k != "-" and k not in uploaded]
            if missing:
                fail("round %d: acknowledged item %s neither queued nor uploaded (missing %s)" % (round_number, item_id, missing))
    if round_number % 10 == 0 or round_number == rounds:
        print("round %d/%d: acknowledged %d, uploaded objects %d, queued %d, temp files removed so far %d, orphan blobs removed so far %d"
              % (round_number, rounds, acked, len(uploaded), len(queued), totals["temp"], totals["orphans"]), flush=True)
    if failures:
        break

print("crash-outbox: %d kill -9 rounds in %.0f s, %d failures" % (totals["rounds"], time.time() - started, len(failures)))
print("%d passed, %d failed" % (totals["rounds"] - (1 if failures else 0), 1 if failures else 0))
sys.exit(1 if failures or totals["rounds"] != rounds else 0)
