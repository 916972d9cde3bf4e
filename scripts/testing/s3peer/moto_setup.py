#!/usr/bin/env python3
"""Prepares a fresh moto_server (started with INITIAL_NO_AUTH_ACTION_COUNT=3) for the uplink tests.

Spends the three unauthenticated actions on an IAM user, its access key and an s3:* policy, creates the bucket with
the new key, checks that a bogus key is refused (authentication really is on), and prints shell assignments.
usage: moto_setup.py ENDPOINT BUCKET
"""
import json
import sys

import boto3
import botocore.exceptions
from botocore.config import Config

endpoint, bucket = sys.argv[1], sys.argv[2]
config = Config(retries={"max_attempts": 1})
iam = boto3.client("iam", endpoint_url=endpoint, aws_access_key_id="bootstrap", aws_secret_access_key="bootstrap",
                   region_name="us-east-1", config=config)
iam.create_user(UserName="remotair-uplink")
key = iam.create_access_key(UserName="remotair-uplink")["AccessKey"]
iam.put_user_policy(UserName="remotair-uplink", PolicyName="uplink", PolicyDocument=json.dumps({
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}],
}))
s3 = boto3.client("s3", endpoint_url=endpoint, aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"],
                  region_name="us-east-1", config=config)
s3.create_bucket(Bucket=bucket)

bogus = boto3.client("s3", endpoint_url=endpoint, aws_access_key_id="AKIAIOSFODNN7BOGUS00", aws_secret_access_key="x" * 40,
                     region_name="us-east-1", config=config)
try:
    bogus.list_objects_v2(Bucket=bucket)
    sys.exit("moto_setup: a bogus key was accepted: authentication is off")
except botocore.exceptions.ClientError as error:
    code = error.response["Error"]["Code"]
    if code not in ("InvalidAccessKeyId", "SignatureDoesNotMatch", "AccessDenied", "403"):
        sys.exit("moto_setup: unexpected refusal of a bogus key: %s" % code)

print("S3_ACCESS_KEY=%s" % key["AccessKeyId"])
print("S3_SECRET_KEY=%s" % key["SecretAccessKey"])
