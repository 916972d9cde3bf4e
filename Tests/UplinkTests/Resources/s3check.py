#!/usr/bin/env python3
"""Reference peer for the Swift uplink tests: botocore signs, boto3 reads back what was uploaded.

  s3check.py sign            JSON list of requests on stdin -> JSON list of {authorization, canonical_request} (botocore S3SigV4Auth)
  s3check.py list BUCKET     JSON {key: {size, sha256, md5, etag}} of every object (endpoint and keys from REMOTAIR_TEST_S3_*)
"""
import datetime
import hashlib
import json
import os
import sys
import urllib.parse

import botocore.auth
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials


def sign(requests):
    out = []
    for r in requests:
        when = datetime.datetime.strptime(r["date"], "%Y%m%dT%H%M%SZ")
        botocore.auth.get_current_datetime = lambda *args, **kwargs: when
        url = "%s://%s%s" % (r["scheme"], r["host"], urllib.parse.quote(r["path"], safe="/~"))
        body = bytes.fromhex(r["body_hex"])
        request = AWSRequest(method="PUT", url=url, data=body, headers=r["headers"])
        creds = Credentials(r["access_key"], r["secret_key"], r.get("token"))
        auth = S3SigV4Auth(creds, "s3", r["region"])
        auth.add_auth(request)
        authorization = request.headers["Authorization"]
        # The canonical request as signed: without the Authorization header that signing added.
        del request.headers["Authorization"]
        out.append({
            "authorization": authorization,
            "canonical_request": auth.canonical_request(request),
            "content_sha256": request.headers["X-Amz-Content-SHA256"],
        })
    return out


def list_objects(bucket):
    import boto3
    s3 = boto3.client(
        "s3",
        endpoint_url=os.environ["REMOTAIR_TEST_S3_ENDPOINT"],
        aws_access_key_id=os.environ["REMOTAIR_TEST_S3_ACCESS_KEY"],
        aws_secret_access_key=os.environ["REMOTAIR_TEST_S3_SECRET_KEY"],
        region_name=os.environ.get("REMOTAIR_TEST_S3_REGION", "us-east-1"),
    )
    result = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for item in page.get("Contents", []):
            body = s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
            result[item["Key"]] = {
                "size": len(body),
                "sha256": hashlib.sha256(body).hexdigest(),
                "md5": hashlib.md5(body).hexdigest(),
                "etag": item["ETag"].strip('"'),
            }
    return result


if __name__ == "__main__":
    if sys.argv[1] == "sign":
        json.dump(sign(json.load(sys.stdin)), sys.stdout)
    elif sys.argv[1] == "list":
        json.dump(list_objects(sys.argv[2]), sys.stdout)
    else:
        sys.exit("usage: s3check.py sign | list BUCKET")
