#!/usr/bin/env python3
"""Checks infra/template.yaml against what the code says a stack deploys.

    python infra/check_template.py [MANIFEST_JSON] [--template PATH]

MANIFEST_JSON is the output of `feedback manifest --json`; without it the script runs
${CARGO_TARGET_DIR:-target}/debug/feedback (build it first: cargo build -p feedback-local).
The manifest comes from the code's own values (the route table, feedback_lambda::functions,
feedback_aws::schema::TABLE, feedback_aws::iam), so no Rust source is read here. Needs PyYAML and
aws-sam-translator. Offline. The template's hygiene (encryption, logs, alarms, concurrency, queue
redrive, IAM wildcards, the portal's distribution) is checked by cfn-lint with the rules in
infra/cfn-lint-rules (see .cfnlintrc).

What it compares:
  routes     every route is exactly one HttpApi event on its function (or, for a route API
             Gateway cannot express, the greedy proxy event its `gateway` key names), public
             routes with `Authorizer: NONE`, the others with the region's JWT authorizer; no
             other API events; the stage variable `region` the code reads
  functions  the template deploys every function of the manifest and nothing else; each sets
             exactly the variables the function requires (and optional ones it reads); HTTP
             functions time out before API Gateway does
  table      key schema, attribute definitions, GSIs, billing and TTL equal the manifest's table
  iam        each function's role grants exactly the manifest's grants (and SAM's send to the
             function's own DLQ), resolved through the variables that name the resources
  queues     each queue's consumer, batch size, partial batch responses, max receive count and
             dead-letter queue; no other queue is consumed
  schedules  each scheduled function runs on its expression with an EventBridge-shaped event
  topics     each topic of the code is an encrypted SNS topic of the stack with exactly its one
             subscriber function (an SNS event); no function hears another topic
  throttling public routes (and THROTTLED_JWT_ROUTES) are throttled below the stage default, and
             every route setting names a route
  web        the distribution passes every route to the HTTP API
  template   the parameters and outputs the scripts use; samconfig.toml's config envs
Exit status 0 with a one-line summary, or 1 with every failure listed.
"""

from __future__ import annotations

import argparse
import copy
import fnmatch
import json
import logging
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

try:
    import yaml
except ImportError:  # pragma: no cover - environment problem
    sys.exit("check_template: PyYAML is not installed (pip install pyyaml)")

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_TEMPLATE = ROOT / "infra" / "template.yaml"
SAMCONFIG = ROOT / "infra" / "samconfig.toml"

HTTP_TIMEOUT_LIMIT = 30  # API Gateway's integration timeout, seconds
# JWT routes throttled like the public ones: POST /v1/photos hands out the presigned photo PUT URLs.
THROTTLED_JWT_ROUTES = {"POST /v1/photos"}
JWT_IDENTITY_SOURCE = "$request.header.Authorization"
DEV_PATH_PREFIXES = ("/v1/dev/", "/local-blobs/")
# Read by infra/smoke_moto.py, infra/deploy_web.py and docs/deploy.md's procedures.
OUTPUTS = ("ApiUrl", "TableName", "SubmittedQueueUrl", "NotificationsQueueUrl", "PhotosBucket", "WebUrl",
           "WebBucket", "WebDistributionId")
QUEUE_NAME = "feedback-${{RegionCode}}-${{Stage}}-{}"

DUMMY_PARAMETERS = {
    "RegionCode": "72",
    "Stage": "prod",
    "OidcIssuer": "https://idp.example/realms/region-72",
    "OidcAudience": "feedback",
    "VoterSecretParameterName": "/feedback/72/prod/voter-secret",
    "BallotKeysPath": "/feedback/72/prod/ballot-keys",
    "MailDomain": "feedback.region72.example",
    "MailFrom": "noreply@feedback.region72.example",
    "UnsubscribeKeyParameterName": "/feedback/72/prod/unsubscribe-key",
    "VapidKeyParameterName": "/feedback/72/prod/vapid-key",
    "VapidSubject": "mailto:feedback-ops@region72.example",
}


class CfnLoader(yaml.SafeLoader):
    """SafeLoader that understands CloudFormation's short-form intrinsic function tags."""


def _construct_cfn(loader: yaml.Loader, tag_suffix: str, node: yaml.Node):
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    if tag_suffix in ("Ref", "Condition"):
        return {tag_suffix: value}
    if tag_suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {f"Fn::{tag_suffix}": value}


CfnLoader.add_multi_constructor("!", _construct_cfn)


def load_template(path: Path) -> dict:
    with path.open(encoding="utf-8") as f:
        doc = yaml.load(f, Loader=CfnLoader)
    if not isinstance(doc, dict) or "Resources" not in doc:
        raise SystemExit(f"check_template: {path} is not a CloudFormation template")
    return doc


def load_manifest(arg: str | None) -> dict:
    if arg:
        text, source = Path(arg).read_text(encoding="utf-8"), arg
    else:
        exe = Path(os.environ.get("CARGO_TARGET_DIR") or ROOT / "target") / "debug" / "feedback"
        if not exe.exists():
            raise SystemExit(f"check_template: {exe} not found; run `cargo build -p feedback-local` or pass a manifest")
        proc = subprocess.run([str(exe), "manifest", "--json"], capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            raise SystemExit(f"check_template: `{exe} manifest --json` failed:\n{proc.stderr}")
        text, source = proc.stdout, f"{exe} manifest --json"
    try:
        manifest = json.loads(text)
    except json.JSONDecodeError as e:
        raise SystemExit(f"check_template: the manifest from {source} is not JSON: {e}") from e
    missing = {"routes", "functions", "table", "queues", "schedules", "topics"} - set(manifest)
    if missing or not manifest["routes"] or not manifest["functions"]:
        raise SystemExit(f"check_template: the manifest from {source} lacks {sorted(missing) or 'routes or functions'}")
    return manifest


class Report:
    def __init__(self) -> None:
        self.errors: list[str] = []

    def fail(self, area: str, message: str) -> None:
        self.errors.append(f"[{area}] {message}")

    def check(self, cond: bool, area: str, message: str) -> bool:
        if not cond:
            self.fail(area, message)
        return cond


def as_list(v) -> list:
    if v is None:
        return []
    return v if isinstance(v, list) else [v]


def ref_name(v) -> str | None:
    """Logical id or parameter behind `!Ref X` or `!GetAtt X.Attr`, else None."""
    if isinstance(v, dict):
        if "Ref" in v:
            return v["Ref"]
        if "Fn::GetAtt" in v:
            ga = v["Fn::GetAtt"]
            return ga[0] if isinstance(ga, list) else str(ga).split(".", 1)[0]
    return None


def sub_text(v) -> str | None:
    """A plain string, or the string of a `!Sub`, else None."""
    if isinstance(v, dict) and "Fn::Sub" in v:
        v = v["Fn::Sub"]
        v = v[0] if isinstance(v, list) else v
    return v if isinstance(v, str) else None


def resources_of(t: dict, *types: str) -> dict[str, dict]:
    return {lid: r for lid, r in t["Resources"].items() if r.get("Type") in types}


def function_props(t: dict, props: dict) -> dict:
    """A function's properties with SAM Globals applied (maps merge, scalars override)."""

    def merge(base, over):
        if isinstance(base, dict) and isinstance(over, dict):
            return {**base, **{k: merge(base.get(k), v) for k, v in over.items()}}
        return over

    return merge(copy.deepcopy(t.get("Globals", {}).get("Function", {})), props)


def route_key(r: dict) -> str:
    return r.get("gateway") or f"{r['method'].upper()} {r['path']}"


# ------------------------------------------------------------------------------------------------
# Checks
# ------------------------------------------------------------------------------------------------


def check_functions(t: dict, m: dict, rep: Report) -> dict[str, str]:
    """Returns function name -> logical id, and checks each function's environment."""
    lids: dict[str, str] = {}
    for lid in resources_of(t, "AWS::Lambda::Function"):
        rep.fail("functions", f"{lid}: declare functions as AWS::Serverless::Function")
    for lid, r in resources_of(t, "AWS::Serverless::Function").items():
        uri = r.get("Properties", {}).get("CodeUri")
        match = re.fullmatch(r"\.\./target/lambda/([A-Za-z0-9_-]+)/bootstrap\.zip", uri if isinstance(uri, str) else "")
        if not rep.check(match is not None, "functions", f"{lid}: CodeUri must be ../target/lambda/<function>/bootstrap.zip"):
            continue
        name = match.group(1)
        rep.check(name not in lids, "functions", f"{name} is declared more than once")
        lids[name] = lid
    routed = {r["function"] for r in m["routes"]}
    for f in m["functions"]:
        name = f["name"]
        if not rep.check(name in lids, "functions", f"{name} is not declared in the template"):
            continue
        props = function_props(t, t["Resources"][lids[name]].get("Properties", {}))
        env = set((props.get("Environment") or {}).get("Variables") or {})
        for var in sorted(set(f["variables"]) - env):
            rep.fail("functions", f"{name} requires {var}; the template does not set it")
        for var in sorted(env - set(f["variables"]) - set(f["optional_variables"])):
            rep.fail("functions", f"{name}: the template sets {var}, which the function does not read")
        timeout = props.get("Timeout", 3)
        if name in routed:
            rep.check(isinstance(timeout, int) and timeout < HTTP_TIMEOUT_LIMIT, "functions",
                      f"{name} serves HTTP: Timeout {timeout!r} must be < {HTTP_TIMEOUT_LIMIT} (API Gateway's limit)")
    for name in sorted(set(lids) - {f["name"] for f in m["functions"]}):
        rep.fail("functions", f"{lids[name]} deploys {name}, which is not a function of the manifest")
    return lids


def variable_targets(t: dict, lids: dict[str, str], rep: Report) -> dict[str, str]:
    """Environment variable -> the logical id or parameter it refers to, the same in every function."""
    targets: dict[str, str] = {}
    for name, lid in lids.items():
        props = function_props(t, t["Resources"][lid].get("Properties", {}))
        for var, value in ((props.get("Environment") or {}).get("Variables") or {}).items():
            target = ref_name(value)
            if target is None:
                continue
            if targets.setdefault(var, target) != target:
                rep.fail("functions", f"{name}: {var} refers to {target}, other functions' to {targets[var]}")
    return targets


def check_routes(t: dict, m: dict, lids: dict[str, str], rep: Report) -> int:
    apis = list(resources_of(t, "AWS::Serverless::HttpApi"))
    if not rep.check(len(apis) == 1, "routes", f"expected one AWS::Serverless::HttpApi, found {apis}"):
        return 0
    api_id = apis[0]
    api = t["Resources"][api_id].get("Properties", {})
    # Every function admits only tokens of the region the stage names (feedback_core::policy::admit).
    rep.check(ref_name((api.get("StageVariables") or {}).get("region")) == "RegionCode", "routes",
              f"{api_id} must set the stage variable `region` to !Ref RegionCode")
    rep.check(api.get("StageName", "$default") == "$default", "routes", f"{api_id}: StageName must be $default")
    auth = api.get("Auth", {})
    jwt = {n: a for n, a in (auth.get("Authorizers") or {}).items() if isinstance(a, dict) and "JwtConfiguration" in a}
    rep.check(len(jwt) == 1, "routes", f"expected one JWT authorizer on {api_id}, found {sorted(jwt)}")
    for name, a in jwt.items():
        jc = a["JwtConfiguration"]
        rep.check(a.get("IdentitySource") == JWT_IDENTITY_SOURCE, "routes", f"{name}: IdentitySource must be {JWT_IDENTITY_SOURCE}")
        rep.check(ref_name(jc.get("issuer")) == "OidcIssuer", "routes", f"{name}: issuer must be !Ref OidcIssuer")
        rep.check(any(ref_name(x) == "OidcAudience" for x in as_list(jc.get("audience"))), "routes",
                  f"{name}: audience must include !Ref OidcAudience")

    name_of = {lid: name for name, lid in lids.items()}
    events: dict[str, list[tuple[str, str, str]]] = {}  # key -> [(function, authorizer, where)]
    for lid, r in resources_of(t, "AWS::Serverless::Function").items():
        for ev_name, ev in (r.get("Properties", {}).get("Events") or {}).items():
            where, p = f"{lid}.{ev_name}", ev.get("Properties") or {}
            if ev.get("Type") == "Api":
                rep.fail("routes", f"{where}: REST `Api` events are not used; routes are HttpApi events")
            if ev.get("Type") != "HttpApi":
                continue
            if not rep.check(ref_name(p.get("ApiId")) == api_id, "routes", f"{where}: ApiId must be !Ref {api_id}"):
                continue
            key = f"{str(p.get('Method', '')).upper()} {p.get('Path', '')}"
            authorizer = (p.get("Auth") or {}).get("Authorizer", auth.get("DefaultAuthorizer"))
            events.setdefault(key, []).append((name_of.get(lid, lid), authorizer, where))
    wanted: dict[str, dict] = {}
    for r in m["routes"]:
        key = route_key(r)
        valid = re.fullmatch(r"[A-Z]+ (/[A-Za-z0-9._-]+|/\{[a-z_]+\})*(/\{proxy\+\})?", key) is not None
        if not rep.check(valid, "routes", f"{key} is not a valid HTTP API route key (path variables must be whole segments)"):
            continue
        if key in wanted:
            rep.check(wanted[key]["function"] == r["function"], "routes", f"{key} serves two functions")
            continue
        wanted[key] = r
        found = events.get(key, [])
        if not rep.check(bool(found), "routes", f"{key} ({r['function']}, {r['access']}) has no HttpApi event"):
            continue
        rep.check(len(found) == 1, "routes", f"{key} is declared {len(found)} times: {[e[2] for e in found]}")
        fn, authorizer, where = found[0]
        rep.check(fn == r["function"], "routes", f"{key} is on {fn} ({where}), the route table says {r['function']}")
        if r["access"] == "public":
            rep.check(authorizer == "NONE", "routes", f"{key} is public: {where} needs `Auth: Authorizer: NONE`")
        else:
            rep.check(authorizer in jwt, "routes", f"{key} needs a token: {where} must use the JWT authorizer, not {authorizer!r}")
    for key, found in events.items():
        if key.split(" ", 1)[-1].startswith(DEV_PATH_PREFIXES):
            rep.fail("routes", f"{found[0][2]}: dev route {key} must not exist on AWS")
        elif key not in wanted:
            rep.fail("routes", f"{key} ({found[0][2]}) is not in the route table")
    return len(wanted)


def check_table(t: dict, m: dict, rep: Report) -> str | None:
    tables = list(resources_of(t, "AWS::DynamoDB::Table", "AWS::Serverless::SimpleTable"))
    if not rep.check(len(tables) == 1, "table", f"expected exactly one AWS::DynamoDB::Table, found {tables}"):
        return None
    lid, want = tables[0], m["table"]
    p = t["Resources"][lid].get("Properties", {})

    def keys(schema) -> list:
        return [(k.get("AttributeName"), k.get("KeyType")) for k in schema or []]

    def attrs(defs) -> set:
        return {(a.get("AttributeName"), a.get("AttributeType")) for a in defs or []}

    def gsis(indexes) -> dict:
        return {g.get("IndexName"): (keys(g.get("KeySchema")), (g.get("Projection") or {}).get("ProjectionType"))
                for g in indexes or []}

    for what, norm in (("AttributeDefinitions", attrs), ("KeySchema", keys), ("GlobalSecondaryIndexes", gsis)):
        have, expect = norm(p.get(what)), norm(want[what])
        rep.check(have == expect, "table", f"{what} {sorted(have) if isinstance(have, set) else have} != the code's {sorted(expect) if isinstance(expect, set) else expect}")
    rep.check(not p.get("LocalSecondaryIndexes"), "table", "the code's table has no local secondary indexes")
    rep.check(p.get("BillingMode") == want["BillingMode"], "table", f"BillingMode must be {want['BillingMode']}")
    ttl = p.get("TimeToLiveSpecification") or {}
    rep.check(ttl == want["TimeToLiveSpecification"], "table", f"TimeToLiveSpecification {ttl} != the code's {want['TimeToLiveSpecification']}")
    return lid


def translate(t: dict, rep: Report) -> dict | None:
    """The template after the SAM transform (policy templates and event policies expanded)."""
    try:
        from samtranslator.translator.transform import transform
        logging.getLogger("samtranslator.metrics").setLevel(logging.ERROR)  # unpublished-metrics noise
    except ImportError:
        rep.fail("iam", "aws-sam-translator is not installed; cannot inspect the generated IAM roles")
        return None
    os.environ.setdefault("AWS_DEFAULT_REGION", "eu-central-1")
    doc = copy.deepcopy(t)
    for r in doc["Resources"].values():
        if r.get("Type") == "AWS::Serverless::Function" and isinstance(r.get("Properties", {}).get("CodeUri"), str):
            r["Properties"]["CodeUri"] = "s3://placeholder-bucket/" + r["Properties"]["CodeUri"].strip("./").replace("/", "-")

    class StaticPolicyLoader:  # offline: names SAM may attach or that a template may name
        def load(self):
            names = ["AWSLambdaBasicExecutionRole", "AWSLambdaSQSQueueExecutionRole", "AWSLambdaDynamoDBExecutionRole",
                     "AWSXRayDaemonWriteAccess", "AWSLambdaVPCAccessExecutionRole", "AmazonDynamoDBFullAccess",
                     "AmazonSQSFullAccess", "AmazonS3FullAccess", "AWSLambdaRole"]
            return {n: f"arn:aws:iam::aws:policy/{'service-role/' if n.startswith('AWSLambda') else ''}{n}" for n in names}

    try:
        return transform(doc, dict(DUMMY_PARAMETERS), StaticPolicyLoader())
    except Exception as e:  # noqa: BLE001 - report any translator failure as a check failure
        rep.fail("iam", f"the SAM transform failed: {e}")
        return None


def arn_prefix(service: str) -> str:
    return f"arn:${{AWS::Partition}}:{service}:${{AWS::Region}}:${{AWS::AccountId}}:"


def canonical_resource(v, statement: dict) -> str:
    """A statement's resource as `Target` or `Target/path`, through the references it makes; a KMS
    key used through one service for one SSM parameter as `Parameter through service`."""
    name = ref_name(v)
    if name:
        return name
    if v == "*":
        return "*"
    text = sub_text(v)
    if text is None:
        return json.dumps(v, sort_keys=True)
    text = re.sub(r"\$\{([A-Za-z0-9]+)\.Arn\}", r"\1", text)
    parameter = re.fullmatch(re.escape(arn_prefix("ssm")) + r"parameter\$\{([A-Za-z0-9]+)\}(/\*)?", text)
    if parameter:
        return parameter.group(1) + (parameter.group(2) or "")
    ses = re.fullmatch(re.escape(arn_prefix("ses")) + r"(?:identity|configuration-set)/\$\{([A-Za-z0-9]+)\}", text)
    if ses:
        return ses.group(1)
    if text == arn_prefix("kms") + "key/*":
        cond = (statement.get("Condition") or {}).get("StringEquals") or {}
        via = re.fullmatch(r"([a-z0-9]+)\.\$\{AWS::Region\}\.amazonaws\.com", sub_text(cond.get("kms:ViaService")) or "")
        context = canonical_resource(cond.get("kms:EncryptionContext:PARAMETER_ARN"), {})
        if via and context:
            return f"{context} through {via.group(1)}"
    return text


def role_grants(translated: dict, role: str) -> set[tuple[str, str]]:
    """(action, canonical resource) for every Allow statement of a role's inline policies."""
    out = set()
    for policy in translated["Resources"][role].get("Properties", {}).get("Policies") or []:
        for st in as_list((policy.get("PolicyDocument") or {}).get("Statement")):
            if st.get("Effect") != "Allow":
                continue
            for action in as_list(st.get("Action")):
                for res in as_list(st.get("Resource")):
                    out.add((str(action).lower(), canonical_resource(res, st)))
    return out


def check_iam(t: dict, translated: dict | None, m: dict, lids: dict[str, str], targets: dict[str, str], rep: Report) -> int:
    if translated is None:
        return 0
    count = 0
    for f in m["functions"]:
        lid = lids.get(f["name"])
        if lid is None:
            continue
        role = ref_name(translated["Resources"].get(lid, {}).get("Properties", {}).get("Role"))
        if not rep.check(role in translated["Resources"], "iam", f"{f['name']}: expected SAM to generate its role"):
            continue
        want = set()
        for g in f["grants"]:
            target = "*" if g["resource"] == "*" else targets.get(g["resource"])
            if not rep.check(target is not None, "iam", f"{f['name']}: no function's environment names {g['resource']}"):
                continue
            resource = f"{target}{g.get('path', '')}" + (f" through {g['through']}" if g.get("through") else "")
            want |= {(a.lower(), resource) for a in g["actions"]}
        # SAM grants sqs:SendMessage on the function's own DLQ (failed asynchronous invocations).
        dlq = (function_props(t, t["Resources"][lid].get("Properties", {})).get("DeadLetterQueue") or {})
        if dlq.get("Type") == "SQS":
            want.add(("sqs:sendmessage", ref_name(dlq.get("TargetArn")) or ""))
        have = role_grants(translated, role)
        count += len(have)
        for action, resource in sorted(have - want):
            rep.fail("iam", f"{f['name']}: grants {action} on {resource}, which its ports do not use")
        for action, resource in sorted(want - have):
            rep.fail("iam", f"{f['name']}: lacks {action} on {resource}, which its ports use")
    return count


def check_queues(t: dict, m: dict, lids: dict[str, str], targets: dict[str, str], rep: Report) -> int:
    queues = resources_of(t, "AWS::SQS::Queue")
    redrive_targets = set()
    name_of = {lid: name for name, lid in lids.items()}
    consumers: dict[str, list[tuple[str, dict, str]]] = {}  # queue -> [(function, mapping, where)]
    for lid, r in resources_of(t, "AWS::Lambda::EventSourceMapping").items():
        p = r.get("Properties", {})
        consumers.setdefault(ref_name(p.get("EventSourceArn")), []).append((name_of.get(ref_name(p.get("FunctionName"))), p, lid))
    for lid, r in resources_of(t, "AWS::Serverless::Function").items():
        for ev_name, ev in (r.get("Properties", {}).get("Events") or {}).items():
            if (ev or {}).get("Type") == "SQS":
                p = ev.get("Properties") or {}
                consumers.setdefault(ref_name(p.get("Queue")), []).append((name_of.get(lid), p, f"{lid}.{ev_name}"))
    declared = set()
    for q in m["queues"]:
        lid = targets.get(q["url_variable"])
        if not rep.check(lid in queues, "queues", f"{q['url_variable']} must be !Ref of a queue of this stack, is {lid!r}"):
            continue
        declared.add(lid)
        p = queues[lid].get("Properties", {})
        rep.check(sub_text(p.get("QueueName")) == QUEUE_NAME.format(q["name"]), "queues",
                  f"{lid}: QueueName must be !Sub {QUEUE_NAME.format(q['name'])}")
        rp = p.get("RedrivePolicy") or {}
        rp = json.loads(rp) if isinstance(rp, str) else rp
        dlq = ref_name(rp.get("deadLetterTargetArn"))
        redrive_targets.add(dlq)
        dlq_name = sub_text((queues.get(dlq) or {}).get("Properties", {}).get("QueueName"))
        rep.check(dlq_name == QUEUE_NAME.format(q["dead_letter_queue"]), "queues",
                  f"{lid} must redrive to the queue {QUEUE_NAME.format(q['dead_letter_queue'])}, redrives to {dlq!r}")
        rep.check(rp.get("maxReceiveCount") == q["max_receive_count"], "queues",
                  f"{lid}: maxReceiveCount {rp.get('maxReceiveCount')!r} != the code's {q['max_receive_count']}")
        found = consumers.pop(lid, [])
        if not rep.check(len(found) == 1, "queues", f"{lid} must have exactly one consumer, has {[c[2] for c in found]}"):
            continue
        fn, mp, where = found[0]
        rep.check(fn == q["consumer"], "queues", f"{where}: {lid} is consumed by {fn}, the code says {q['consumer']}")
        rep.check(mp.get("BatchSize") == q["batch_size"], "queues", f"{where}: BatchSize must be {q['batch_size']}")
        rep.check("ReportBatchItemFailures" in as_list(mp.get("FunctionResponseTypes")), "queues",
                  f"{where}: FunctionResponseTypes must include ReportBatchItemFailures (consumers report failed records)")
        rep.check(mp.get("Enabled", True) is True, "queues", f"{where}: the mapping must be enabled")
    for q, found in consumers.items():
        rep.fail("queues", f"{[c[2] for c in found]} consume {q!r}, which is not a queue of the code")
    dead_letters = {ref_name(function_props(t, r.get("Properties", {})).get("DeadLetterQueue", {}).get("TargetArn"))
                    for r in resources_of(t, "AWS::Serverless::Function").values()}
    for lid in sorted(set(queues) - declared - dead_letters - redrive_targets):
        rep.fail("queues", f"{lid} is neither a queue of the code nor a dead-letter queue")
    return len(declared)


def check_schedules(t: dict, m: dict, lids: dict[str, str], rep: Report) -> None:
    name_of = {lid: name for name, lid in lids.items()}
    found: dict[str, list] = {}
    for lid, r in resources_of(t, "AWS::Scheduler::Schedule").items():
        p = r.get("Properties", {})
        target = p.get("Target") or {}
        fn = name_of.get(ref_name(target.get("Arn")) or "")
        if not rep.check(fn is not None, "schedules", f"{lid}: Target.Arn must be !GetAtt of a function of this stack"):
            continue
        found.setdefault(fn, []).append(p.get("ScheduleExpression"))
        rep.check(p.get("State", "ENABLED") == "ENABLED", "schedules", f"{lid} must be ENABLED")
        try:
            event = json.loads(sub_text(target.get("Input")) or "")
        except json.JSONDecodeError:
            event = None
        rep.check(isinstance(event, dict) and {"detail-type", "source", "detail"} <= set(event), "schedules",
                  f"{lid}: Target.Input must be the EventBridge-shaped event the handlers read (detail-type, source, detail)")
    for lid, r in resources_of(t, "AWS::Serverless::Function").items():
        for ev_name, ev in (r.get("Properties", {}).get("Events") or {}).items():
            if (ev or {}).get("Type") in ("Schedule", "ScheduleV2", "EventBridgeRule", "CloudWatchEvent"):
                rep.fail("schedules", f"{lid}.{ev_name}: schedules are AWS::Scheduler::Schedule resources")
    want = {s["function"]: [s["expression"]] for s in m["schedules"]}
    for fn in sorted(set(want) | set(found)):
        rep.check(found.get(fn) == want.get(fn), "schedules", f"{fn} runs on {found.get(fn)}, the code says {want.get(fn)}")


def check_topics(t: dict, m: dict, lids: dict[str, str], rep: Report) -> int:
    topics = resources_of(t, "AWS::SNS::Topic")
    name_of = {lid: name for name, lid in lids.items()}
    heard: dict[str, list[tuple[str, str]]] = {}  # topic logical id -> [(function, where)]
    for lid, r in resources_of(t, "AWS::Serverless::Function").items():
        for ev_name, ev in (r.get("Properties", {}).get("Events") or {}).items():
            if (ev or {}).get("Type") == "SNS":
                topic = ref_name((ev.get("Properties") or {}).get("Topic")) or "?"
                heard.setdefault(topic, []).append((name_of.get(lid, lid), f"{lid}.{ev_name}"))
    for lid, r in resources_of(t, "AWS::Lambda::Permission").items():
        if "sns" in str((r.get("Properties") or {}).get("Principal", "")):
            rep.fail("topics", f"{lid}: subscribe functions to topics with an SNS event of the function")
    for topic in m["topics"]:
        want = QUEUE_NAME.format(topic["name"])
        found = [lid for lid, r in topics.items() if sub_text(r.get("Properties", {}).get("TopicName")) == want]
        if not rep.check(len(found) == 1, "topics", f"the topic {topic['name']} must be one AWS::SNS::Topic named !Sub {want}"):
            continue
        subscribers = heard.pop(found[0], [])
        rep.check([fn for fn, _ in subscribers] == [topic["subscriber"]], "topics",
                  f"{found[0]} must invoke exactly {topic['subscriber']}, invokes {[w for _, w in subscribers]}")
    for topic, subscribers in heard.items():
        rep.fail("topics", f"{[w for _, w in subscribers]} hear {topic!r}, which is not a topic of the code")
    return len(m["topics"])


def check_throttling(t: dict, m: dict, rep: Report) -> int:
    apis = [r.get("Properties", {}) for r in resources_of(t, "AWS::Serverless::HttpApi").values()]
    if len(apis) != 1:
        return 0  # check_routes reports it

    def limits(settings) -> tuple | None:
        settings = settings if isinstance(settings, dict) else {}
        rate, burst = settings.get("ThrottlingRateLimit"), settings.get("ThrottlingBurstLimit")
        ok = all(isinstance(x, (int, float)) and not isinstance(x, bool) and x > 0 for x in (rate, burst))
        return (rate, burst) if ok else None

    default = limits(apis[0].get("DefaultRouteSettings"))
    if not rep.check(default is not None, "throttling", "the HTTP API needs DefaultRouteSettings with both throttling limits > 0"):
        return 0
    settings = apis[0].get("RouteSettings") or {}
    keys = {route_key(r) for r in m["routes"]}
    public = {route_key(r) for r in m["routes"] if r["access"] == "public"}
    for key in sorted(THROTTLED_JWT_ROUTES - keys):
        rep.fail("throttling", f"{key} (THROTTLED_JWT_ROUTES) is not a route of the table; update the checker")
    for key in sorted(public | THROTTLED_JWT_ROUTES):
        got = limits(settings.get(key))
        rep.check(got is not None and got[0] < default[0] and got[1] < default[1], "throttling",
                  f"{key} needs RouteSettings with both limits below the stage default {default}, has {got}")
    for key, value in settings.items():
        # A route setting for a route the API lacks fails the deploy ("Unable to find Route by key").
        rep.check(key in keys, "throttling", f"RouteSettings names {key!r}, which is not a route of the table")
        got = limits(value)
        rep.check(got is not None and got[0] <= default[0] and got[1] <= default[1], "throttling",
                  f"RouteSettings {key!r} must set both limits, at most the stage default")
    return len(settings)


def check_web(t: dict, m: dict, rep: Report) -> None:
    for lid, r in resources_of(t, "AWS::CloudFront::Distribution").items():
        behaviours = r.get("Properties", {}).get("DistributionConfig", {}).get("CacheBehaviors", [])
        api = [b.get("PathPattern", "") for b in behaviours if b.get("TargetOriginId") == "api"]
        for route in m["routes"]:
            rep.check(any(fnmatch.fnmatchcase(route["path"], p) for p in api), "web",
                      f"{lid} does not pass {route['method']} {route['path']} to the API")


def check_basics(t: dict, rep: Report) -> None:
    rep.check(t.get("Transform") == "AWS::Serverless-2016-10-31", "template", "Transform must be AWS::Serverless-2016-10-31")
    for p in DUMMY_PARAMETERS:
        rep.check(p in t.get("Parameters", {}), "template", f"parameter {p} is missing")
    for o in OUTPUTS:
        rep.check(o in t.get("Outputs", {}), "template", f"output {o} is missing")


def check_samconfig(t: dict, path: Path, rep: Report) -> int:
    import tomllib

    conf = tomllib.loads(path.read_text(encoding="utf-8"))
    params = t.get("Parameters", {})
    envs = {name: v for name, v in conf.items() if isinstance(v, dict)}
    rep.check("default" in envs, "samconfig", "samconfig.toml needs a `default` config env")
    for env, sections in envs.items():
        deploy, where = (sections.get("deploy") or {}).get("parameters") or {}, f"[{env}.deploy.parameters]"
        if not rep.check(bool(deploy), "samconfig", f"{where} is missing"):
            continue
        values = dict(item.partition("=")[::2] for item in shlex.split(deploy.get("parameter_overrides", "")))
        for key, value in values.items():
            spec = params.get(key)
            if not rep.check(spec is not None, "samconfig", f"{where}: {key} is not a template parameter"):
                continue
            allowed = [str(x) for x in spec.get("AllowedValues", [])]
            rep.check(not allowed or value in allowed, "samconfig", f"{where}: {key}={value!r} is not one of {allowed}")
            pattern = spec.get("AllowedPattern")
            rep.check(not pattern or re.fullmatch(pattern, value) is not None, "samconfig", f"{where}: {key}={value!r} does not match {pattern}")
        for key, spec in params.items():
            rep.check("Default" in spec or key in values, "samconfig", f"{where}: required parameter {key} is not set")
        want_stack = f"feedback-{values.get('RegionCode', '?')}-{values.get('Stage', params.get('Stage', {}).get('Default'))}"
        rep.check(deploy.get("stack_name") == want_stack, "samconfig", f"{where}: stack_name must be {want_stack}")
        rep.check("CAPABILITY_IAM" in str(deploy.get("capabilities", "")), "samconfig", f"{where}: capabilities must include CAPABILITY_IAM")
    return len(envs)


def run_checks(t: dict, m: dict, samconfig: Path | None = SAMCONFIG) -> tuple[Report, str]:
    """Every check; the report and a summary of what was compared."""
    rep = Report()
    check_basics(t, rep)
    lids = check_functions(t, m, rep)
    targets = variable_targets(t, lids, rep)
    n_routes = check_routes(t, m, lids, rep)
    check_table(t, m, rep)
    n_queues = check_queues(t, m, lids, targets, rep)
    n_grants = check_iam(t, translate(t, rep), m, lids, targets, rep)
    check_schedules(t, m, lids, rep)
    n_topics = check_topics(t, m, lids, rep)
    n_settings = check_throttling(t, m, rep)
    check_web(t, m, rep)
    n_envs = check_samconfig(t, samconfig, rep) if samconfig else 0
    summary = (f"{n_routes} API routes, {len(lids)} functions with their variables, the table with "
               f"{len(m['table']['GlobalSecondaryIndexes'])} GSIs, {n_grants} grants, {n_queues} consumed queues, "
               f"{len(m['schedules'])} schedules, {n_topics} topics, {n_settings} throttled routes, {n_envs} samconfig envs")
    return rep, summary


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("manifest", nargs="?", help="`feedback manifest --json` output (default: run the built binary)")
    ap.add_argument("--template", type=Path, default=DEFAULT_TEMPLATE)
    args = ap.parse_args()
    rep, summary = run_checks(load_template(args.template), load_manifest(args.manifest))
    if rep.errors:
        print(f"check_template: {args.template}: {len(rep.errors)} problem(s):", file=sys.stderr)
        for e in rep.errors:
            print(f"  - {e}", file=sys.stderr)
        return 1
    print(f"check_template: ok: the template agrees with the code: {summary}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
