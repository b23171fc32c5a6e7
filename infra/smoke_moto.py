#!/usr/bin/env python3
"""Deployment smoke test against moto's CloudFormation.

1. Translates infra/template.yaml offline with aws-sam-translator.
2. Strips what moto cannot run:
   - the SQS event source mappings (moto would try to invoke the functions through Docker);
   - the HTTP API (API Gateway v2), the EventBridge schedules and the portal's CloudFront
     resources, which moto's CloudFormation does not create.
3. Deploys the rest into moto: the table, the queues with their DLQs, the bucket, the roles and
   the functions (their code is a placeholder zip uploaded to moto's S3).
4. Runs `feedback seed-region --target aws` against the stack's own table, twice. The second run
   must report "unchanged".
5. Runs the ignored Rust test `stack_smoke`, which submits and routes a message through the real
   adapters against the stack's table and queues.
6. Runs `feedback reconcile --target aws` against the stack's table: the counters the message
   wrote must equal the recount of its history.
7. Runs infra/deploy_web.py against the stack: the portal's files and config.json land in its
   web bucket with their content types and caching (CloudFront itself is not emulated).

Usage: AWS_ENDPOINT_URL=http://127.0.0.1:PORT python infra/smoke_moto.py
"""
import io
import json
import os
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import boto3

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
import check_template

UNSUPPORTED = ("AWS::Lambda::EventSourceMapping", "AWS::ApiGatewayV2::", "AWS::Scheduler::", "AWS::CloudFront::")


def fail(msg: str) -> None:
    print(f"smoke_moto: FAILED: {msg}", file=sys.stderr)
    sys.exit(1)


def strip(doc: dict) -> list[str]:
    """Removes the unsupported resources and every reference to them; returns what went."""
    gone = [lid for lid, r in doc["Resources"].items() if r.get("Type", "").startswith(UNSUPPORTED)]
    for lid in gone:
        del doc["Resources"][lid]

    def mentions(v) -> bool:
        text = json.dumps(v)
        return any(f'"{g}"' in text or f"${{{g}" in text or f'"{g}.' in text for g in gone)

    changed = True
    while changed:
        changed = False
        for lid, r in list(doc["Resources"].items()):
            if mentions(r.get("Properties", {})) or mentions(r.get("DependsOn", [])):
                del doc["Resources"][lid]
                gone.append(lid)
                changed = True
    for name, out in list(doc.get("Outputs", {}).items()):
        if mentions(out):
            del doc["Outputs"][name]
    return gone


def placeholder_code(s3, doc: dict) -> None:
    """Uploads a placeholder zip wherever a function expects its code."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("bootstrap", "#!/bin/sh\nexit 0\n")
    made = set()
    for r in doc["Resources"].values():
        if r.get("Type") == "AWS::Lambda::Function":
            code = r["Properties"].get("Code", {})
            bucket, key = code.get("S3Bucket"), code.get("S3Key")
            if isinstance(bucket, str) and isinstance(key, str):
                if bucket not in made:
                    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": s3.meta.region_name})
                    made.add(bucket)
                s3.put_object(Bucket=bucket, Key=key, Body=buf.getvalue())


def main() -> int:
    endpoint = os.environ.get("AWS_ENDPOINT_URL")
    if not endpoint:
        fail("AWS_ENDPOINT_URL is not set (scripts/test.sh starts moto and sets it)")
    region = os.environ.setdefault("AWS_REGION", "eu-central-1")
    os.environ.setdefault("AWS_DEFAULT_REGION", region)
    rep = check_template.Report()
    template = check_template.load_template(ROOT / "infra" / "template.yaml")
    translated = check_template.translate(template, rep)
    if translated is None:
        fail("the SAM transform failed")
    gone = strip(translated)
    kinds = sorted({r["Type"] for r in translated["Resources"].values()})
    print(f"smoke_moto: deploying {len(translated['Resources'])} resources ({', '.join(kinds)}); stripped {len(gone)}")

    session = boto3.session.Session(region_name=region)
    s3 = session.client("s3", endpoint_url=endpoint)
    placeholder_code(s3, translated)
    cfn = session.client("cloudformation", endpoint_url=endpoint)
    stack = f"feedback-72-smoke-{int(time.time())}"
    params = [{"ParameterKey": k, "ParameterValue": v} for k, v in check_template.DUMMY_PARAMETERS.items()]
    declared = translated.get("Parameters", {})
    params = [p for p in params if p["ParameterKey"] in declared]
    cfn.create_stack(StackName=stack, TemplateBody=json.dumps(translated), Parameters=params,
                     Capabilities=["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"])
    for _ in range(120):
        status = cfn.describe_stacks(StackName=stack)["Stacks"][0]["StackStatus"]
        if status.endswith(("_COMPLETE", "_FAILED")):
            break
        time.sleep(0.5)
    described = cfn.describe_stacks(StackName=stack)["Stacks"][0]
    if described["StackStatus"] != "CREATE_COMPLETE":
        events = cfn.describe_stack_events(StackName=stack)["StackEvents"][:10]
        fail(f"stack {described['StackStatus']}: " + "; ".join(f"{e.get('LogicalResourceId')}: {e.get('ResourceStatusReason')}" for e in events))
    outputs = {o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs", [])}
    for needed in ("TableName", "SubmittedQueueUrl", "NotificationsQueueUrl"):
        if needed not in outputs:
            fail(f"the stack has no output {needed}: {sorted(outputs)}")
    created = {r["LogicalResourceId"]: r["ResourceType"] for r in cfn.list_stack_resources(StackName=stack)["StackResourceSummaries"]}
    functions = sorted(lid for lid, t in created.items() if t == "AWS::Lambda::Function")
    print(f"smoke_moto: stack {stack} CREATE_COMPLETE with {len(created)} resources, {len(functions)} functions; "
          f"table {outputs['TableName']}")

    feedback = [str(ROOT / "target" / "debug" / "feedback")]
    if not Path(feedback[0]).exists():
        feedback = ["cargo", "run", "-q", "-p", "feedback-local", "--"]
    seed = feedback + ["seed-region", "--target", "aws", "--table", outputs["TableName"],
                       "--region-file", str(ROOT / "infra" / "regions" / "72-tyumen.toml")]
    for expected in ("— seeded", "— unchanged"):
        out = subprocess.run(seed, cwd=ROOT, capture_output=True, text=True, check=False)
        if out.returncode != 0 or expected not in out.stdout:
            fail(f"seed-region did not report '{expected}':\n{out.stdout}\n{out.stderr}")
        print(f"smoke_moto: seed-region {expected.strip('— ')}")

    env = {**os.environ, "STACK_TABLE": outputs["TableName"], "STACK_SUBMITTED_QUEUE_URL": outputs["SubmittedQueueUrl"],
           "STACK_NOTIFICATIONS_QUEUE_URL": outputs["NotificationsQueueUrl"]}
    test = subprocess.run(["cargo", "test", "-q", "-p", "feedback-tests", "--test", "stack_smoke", "--", "--ignored"],
                          cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    print(test.stdout[-2000:])
    if test.returncode != 0 or "1 passed" not in test.stdout:
        fail(f"the stack smoke test failed:\n{test.stderr[-3000:]}")
    print("smoke_moto: a message was submitted and routed against the deployed stack")

    reconcile = feedback + ["reconcile", "--target", "aws", "--table", outputs["TableName"]]
    out = subprocess.run(reconcile, cwd=ROOT, capture_output=True, text=True, check=False)
    if out.returncode != 0 or ", 0 differences" not in out.stdout or " 0 counter items" in out.stdout:
        fail(f"reconcile against the stack's table did not agree:\n{out.stdout}\n{out.stderr}")
    print("smoke_moto: " + out.stdout.strip().splitlines()[-1])

    # The portal: infra/deploy_web.py publishes web/dist and config.json to the stack's bucket.
    out = subprocess.run([sys.executable, str(ROOT / "infra" / "deploy_web.py"), "--stack", stack, "--no-invalidate"],
                         cwd=ROOT, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        fail(f"deploy_web failed:\n{out.stdout}\n{out.stderr}")
    shell = s3.get_object(Bucket=outputs["WebBucket"], Key="index.html")
    config = json.loads(s3.get_object(Bucket=outputs["WebBucket"], Key="config.json")["Body"].read())
    if shell["ContentType"] != "text/html; charset=utf-8" or shell["CacheControl"] != "no-cache":
        fail(f"index.html is stored with {shell['ContentType']!r}, {shell['CacheControl']!r}")
    if config.get("auth") != "oidc" or config.get("client_id") != check_template.DUMMY_PARAMETERS["OidcAudience"]:
        fail(f"config.json does not name the stack's identity provider: {config}")
    print("smoke_moto: " + out.stdout.strip().splitlines()[-1])
    return 0


if __name__ == "__main__":
    sys.exit(main())
