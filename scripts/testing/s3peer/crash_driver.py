#!/usr/bin/env python3
"""Kill -9 torture for the outbox (driven by scripts/testing/crash-outbox).

Each round starts `outbox-torture run` (enqueue + upload continuously), waits until the round has acknowledged
MIN_ITEMS items and uploaded MIN_ITEMS items (a torture that makes no progress would otherwise pass every round:
nothing acknowledged, nothing to lose), kills it with SIGKILL at a random moment after that, then checks with
`outbox-torture check` (which runs start-up recovery) and boto3:
  - the database passes integrity_check and was not moved aside; nothing was counted lost;
  - every acknowledged item (acked.log) is either still queued or fully uploaded;
  - every uploaded object is exactly what was enqueued (bodies are self-verifying, see outbox-torture).
usage: crash_driver.py TORTURE_BIN WORKDIR ROUNDS   (ROUNDS >= 1; S3 endpoint and keys from S3_* variables)
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

if len(sys.argv) != 4 or not sys.argv[3].isdigit() or int(sys.argv[3]) < 1:
    sys.exit("usage: crash_driver.py TORTURE_BIN WORKDIR ROUNDS (ROUNDS: a whole number, at least 1)")
torture, workdir, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3])
# What every round must achieve before the kill, and how long it may take (a loaded 2-core CI machine
# uploads a few items a second to moto at worst; the torture enqueues one every 5 ms).
MIN_ITEMS = 3
PROGRESS_TIMEOUT = 60.0
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


def acked_lines():
    try:
        with open(acked_path) as log:
            return sum(1 for entry in log if len(entry.split()) == 3)
    except FileNotFoundError:
        return 0


def uploaded_items(keys):
    """Distinct item ids among object keys (a snapshot is two objects, a JSON and a JPEG)."""
    return {key.rsplit("/", 1)[1].rsplit(".", 1)[0] for key in keys}


def listed_keys():
    keys = set()
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix + "/"):
        keys |= {o["Key"] for o in page.get("Contents", [])}
    return keys


def wait_for_progress(child, round_number, acked_before, items_before):
    """Until this round has acknowledged and uploaded MIN_ITEMS items each; False (after a failure) if it did not."""
    deadline = time.time() + PROGRESS_TIMEOUT
    acked = uploaded = 0
    while time.time() < deadline and child.poll() is None:
        acked = acked_lines() - acked_before
        if acked >= MIN_ITEMS:
            uploaded = len(uploaded_items(listed_keys()) - items_before)
            if uploaded >= MIN_ITEMS:
                return True
        time.sleep(0.05)
    if child.poll() is not None:
        fail("round %d: torture exited with status %s before making progress" % (round_number, child.returncode))
    else:
        fail("round %d: in %.0f s the torture acknowledged %d and uploaded %d items; each round needs at least %d of each"
             % (round_number, PROGRESS_TIMEOUT, acked, uploaded, MIN_ITEMS))
    return False


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
totals = {"temp": 0, "orphans": 0, "rounds": 0, "passed": 0}
started = time.time()
uploaded = set()
for round_number in range(1, rounds + 1):
    acked_before, items_before = acked_lines(), uploaded_items(uploaded)
    child = subprocess.Popen([torture, "run", "--dir", workdir, "--endpoint", endpoint, "--bucket", bucket, "--prefix", prefix,
                              "--snapshot-bytes", str(snapshot_bytes), "--pause-ms", "5"],
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)
    line = child.stdout.readline()
    if b"READY" not in line:
        child.kill()
        fail("round %d: torture did not start" % round_number)
        break
    # Recovery is done by READY; once the round has done its share, kill during enqueue, upload, ack or
    # eviction at a random moment.
    progressed = wait_for_progress(child, round_number, acked_before, items_before)
    if progressed:
        time.sleep(rng.uniform(0.02, 1.2))
    child.send_signal(signal.SIGKILL)
    child.wait()
    if not progressed:
        break
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
    totals["passed"] += 1

if totals["rounds"] != rounds and not failures:
    fail("%d of %d rounds ran" % (totals["rounds"], rounds))
print("crash-outbox: %d kill -9 rounds in %.0f s, each acknowledging and uploading at least %d items, %d failures"
      % (totals["rounds"], time.time() - started, MIN_ITEMS, len(failures)))
print("%d passed, %d failed" % (totals["passed"], 1 if failures else 0))
sys.exit(1 if failures or totals["rounds"] == 0 or totals["rounds"] != rounds else 0)
