#!/usr/bin/env python3
"""Checks infra/template.yaml against the code, then runs cfn-lint on it.

    python infra/check_template.py [ROUTES_JSON] [--template PATH] [--skip-cfn-lint]

ROUTES_JSON is the output of `cargo run -q -p feedback-local -- routes`; without it the script
runs that command itself. Needs python3, PyYAML, aws-sam-translator and cfn-lint (the last two
from pip; cfn-lint is looked up next to this interpreter first, then on PATH). Offline.

What it asserts, and where the truth comes from:
  routes     every route of shared/lambda-kit/src/routes.rs is exactly one HttpApi event on the
             function named (or, for a route API Gateway cannot express, such as Open311's
             `services.{format}`, the greedy proxy event its `gateway` key names), public routes
             with `Authorizer: NONE`, the others with the JWT authorizer; no other API events; no
             dev routes
  functions  every crate in functions/ is declared once (and nothing else): provided.al2023,
             bootstrap, the Architecture parameter, its cargo-lambda zip, Timeout < 30 for HTTP
             functions, the environment its main.rs requires
  table      key schema and GSIs equal feedback_aws::create_table (shared/aws/src/dynamo.rs),
             on-demand, PITR, SSE, TTL on `ttl`, DeletionPolicy Retain
  iam        on the SAM-translated template: no dynamodb:Scan / dynamodb:* / "*" actions, no
             wildcard resources for dynamodb or sqs actions, no managed policies other than
             AWSLambdaBasicExecutionRole, and each function's DynamoDB/SQS/S3/SSM grants equal
             the reviewed table GRANTS below
  queues     VisibilityTimeout >= 6 x the consumer's Timeout, a DLQ with maxReceiveCount >= 5,
             the consumer reads the queue its producers are given; every asynchronously invoked
             function (a schedule's target) sends what fails to an SQS DLQ of this stack
  mappings   SQS event source mappings: batch size 10, ReportBatchItemFailures
  schedules  close-polls every minute, escalate-overdue every 5 minutes
  throttling the HTTP API stage has default throttling (rate and burst), every public route and
             every route of THROTTLED_JWT_ROUTES has tighter route settings, and every route
             setting names a route of the table
  concurrency every function reserves concurrency, a scheduled one exactly 1; an SQS mapping
             invokes its consumer at most as often at once as the consumer reserves
  encryption one KMS key, rotated and retained, encrypts the table, every queue, every log group,
             every function's environment and the alarm topic
  alarms     every DLQ's depth (redrive targets and functions' DLQs alike), each function's Errors
             and Throttles, the HTTP API's 5xx; every alarm notifies the AlarmTopicArn topic or
             the stack's own
  samconfig  every config env of infra/samconfig.toml sets every required parameter, only known
             ones, with values the template's constraints accept, and a matching stack name
  web        one CloudFront distribution: the portal's private bucket through origin access control
             with the SPA routing function, and every route of the table passed to the HTTP API
             uncached with the viewer's headers; the outputs infra/deploy_web.py reads
Exit status 0 with a one-line summary, or 1 with every failure listed.
"""

from __future__ import annotations

import argparse
import copy
import fnmatch
import json
import os
import re
import shlex
import shutil
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
# SAM event types whose invocations are asynchronous (Lambda's DLQ and destinations apply).
ASYNC_EVENT_TYPES = {"Schedule", "ScheduleV2", "EventBridgeRule", "CloudWatchEvent", "SNS", "S3", "IoTRule", "CloudWatchLogs"}
MIN_VISIBILITY_FACTOR = 6
MIN_MAX_RECEIVE_COUNT = 5
BATCH_SIZE = 10
JWT_IDENTITY_SOURCE = "$request.header.Authorization"
DEV_PATH_PREFIXES = ("/v1/dev/", "/local-blobs/")
ALLOWED_MANAGED_POLICIES = {"AWSLambdaBasicExecutionRole"}

# Queue each consumer reads, and the environment variable its producers get the URL from.
CONSUMERS = {"route-messages": "SUBMITTED_QUEUE_URL", "notify": "NOTIFICATIONS_QUEUE_URL"}
# Scheduled functions and their rates.
SCHEDULES = {"close-polls": "rate(1 minute)", "escalate-overdue": "rate(5 minutes)"}

# The reviewed least-privilege grants (data-plane actions only; the SQS poller actions of the
# consumers are checked separately). Derived from the ports each function's main.rs wires and
# the SDK calls in shared/aws/src: TransactWriteItems is authorised per contained item, so a
# Put-only transaction needs dynamodb:PutItem, the ballot transaction also UpdateItem (tally
# ADDs) and ConditionCheckItem (poll open), and every transaction that writes a message also
# UpdateItem (the analytics counter ADDs of shared/aws/src/counters.rs). analytics only reads:
# GetItem (reference data, poll, results) and Query (counter ranges, tally shards), never a
# Scan (`feedback reconcile` scans offline with the operator's credentials, not a function's).
# Functions that commit message transitions also DeleteItem: they relay the transition's outbox
# items to SQS and then delete them (shared/aws/src/outbox.rs).
# Change this table together with the template.
GRANTS: dict[str, dict[str, set[str]]] = {
    "submit-message": {
        "dynamodb": {
            "dynamodb:GetItem",
            "dynamodb:PutItem",
            "dynamodb:Query",
            "dynamodb:UpdateItem",
            "dynamodb:DeleteItem",
        },
        "sqs:SendMessage": {"SUBMITTED_QUEUE_URL", "NOTIFICATIONS_QUEUE_URL"},
        "s3": {"s3:PutObject", "s3:GetObject"},
    },
    "route-messages": {
        "dynamodb": {
            "dynamodb:GetItem",
            "dynamodb:PutItem",
            "dynamodb:Query",
            "dynamodb:UpdateItem",
            "dynamodb:DeleteItem",
        },
        "sqs:SendMessage": {"NOTIFICATIONS_QUEUE_URL"},
    },
    "handle-messages": {
        "dynamodb": {
            "dynamodb:GetItem",
            "dynamodb:PutItem",
            "dynamodb:Query",
            "dynamodb:UpdateItem",
            "dynamodb:DeleteItem",
        },
        "sqs:SendMessage": {"NOTIFICATIONS_QUEUE_URL"},
    },
    "escalate-overdue": {
        "dynamodb": {
            "dynamodb:GetItem",
            "dynamodb:PutItem",
            "dynamodb:Query",
            "dynamodb:UpdateItem",
            "dynamodb:DeleteItem",
        },
        "sqs:SendMessage": {"SUBMITTED_QUEUE_URL", "NOTIFICATIONS_QUEUE_URL"},
        "s3": {"s3:DeleteObject"},
    },
    "reference-data": {"dynamodb": {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query"}},
    # open311 reads the public index and key look-ups, and writes a new message like submit-message.
    "open311": {
        "dynamodb": {
            "dynamodb:GetItem",
            "dynamodb:PutItem",
            "dynamodb:Query",
            "dynamodb:UpdateItem",
            "dynamodb:DeleteItem",
        },
        "sqs:SendMessage": {"SUBMITTED_QUEUE_URL"},
    },
    "analytics": {"dynamodb": {"dynamodb:GetItem", "dynamodb:Query"}},
    "notify": {"dynamodb": {"dynamodb:PutItem"}},
    "polls": {
        "dynamodb": {
            "dynamodb:GetItem",
            "dynamodb:PutItem",
            "dynamodb:Query",
            "dynamodb:UpdateItem",
            "dynamodb:ConditionCheckItem",
        },
        "ssm": {"ssm:GetParameter"},
        "kms": {"kms:Decrypt"},
    },
    "close-polls": {
        "dynamodb": {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query"},
        "ssm": {"ssm:GetParameter"},
        "kms": {"kms:Decrypt"},
    },
}
SQS_POLLER_ACTIONS = {"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"}

# Environment each function reads according to its main.rs: the `feedback_aws::Stack` accessors it
# calls (shared/aws/src/stack.rs), pattern in main.rs -> variables.
ENV_FROM_MAIN = {
    "stack.queue()": ("SUBMITTED_QUEUE_URL", "NOTIFICATIONS_QUEUE_URL"),
    "stack.submitted_queue()": ("SUBMITTED_QUEUE_URL",),
    "stack.photo_blobs()": ("PHOTOS_BUCKET",),
    "stack.voter_secret()": ("VOTER_SECRET_PARAM",),
}

DUMMY_PARAMETERS = {
    "RegionCode": "72",
    "Stage": "prod",
    "OidcIssuer": "https://idp.example/realms/region-72",
    "OidcAudience": "feedback",
    "VoterSecretParameterName": "/feedback/72/prod/voter-secret",
}


# ------------------------------------------------------------------------------------------------
# Loading
# ------------------------------------------------------------------------------------------------


class CfnLoader(yaml.SafeLoader):
    """SafeLoader that understands CloudFormation's short-form intrinsic function tags."""


def _construct_cfn(loader: yaml.Loader, tag_suffix: str, node: yaml.Node):
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    if tag_suffix == "Ref":
        return {"Ref": value}
    if tag_suffix == "Condition":
        return {"Condition": value}
    if tag_suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {f"Fn::{tag_suffix}": value}


CfnLoader.add_multi_constructor("!", _construct_cfn)


def load_template(path: Path) -> dict:
    with path.open(encoding="utf-8") as f:
        doc = yaml.load(f, Loader=CfnLoader)  # noqa: S506 - SafeLoader subclass
    if not isinstance(doc, dict) or "Resources" not in doc:
        raise SystemExit(f"check_template: {path} is not a CloudFormation template")
    return doc


def load_routes(arg: str | None) -> list[dict]:
    if arg:
        text = Path(arg).read_text(encoding="utf-8")
        source = arg
    else:
        cmd = ["cargo", "run", "-q", "-p", "feedback-local", "--", "routes"]
        try:
            proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False)
        except FileNotFoundError:
            raise SystemExit("check_template: cargo not found; pass the routes JSON file as the first argument")
        if proc.returncode != 0:
            raise SystemExit(f"check_template: `{' '.join(cmd)}` failed:\n{proc.stderr}")
        text, source = proc.stdout, " ".join(cmd)
    try:
        routes = json.loads(text)
    except json.JSONDecodeError as e:
        raise SystemExit(f"check_template: the route table from {source} is not JSON: {e}")
    for r in routes:
        if not {"method", "path", "function", "access"} <= set(r):
            raise SystemExit(f"check_template: malformed route in {source}: {r}")
    if not routes:
        raise SystemExit(f"check_template: the route table from {source} is empty")
    return routes


def function_crates() -> dict[str, Path]:
    """Function name -> crate dir. The package name must equal the directory name."""
    crates = {}
    for manifest in sorted((ROOT / "functions").glob("*/Cargo.toml")):
        text = manifest.read_text(encoding="utf-8")
        m = re.search(r'^\[package\][^\[]*?^name\s*=\s*"([^"]+)"', text, re.M | re.S)
        name = m.group(1) if m else manifest.parent.name
        crates[name] = manifest.parent
    return crates


def expected_table_schema() -> dict:
    """Parses feedback_aws::create_table so the check follows the code, not a copy of it."""
    src_path = ROOT / "shared" / "aws" / "src" / "dynamo.rs"
    src = src_path.read_text(encoding="utf-8")
    start = src.find("pub async fn create_table")
    if start < 0:
        raise SystemExit(f"check_template: create_table not found in {src_path}; update this checker")
    body = src[start : src.find("\n}\n", start)]
    attrs = re.findall(r'\.attribute_definitions\(attr\("([^"]+)"\)', body)
    keys = re.findall(r'\.key_schema\(key\("([^"]+)",\s*KeyType::(Hash|Range)\)', body)
    gsis = re.findall(r'\.global_secondary_indexes\(gsi\("([^"]+)"\)', body)
    # The gsi closure: `{name}PK` HASH, `{name}SK` RANGE, projection ALL.
    closure_ok = all(
        s in body for s in ('format!("{name}PK"), KeyType::Hash', 'format!("{name}SK"), KeyType::Range', "ProjectionType::All")
    )
    billing = "PAY_PER_REQUEST" if "BillingMode::PayPerRequest" in body else None
    if not attrs or not keys or not closure_ok or "ScalarAttributeType::S" not in body:
        raise SystemExit(
            f"check_template: could not read the key schema from create_table in {src_path}; "
            "it changed shape, so update expected_table_schema() in this checker"
        )
    return {
        "attributes": {(a, "S") for a in attrs},
        "key_schema": [(k, "HASH" if t == "Hash" else "RANGE") for k, t in keys],
        "gsis": {g: ([(f"{g}PK", "HASH"), (f"{g}SK", "RANGE")], "ALL") for g in gsis},
        "billing": billing,
    }


# ------------------------------------------------------------------------------------------------
# Helpers over the template
# ------------------------------------------------------------------------------------------------


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
    """Logical id behind `!Ref X` or `!GetAtt X.Attr`, else None."""
    if isinstance(v, dict):
        if "Ref" in v:
            return v["Ref"]
        if "Fn::GetAtt" in v:
            ga = v["Fn::GetAtt"]
            return ga[0] if isinstance(ga, list) else str(ga).split(".", 1)[0]
    return None


def effective_function_props(template: dict, props: dict) -> dict:
    """A function's properties with SAM Globals applied (maps merge, scalars override)."""
    merged = copy.deepcopy(template.get("Globals", {}).get("Function", {}))

    def merge(base, over):
        if isinstance(base, dict) and isinstance(over, dict):
            out = dict(base)
            for k, v in over.items():
                out[k] = merge(base.get(k), v) if k in base else v
            return out
        return over

    return merge(merged, props)


def function_name_of(props: dict) -> str | None:
    """The cargo-lambda function a resource deploys, read from its CodeUri."""
    uri = props.get("CodeUri")
    if isinstance(uri, str):
        m = re.fullmatch(r"\.\./target/lambda/([A-Za-z0-9_-]+)/bootstrap\.zip", uri)
        if m:
            return m.group(1)
    return None


def function_failure_targets(props: dict) -> list:
    """Where Lambda sends a function's failed asynchronous invocations: its SQS DeadLetterQueue
    and its SQS on-failure destination (raw template values)."""
    targets = []
    dlq = props.get("DeadLetterQueue") or {}
    if dlq.get("Type") == "SQS" and dlq.get("TargetArn") is not None:
        targets.append(dlq["TargetArn"])
    on_failure = ((props.get("EventInvokeConfig") or {}).get("DestinationConfig") or {}).get("OnFailure") or {}
    if on_failure.get("Type") == "SQS" and on_failure.get("Destination") is not None:
        targets.append(on_failure["Destination"])
    return targets


def dead_letter_queues(t: dict) -> dict:
    """Every dead-letter queue of the template (logical id, or None where the target is not a
    reference) -> the queues and functions that send to it."""
    out: dict = {}
    for lid, r in t["Resources"].items():
        p = r.get("Properties", {}) or {}
        if r.get("Type") == "AWS::SQS::Queue":
            rp = p.get("RedrivePolicy")
            if isinstance(rp, str):
                rp = json.loads(rp)
            if rp:
                out.setdefault(ref_name(rp.get("deadLetterTargetArn")), []).append(lid)
        elif r.get("Type") == "AWS::Serverless::Function":
            for target in function_failure_targets(effective_function_props(t, p)):
                out.setdefault(ref_name(target), []).append(lid)
    return out


def async_functions(t: dict, functions: dict[str, str]) -> dict[str, str]:
    """Functions invoked asynchronously -> by what: EventBridge Scheduler targets and SAM events
    of an asynchronous type."""
    res = t["Resources"]
    out = {}
    for lid, r in res.items():
        if r.get("Type") == "AWS::Scheduler::Schedule":
            target = ref_name(((r.get("Properties") or {}).get("Target") or {}).get("Arn"))
            if target in functions:
                out[target] = lid
    for lid in functions:
        for ev_name, ev in (res[lid].get("Properties", {}).get("Events") or {}).items():
            if (ev or {}).get("Type") in ASYNC_EVENT_TYPES:
                out[lid] = f"{lid}.{ev_name}"
    return out


def refs_topic(v, res: dict) -> bool:
    """True when an alarm action is the AlarmTopicArn parameter or an SNS topic of this stack, or
    an !If whose branches both are."""
    if isinstance(v, dict) and "Fn::If" in v:
        branches = v["Fn::If"][1:] if isinstance(v["Fn::If"], list) else []
        return len(branches) == 2 and all(refs_topic(b, res) for b in branches)
    name = ref_name(v)
    return name == "AlarmTopicArn" or res.get(name or "", {}).get("Type") == "AWS::SNS::Topic"


def raw_text(v) -> str | None:
    """A plain string, or the string of a `!Sub`, else None."""
    if isinstance(v, str):
        return v
    if isinstance(v, dict) and "Fn::Sub" in v:
        s = v["Fn::Sub"]
        s = s[0] if isinstance(s, list) else s
        return s if isinstance(s, str) else None
    return None


def sub_text(v) -> str | None:
    """A plain/Sub string with its ${...} placeholders blanked, for wildcard inspection."""
    s = raw_text(v)
    return None if s is None else re.sub(r"\$\{[^}]+\}", "X", s)


# ------------------------------------------------------------------------------------------------
# Checks
# ------------------------------------------------------------------------------------------------


def check_routes(t: dict, routes: list[dict], functions: dict[str, str], rep: Report) -> int:
    res = t["Resources"]
    apis = [lid for lid, r in res.items() if r.get("Type") == "AWS::Serverless::HttpApi"]
    if not rep.check(len(apis) == 1, "routes", f"expected one AWS::Serverless::HttpApi, found {apis}"):
        return 0
    api_id = apis[0]
    api = res[api_id].get("Properties", {})
    # Every function admits only tokens of the region the stage names (feedback_core::policy::admit).
    stage_region = (api.get("StageVariables") or {}).get("region")
    rep.check(
        ref_name(stage_region) == "RegionCode",
        "routes",
        f"{api_id} must set the stage variable `region` to !Ref RegionCode, found {stage_region!r}",
    )
    auth = api.get("Auth", {})
    jwt_authorizers = {
        name
        for name, a in (auth.get("Authorizers") or {}).items()
        if isinstance(a, dict) and "JwtConfiguration" in a
    }
    rep.check(len(jwt_authorizers) == 1, "routes", f"expected one JWT authorizer on {api_id}, found {jwt_authorizers}")
    for name in jwt_authorizers:
        a = auth["Authorizers"][name]
        jc = a["JwtConfiguration"]
        rep.check(
            a.get("IdentitySource") == JWT_IDENTITY_SOURCE,
            "routes",
            f"authorizer {name}: IdentitySource must be {JWT_IDENTITY_SOURCE}",
        )
        rep.check(ref_name(jc.get("issuer")) == "OidcIssuer", "routes", f"authorizer {name}: issuer must be !Ref OidcIssuer")
        rep.check(
            any(ref_name(x) == "OidcAudience" for x in as_list(jc.get("audience"))),
            "routes",
            f"authorizer {name}: audience must include !Ref OidcAudience",
        )
    default_auth = auth.get("DefaultAuthorizer")
    rep.check(api.get("StageName", "$default") == "$default", "routes", f"{api_id}: StageName must be $default")

    # Every API event in the template.
    events = []  # (function, key, authorizer, logical ids)
    for lid, r in res.items():
        if r.get("Type") != "AWS::Serverless::Function":
            continue
        fn = functions.get(lid, lid)
        for ev_name, ev in (r.get("Properties", {}).get("Events") or {}).items():
            etype = ev.get("Type")
            if etype == "Api":
                rep.fail("routes", f"{lid}.{ev_name}: REST `Api` events are not used; routes are HttpApi events")
                continue
            if etype != "HttpApi":
                continue
            p = ev.get("Properties") or {}
            if not rep.check(ref_name(p.get("ApiId")) == api_id, "routes", f"{lid}.{ev_name}: ApiId must be !Ref {api_id}"):
                continue
            method, path = str(p.get("Method", "")).upper(), p.get("Path", "")
            authorizer = (p.get("Auth") or {}).get("Authorizer", default_auth)
            events.append((fn, f"{method} {path}", authorizer, f"{lid}.{ev_name}"))

    by_key: dict[str, list] = {}
    for e in events:
        by_key.setdefault(e[1], []).append(e)
        if e[1].split(" ", 1)[-1].startswith(DEV_PATH_PREFIXES):
            rep.fail("routes", f"{e[3]}: dev route {e[1]} must not exist on AWS")
    wanted = {}
    for r in routes:
        # A route API Gateway cannot express is delivered by the greedy proxy route its `gateway`
        # key names; several table routes then share that one event.
        key = r.get("gateway") or f"{r['method'].upper()} {r['path']}"
        if not rep.check(
            re.fullmatch(r"[A-Z]+ (/[A-Za-z0-9._-]+|/\{[a-z_]+\}|/\{proxy\+\})+", key) is not None
            and (key.count("{proxy+}") == 0 or (key.count("{proxy+}") == 1 and key.endswith("/{proxy+}"))),
            "routes",
            f"{key} is not a valid HTTP API route key (path variables must be whole segments)",
        ):
            continue
        if key in wanted:
            rep.check(wanted[key]["function"] == r["function"], "routes", f"{key} serves two functions")
            continue
        wanted[key] = r
        found = by_key.get(key, [])
        if not found:
            rep.fail("routes", f"{key} ({r['function']}, {r['access']}) has no HttpApi event")
            continue
        if len(found) > 1:
            rep.fail("routes", f"{key} is declared {len(found)} times: {[e[3] for e in found]}")
        fn, _, authorizer, where = found[0]
        rep.check(fn == r["function"], "routes", f"{key} is on {fn} ({where}), the route table says {r['function']}")
        if r["access"] == "public":
            rep.check(authorizer == "NONE", "routes", f"{key} is public: {where} needs `Auth: Authorizer: NONE`")
        else:
            rep.check(
                authorizer in jwt_authorizers,
                "routes",
                f"{key} needs a token: {where} must use the JWT authorizer, not {authorizer!r}",
            )
    for key, found in by_key.items():
        if key not in wanted:
            rep.fail("routes", f"{key} ({found[0][3]}) is not in the route table (shared/lambda-kit/src/routes.rs)")
    return len(wanted)


def check_functions(t: dict, crates: dict[str, Path], rep: Report) -> dict[str, str]:
    """Returns logical id -> function name for the declared functions."""
    res = t["Resources"]
    declared: dict[str, str] = {}
    for lid, r in res.items():
        if r.get("Type") == "AWS::Lambda::Function":
            rep.fail("functions", f"{lid}: declare functions as AWS::Serverless::Function")
        if r.get("Type") != "AWS::Serverless::Function":
            continue
        props = effective_function_props(t, r.get("Properties", {}))
        fn = function_name_of(props)
        if not rep.check(
            fn is not None,
            "functions",
            f"{lid}: CodeUri must be ../target/lambda/<function>/bootstrap.zip (scripts/package.sh output)",
        ):
            continue
        if fn in declared.values():
            rep.fail("functions", f"{fn} is declared more than once")
        declared[lid] = fn
        if fn not in crates:
            rep.fail("functions", f"{lid} deploys {fn}, but there is no crate functions/{fn}")
            continue
        rep.check(props.get("Runtime") == "provided.al2023", "functions", f"{fn}: Runtime must be provided.al2023")
        rep.check(props.get("Handler") == "bootstrap", "functions", f"{fn}: Handler must be bootstrap")
        rep.check(props.get("PackageType", "Zip") == "Zip", "functions", f"{fn}: PackageType must be Zip")
        archs = as_list(props.get("Architectures"))
        rep.check(
            len(archs) == 1 and ref_name(archs[0]) == "Architecture",
            "functions",
            f"{fn}: Architectures must be [!Ref Architecture]",
        )
        timeout = props.get("Timeout", 3)
        is_http = any((e or {}).get("Type") == "HttpApi" for e in (props.get("Events") or {}).values())
        if not isinstance(timeout, int):
            rep.fail("functions", f"{fn}: Timeout must be a literal number")
        elif is_http:
            rep.check(
                timeout < HTTP_TIMEOUT_LIMIT,
                "functions",
                f"{fn} serves HTTP: Timeout {timeout} must be < {HTTP_TIMEOUT_LIMIT} (API Gateway's limit)",
            )
        env = (props.get("Environment") or {}).get("Variables") or {}
        needed = {"TABLE_NAME"}
        main_rs = crates[fn] / "src" / "main.rs"
        main = main_rs.read_text(encoding="utf-8") if main_rs.exists() else ""
        needed |= {var for pattern, names in ENV_FROM_MAIN.items() if pattern in main for var in names}
        for var in sorted(needed):
            rep.check(var in env, "functions", f"{fn}: {main_rs.relative_to(ROOT)} reads {var}, the template does not set it")
        rep.check(ref_name(env.get("TABLE_NAME")) == "Table", "functions", f"{fn}: TABLE_NAME must be !Ref Table")
        log_group = ref_name((props.get("LoggingConfig") or {}).get("LogGroup"))
        rep.check(
            log_group is not None and res.get(log_group, {}).get("Type") == "AWS::Logs::LogGroup",
            "functions",
            f"{fn}: LoggingConfig.LogGroup must reference an AWS::Logs::LogGroup of this stack",
        )
        if log_group in res:
            rep.check(
                ref_name(res[log_group].get("Properties", {}).get("RetentionInDays")) == "LogRetentionDays",
                "functions",
                f"{fn}: log group {log_group} must keep logs for !Ref LogRetentionDays",
            )
    for fn in sorted(set(crates) - set(declared.values())):
        rep.fail("functions", f"functions/{fn} is not declared in the template")
    return declared


def check_table(t: dict, rep: Report) -> str | None:
    res = t["Resources"]
    tables = [lid for lid, r in res.items() if r.get("Type") in ("AWS::DynamoDB::Table", "AWS::Serverless::SimpleTable")]
    if not rep.check(len(tables) == 1, "table", f"expected exactly one DynamoDB table, found {tables}"):
        return None
    lid = tables[0]
    r = res[lid]
    if not rep.check(r["Type"] == "AWS::DynamoDB::Table", "table", f"{lid}: use AWS::DynamoDB::Table"):
        return lid
    p = r.get("Properties", {})
    want = expected_table_schema()
    attrs = {(a.get("AttributeName"), a.get("AttributeType")) for a in p.get("AttributeDefinitions", [])}
    rep.check(attrs == want["attributes"], "table", f"AttributeDefinitions {sorted(attrs)} != create_table's {sorted(want['attributes'])}")
    ks = [(k.get("AttributeName"), k.get("KeyType")) for k in p.get("KeySchema", [])]
    rep.check(ks == want["key_schema"], "table", f"KeySchema {ks} != create_table's {want['key_schema']}")
    gsis = {}
    for g in p.get("GlobalSecondaryIndexes", []):
        gsis[g.get("IndexName")] = (
            [(k.get("AttributeName"), k.get("KeyType")) for k in g.get("KeySchema", [])],
            (g.get("Projection") or {}).get("ProjectionType"),
        )
    rep.check(
        gsis == want["gsis"],
        "table",
        f"GlobalSecondaryIndexes {sorted(gsis.items())} != create_table's {sorted(want['gsis'].items())}",
    )
    rep.check(not p.get("LocalSecondaryIndexes"), "table", "create_table declares no local secondary indexes")
    rep.check(p.get("BillingMode") == want["billing"], "table", f"BillingMode must be {want['billing']} (as create_table)")
    rep.check(
        (p.get("PointInTimeRecoverySpecification") or {}).get("PointInTimeRecoveryEnabled") is True,
        "table",
        "point-in-time recovery must be on",
    )
    rep.check((p.get("SSESpecification") or {}).get("SSEEnabled") is True, "table", "SSESpecification.SSEEnabled must be true")
    ttl = p.get("TimeToLiveSpecification") or {}
    rep.check(
        ttl.get("AttributeName") == "ttl" and ttl.get("Enabled") is True,
        "table",
        "TimeToLiveSpecification must be enabled on attribute `ttl`",
    )
    rep.check(r.get("DeletionPolicy") == "Retain", "table", "the table needs DeletionPolicy: Retain")
    rep.check(r.get("UpdateReplacePolicy") == "Retain", "table", "the table needs UpdateReplacePolicy: Retain")
    return lid


def translate(t: dict, rep: Report) -> dict | None:
    """The template after the SAM transform (policy templates and event policies expanded)."""
    try:
        from samtranslator.translator.transform import transform
    except ImportError:
        rep.fail("iam", "aws-sam-translator is not installed; cannot inspect the generated IAM roles")
        return None
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


def iam_statements(doc: dict):
    """Yields (where, role logical id or None, statement) for every policy in a template."""
    for lid, r in doc.get("Resources", {}).items():
        p = r.get("Properties", {}) or {}
        typ = r.get("Type")
        docs = []
        if typ == "AWS::IAM::Role":
            docs = [(f"{lid}.{pol.get('PolicyName')}", pol.get("PolicyDocument")) for pol in p.get("Policies", []) or []]
        elif typ in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
            docs = [(lid, p.get("PolicyDocument"))]
        for where, d in docs:
            for st in as_list((d or {}).get("Statement")):
                yield where, lid if typ == "AWS::IAM::Role" else None, st


def check_iam(t: dict, translated: dict | None, functions: dict[str, str], queue_of_env: dict[str, str],
              table: str | None, rep: Report) -> int:
    if translated is None:
        return 0
    res = translated["Resources"]
    count = 0
    granted: dict[str, dict[str, set]] = {}  # role -> action -> resources (as logical ids / text)
    for where, role, st in iam_statements(translated):
        count += 1
        if st.get("Effect") != "Allow":
            continue
        if "NotAction" in st or "NotResource" in st:
            rep.fail("iam", f"{where}: Allow statements with NotAction/NotResource are not allowed")
            continue
        actions = [a for a in as_list(st.get("Action")) if isinstance(a, str)]
        resources = as_list(st.get("Resource"))
        for a in actions:
            low = a.lower()
            if low == "*" or fnmatch.fnmatch("dynamodb:scan", low) and low != "dynamodb:scan":
                rep.fail("iam", f"{where}: action {a!r} is a wildcard that includes dynamodb:Scan")
            elif low == "dynamodb:scan":
                rep.fail("iam", f"{where}: grants dynamodb:Scan (no Scan anywhere)")
            elif low.startswith("dynamodb:") and "*" in low:
                rep.fail("iam", f"{where}: wildcard DynamoDB action {a!r}")
            if low.startswith(("dynamodb:", "sqs:")) or low == "*":
                for res_ in resources:
                    text = sub_text(res_)
                    if text is None:
                        continue
                    bare = re.sub(r"/index/\*$", "", text)
                    if "*" in bare:
                        rep.fail("iam", f"{where}: {a} on wildcard resource {text!r}")
            if role:
                granted.setdefault(role, {}).setdefault(a, set()).update(
                    ref_name(x) or raw_text(x) or json.dumps(x, sort_keys=True) for x in resources
                )
            if any(a.lower().startswith("kms:") for a in actions):
                cond = json.dumps(st.get("Condition") or {})
                rep.check("kms:ViaService" in cond, "iam", f"{where}: kms actions need a kms:ViaService condition")
    for lid, r in res.items():
        if r.get("Type") == "AWS::IAM::Role":
            for arn in as_list(r.get("Properties", {}).get("ManagedPolicyArns")):
                name = str(arn).rsplit("/", 1)[-1] if isinstance(arn, str) else json.dumps(arn)
                rep.check(
                    name in ALLOWED_MANAGED_POLICIES,
                    "iam",
                    f"{lid}: managed policy {name} is too broad to verify (declare explicit statements instead)",
                )

    # Per-function grants against the reviewed table.
    for lid, fn in functions.items():
        role = translated["Resources"].get(lid, {}).get("Properties", {}).get("Role")
        role_id = ref_name(role) if isinstance(role, dict) else None
        if role_id is None or role_id not in res:
            rep.fail("iam", f"{fn}: expected SAM to generate its role (no Role property)")
            continue
        g = granted.get(role_id, {})
        want = GRANTS.get(fn)
        if want is None:
            rep.fail("iam", f"{fn}: no reviewed grants in check_template.GRANTS; add them with the template")
            continue
        for service in ("dynamodb", "s3", "ssm", "kms"):
            have = {a for a in g if a.lower().startswith(service + ":")}
            expect = want.get(service, set())
            rep.check(
                {a.lower() for a in have} == {a.lower() for a in expect},
                "iam",
                f"{fn}: {service} actions {sorted(have)} != reviewed {sorted(expect)}",
            )
        for a in (a for a in g if a.lower().startswith("dynamodb:")):
            targets = g[a]
            for tgt in targets:
                ok = tgt == table or tgt == f"${{{table}.Arn}}/index/*"
                rep.check(ok, "iam", f"{fn}: {a} on {tgt!r}; only the table and its indexes")
        # SQS: sends only to the queues named in GRANTS; polling only on the consumed queue.
        sends = {x for a, v in g.items() if a.lower() == "sqs:sendmessage" for x in v}
        expect_sends = {queue_of_env.get(var) for var in want.get("sqs:SendMessage", set())}
        # SAM grants sqs:SendMessage on the function's own DLQ (failed asynchronous invocations).
        props = effective_function_props(t, t["Resources"][lid].get("Properties", {}))
        expect_sends |= {ref_name(x) for x in function_failure_targets(props)}
        rep.check(sends == expect_sends, "iam", f"{fn}: sqs:SendMessage on {sorted(map(str, sends))} != {sorted(map(str, expect_sends))}")
        other_sqs = {a for a in g if a.lower().startswith("sqs:") and a.lower() != "sqs:sendmessage"}
        if fn in CONSUMERS:
            consumed = queue_of_env.get(CONSUMERS[fn])
            missing = {a for a in SQS_POLLER_ACTIONS if a not in other_sqs}
            rep.check(not missing, "iam", f"{fn}: consumer role lacks {sorted(missing)}")
            for a in other_sqs:
                rep.check(g[a] == {consumed}, "iam", f"{fn}: {a} on {sorted(map(str, g[a]))}, only on {consumed}")
        else:
            rep.check(not other_sqs, "iam", f"{fn}: only consumers receive from queues, found {sorted(other_sqs)}")
        # S3 only on photos/*; SSM only on the voter secret.
        for a in (a for a in g if a.lower().startswith("s3:")):
            for tgt in g[a]:
                rep.check(
                    tgt == "${PhotosBucket.Arn}/photos/*",
                    "iam",
                    f"{fn}: {a} on {tgt!r}; only the photos bucket's photos/* prefix",
                )
        for a in (a for a in g if a.lower().startswith("ssm:")):
            for tgt in g[a]:
                rep.check(
                    isinstance(tgt, str) and tgt.endswith(":parameter${VoterSecretParameterName}"),
                    "iam",
                    f"{fn}: {a} on {tgt!r}; only the VoterSecretParameterName parameter",
                )
    return count


def check_queues(t: dict, functions: dict[str, str], rep: Report) -> tuple[int, dict[str, str]]:
    res = t["Resources"]
    queues = {lid: r.get("Properties", {}) for lid, r in res.items() if r.get("Type") == "AWS::SQS::Queue"}
    fn_props = {fn: effective_function_props(t, res[lid].get("Properties", {})) for lid, fn in functions.items()}
    lid_of = {fn: lid for lid, fn in functions.items()}

    # Which queue each producer variable points to (all functions must agree).
    queue_of_env: dict[str, str] = {}
    for fn, p in fn_props.items():
        for var, v in ((p.get("Environment") or {}).get("Variables") or {}).items():
            if var.endswith("_QUEUE_URL"):
                q = ref_name(v)
                if not rep.check(q in queues, "queues", f"{fn}: {var} must be !Ref of a queue in this stack"):
                    continue
                if queue_of_env.setdefault(var, q) != q:
                    rep.fail("queues", f"{fn}: {var} points to {q}, other functions to {queue_of_env[var]}")

    # Consumers: explicit mappings or SAM SQS events.
    consumers: dict[str, list[tuple[str, dict, str]]] = {}  # queue -> [(function, mapping props, where)]
    for lid, r in res.items():
        if r.get("Type") == "AWS::Lambda::EventSourceMapping":
            p = r.get("Properties", {})
            fn = functions.get(ref_name(p.get("FunctionName")) or "", None)
            q = ref_name(p.get("EventSourceArn"))
            if q in queues:
                if not rep.check(fn is not None, "mappings", f"{lid}: FunctionName must be !Ref of a function in this stack"):
                    continue
                consumers.setdefault(q, []).append((fn, p, lid))
    for lid, fn in functions.items():
        for ev_name, ev in (res[lid].get("Properties", {}).get("Events") or {}).items():
            if (ev or {}).get("Type") == "SQS":
                p = ev.get("Properties") or {}
                consumers.setdefault(ref_name(p.get("Queue")), []).append((fn, p, f"{lid}.{ev_name}"))

    dlqs = set(dead_letter_queues(t))
    for q, p in queues.items():
        if q in dlqs:
            rep.check(not p.get("RedrivePolicy"), "queues", f"{q} is a DLQ and must not redrive further")
            continue
        rp = p.get("RedrivePolicy")
        if isinstance(rp, str):
            rp = json.loads(rp)
        if rep.check(bool(rp), "queues", f"{q} has no RedrivePolicy (DLQ)"):
            target = ref_name(rp.get("deadLetterTargetArn"))
            rep.check(target in queues, "queues", f"{q}: deadLetterTargetArn must be !GetAtt of a queue in this stack")
            mrc = rp.get("maxReceiveCount")
            rep.check(
                isinstance(mrc, int) and mrc >= MIN_MAX_RECEIVE_COUNT,
                "queues",
                f"{q}: maxReceiveCount {mrc!r} must be >= {MIN_MAX_RECEIVE_COUNT}",
            )
        cons = consumers.get(q, [])
        if not rep.check(len(cons) == 1, "queues", f"{q} must have exactly one consumer, has {[c[2] for c in cons]}"):
            continue
        fn, mp, where = cons[0]
        timeout = fn_props[fn].get("Timeout", 3)
        vis = p.get("VisibilityTimeout", 30)
        rep.check(
            isinstance(vis, int) and isinstance(timeout, int) and vis >= MIN_VISIBILITY_FACTOR * timeout,
            "queues",
            f"{q}: VisibilityTimeout {vis} must be >= {MIN_VISIBILITY_FACTOR} x {fn}'s Timeout {timeout}",
        )
        rep.check(mp.get("BatchSize") == BATCH_SIZE, "mappings", f"{where}: BatchSize must be {BATCH_SIZE}")
        rep.check(
            "ReportBatchItemFailures" in as_list(mp.get("FunctionResponseTypes")),
            "mappings",
            f"{where}: FunctionResponseTypes must include ReportBatchItemFailures",
        )
        rep.check(mp.get("Enabled", True) is True, "mappings", f"{where}: the mapping must be enabled")
    for q in consumers:
        rep.check(q in queues, "mappings", f"an event source reads {q!r}, which is not a queue of this stack")
    for fn, var in CONSUMERS.items():
        if fn not in lid_of:
            continue
        reads = [q for q, cs in consumers.items() if any(c[0] == fn for c in cs)]
        want = queue_of_env.get(var)
        rep.check(reads == [want], "queues", f"{fn} must consume the queue producers get as {var} ({want}), reads {reads}")
    for q in dlqs:
        rep.check(q in queues, "queues", f"DLQ {q!r} is not a queue of this stack")
    # Lambda's DLQ applies to asynchronous invocations only: each must keep what fails.
    for lid, by in sorted(async_functions(t, functions).items()):
        targets = function_failure_targets(fn_props[functions[lid]])
        rep.check(
            bool(targets) and all(ref_name(x) in queues for x in targets),
            "queues",
            f"{functions[lid]} is invoked asynchronously ({by}): it needs a DeadLetterQueue or an on-failure "
            "destination of Type SQS on a queue of this stack",
        )
    return len(queues) - len(dlqs), queue_of_env


def check_schedules(t: dict, functions: dict[str, str], rep: Report) -> None:
    res = t["Resources"]
    lid_of = {fn: lid for lid, fn in functions.items()}
    found: dict[str, list[str]] = {}
    for lid, r in res.items():
        if r.get("Type") != "AWS::Scheduler::Schedule":
            continue
        p = r.get("Properties", {})
        target = p.get("Target") or {}
        fn = functions.get(ref_name(target.get("Arn")) or "")
        if not rep.check(fn is not None, "schedules", f"{lid}: Target.Arn must be !GetAtt of a function in this stack"):
            continue
        found.setdefault(fn, []).append(p.get("ScheduleExpression"))
        rep.check(p.get("State", "ENABLED") == "ENABLED", "schedules", f"{lid} must be ENABLED")
        rep.check(ref_name(target.get("RoleArn")) is not None, "schedules", f"{lid}: Target.RoleArn must be a role of this stack")
        raw = target.get("Input")
        text = sub_text(raw)
        try:
            event = json.loads(text) if text else None
        except json.JSONDecodeError:
            event = None
        rep.check(
            isinstance(event, dict) and {"detail-type", "source", "detail"} <= set(event),
            "schedules",
            f"{lid}: Target.Input must be an EventBridge-shaped JSON event (detail-type, source, detail)",
        )
    for fn, rate in SCHEDULES.items():
        if fn in lid_of:
            rep.check(found.get(fn) == [rate], "schedules", f"{fn} must run on exactly one schedule {rate}, has {found.get(fn)}")
    for fn in found:
        rep.check(fn in SCHEDULES, "schedules", f"{fn} is scheduled but is not a scheduled function")


def check_alarms(t: dict, functions: dict[str, str], rep: Report) -> int:
    res = t["Resources"]
    alarms = {lid: r.get("Properties", {}) for lid, r in res.items() if r.get("Type") == "AWS::CloudWatch::Alarm"}
    seen = set()
    for lid, a in alarms.items():
        dims = {d.get("Name"): d.get("Value") for d in a.get("Dimensions", [])}
        target = ref_name(dims.get("FunctionName")) or ref_name(dims.get("QueueName")) or ref_name(dims.get("ApiId"))
        fires = a.get("ComparisonOperator") == "GreaterThanThreshold" and a.get("Threshold") == 0
        if a.get("Namespace") == "AWS/ApiGateway":
            fires = fires and dims.get("Stage") == "$default"
        if fires:
            seen.add((a.get("Namespace"), a.get("MetricName"), target))
        for key in ("AlarmActions", "OKActions"):
            actions = as_list(a.get(key))
            rep.check(
                bool(actions) and all(refs_topic(x, res) for x in actions),
                "alarms",
                f"{lid}: {key} must notify !Ref AlarmTopicArn or the stack's SNS topic",
            )
    for q in sorted(x for x in dead_letter_queues(t) if x):
        rep.check(
            ("AWS/SQS", "ApproximateNumberOfMessagesVisible", q) in seen,
            "alarms",
            f"DLQ {q} has no depth alarm (ApproximateNumberOfMessagesVisible > 0)",
        )
    for lid, fn in functions.items():
        for metric in ("Errors", "Throttles"):
            rep.check(("AWS/Lambda", metric, lid) in seen, "alarms", f"{fn} has no {metric} alarm")
    for api in (lid for lid, r in res.items() if r.get("Type") == "AWS::Serverless::HttpApi"):
        rep.check(
            ("AWS/ApiGateway", "5xx", api) in seen,
            "alarms",
            f"{api} has no 5xx alarm (AWS/ApiGateway 5xx > 0 on ApiId !Ref {api}, Stage $default)",
        )
    for lid, r in res.items():
        if r.get("Type") == "AWS::SNS::Topic":
            rep.check(bool((r.get("Properties") or {}).get("KmsMasterKeyId")), "alarms", f"{lid}: the topic must be encrypted (KmsMasterKeyId)")
    return len(alarms)


def check_throttling(t: dict, routes: list[dict], rep: Report) -> tuple[float, float, int]:
    """Stage default throttling on the HTTP API, and tighter route settings on every public route
    and on THROTTLED_JWT_ROUTES. Returns (default rate, default burst, route settings)."""
    res = t["Resources"]
    apis = [r.get("Properties", {}) for r in res.values() if r.get("Type") == "AWS::Serverless::HttpApi"]
    if len(apis) != 1:
        return 0, 0, 0  # check_routes reports it
    api = apis[0]

    def limits(settings) -> tuple:
        settings = settings if isinstance(settings, dict) else {}
        rate, burst = settings.get("ThrottlingRateLimit"), settings.get("ThrottlingBurstLimit")
        ok = all(isinstance(x, (int, float)) and not isinstance(x, bool) and x > 0 for x in (rate, burst))
        return (rate, burst) if ok else None

    default = limits(api.get("DefaultRouteSettings"))
    if not rep.check(default is not None, "throttling", "the HTTP API needs DefaultRouteSettings with ThrottlingRateLimit and ThrottlingBurstLimit > 0"):
        return 0, 0, 0
    settings = api.get("RouteSettings") or {}
    keys = {r.get("gateway") or f"{r['method'].upper()} {r['path']}" for r in routes}
    public = {r.get("gateway") or f"{r['method'].upper()} {r['path']}" for r in routes if r["access"] == "public"}
    for key in sorted(THROTTLED_JWT_ROUTES - keys):
        rep.fail("throttling", f"{key} (THROTTLED_JWT_ROUTES) is not a route of the table; update the checker")
    for key in sorted(public | THROTTLED_JWT_ROUTES):
        got = limits(settings.get(key))
        if not rep.check(got is not None, "throttling", f"{key} needs RouteSettings with ThrottlingRateLimit and ThrottlingBurstLimit"):
            continue
        rep.check(
            got[0] < default[0] and got[1] < default[1],
            "throttling",
            f"{key}: rate {got[0]} / burst {got[1]} must be below the stage default {default[0]} / {default[1]}",
        )
    for key, value in settings.items():
        # A route setting for a route the API lacks fails the deploy ("Unable to find Route by key").
        rep.check(key in keys, "throttling", f"RouteSettings names {key!r}, which is not a route of the table")
        got = limits(value)
        rep.check(
            got is not None and got[0] <= default[0] and got[1] <= default[1],
            "throttling",
            f"RouteSettings {key!r} must set both limits, at most the stage default",
        )
    return default[0], default[1], len(settings)


def check_concurrency(t: dict, functions: dict[str, str], rep: Report) -> int:
    """Reserved concurrency on every function (1 on a scheduled one), and SQS mappings that never
    invoke a consumer more often at once than it reserves. Returns the stack's total."""
    res = t["Resources"]
    reserved = {}
    for lid, fn in functions.items():
        rc = effective_function_props(t, res[lid].get("Properties", {})).get("ReservedConcurrentExecutions")
        if rep.check(isinstance(rc, int) and not isinstance(rc, bool) and rc >= 1, "concurrency", f"{fn}: ReservedConcurrentExecutions must be a number >= 1"):
            reserved[lid] = rc
    for lid, by in async_functions(t, functions).items():
        rep.check(reserved.get(lid) == 1, "concurrency", f"{functions[lid]} is scheduled ({by}): it must reserve exactly 1 (one run at a time)")
    for lid, r in res.items():
        if r.get("Type") != "AWS::Lambda::EventSourceMapping":
            continue
        p = r.get("Properties", {})
        fn = ref_name(p.get("FunctionName"))
        most = (p.get("ScalingConfig") or {}).get("MaximumConcurrency")
        if fn in reserved:
            rep.check(
                isinstance(most, int) and most <= reserved[fn],
                "concurrency",
                f"{lid}: ScalingConfig.MaximumConcurrency {most!r} must be set and <= {functions[fn]}'s reserved {reserved[fn]}",
            )
    return sum(reserved.values())


def check_encryption(t: dict, functions: dict[str, str], rep: Report) -> str | None:
    """One customer-managed key, rotated and retained, on everything that holds residents' data."""
    res = t["Resources"]
    keys = [lid for lid, r in res.items() if r.get("Type") == "AWS::KMS::Key"]
    if not rep.check(len(keys) == 1, "encryption", f"expected one AWS::KMS::Key, found {keys}"):
        return None
    key = keys[0]
    kr = res[key]
    rep.check(kr.get("Properties", {}).get("EnableKeyRotation") is True, "encryption", f"{key}: EnableKeyRotation must be true")
    # The retained table (and its backups) can be decrypted by this key alone.
    rep.check(kr.get("DeletionPolicy") == "Retain" and kr.get("UpdateReplacePolicy") == "Retain", "encryption", f"{key} must be retained like the table (DeletionPolicy and UpdateReplacePolicy Retain)")

    def uses_key(v) -> bool:
        return ref_name(v) == key

    wanted = {
        "AWS::DynamoDB::Table": lambda p: (p.get("SSESpecification") or {}).get("SSEType") == "KMS"
        and uses_key((p.get("SSESpecification") or {}).get("KMSMasterKeyId")),
        "AWS::SQS::Queue": lambda p: uses_key(p.get("KmsMasterKeyId")),
        "AWS::Logs::LogGroup": lambda p: uses_key(p.get("KmsKeyId")),
        "AWS::SNS::Topic": lambda p: uses_key(p.get("KmsMasterKeyId")),
        "AWS::Serverless::Function": lambda p: uses_key(effective_function_props(t, p).get("KmsKeyArn")),
    }
    for lid, r in res.items():
        check = wanted.get(r.get("Type"))
        if check is not None:
            rep.check(check(r.get("Properties", {}) or {}), "encryption", f"{lid} ({r['Type']}) must be encrypted with !GetAtt {key}.Arn")
    return key


def check_samconfig(t: dict, path: Path, rep: Report) -> int:
    try:
        import tomllib
    except ImportError:
        rep.fail("samconfig", "reading samconfig.toml needs Python >= 3.11 (tomllib)")
        return 0
    try:
        conf = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as e:
        rep.fail("samconfig", f"{path.name}: {e}")
        return 0
    params = t.get("Parameters", {})
    envs = {name: v for name, v in conf.items() if isinstance(v, dict)}
    rep.check("default" in envs, "samconfig", "samconfig.toml needs a `default` config env")
    for env, sections in envs.items():
        deploy = (sections.get("deploy") or {}).get("parameters") or {}
        where = f"[{env}.deploy.parameters]"
        if not rep.check(bool(deploy), "samconfig", f"{where} is missing"):
            continue
        values = {}
        for item in shlex.split(deploy.get("parameter_overrides", "")):
            key, sep, value = item.partition("=")
            if not rep.check(bool(sep), "samconfig", f"{where}: malformed override {item!r}"):
                continue
            values[key] = value
        for key, value in values.items():
            spec = params.get(key)
            if not rep.check(spec is not None, "samconfig", f"{where}: {key} is not a template parameter"):
                continue
            allowed = [str(x) for x in spec.get("AllowedValues", [])]
            if allowed:
                rep.check(value in allowed, "samconfig", f"{where}: {key}={value!r} is not one of {allowed}")
            pattern = spec.get("AllowedPattern")
            if pattern:
                rep.check(re.fullmatch(pattern, value) is not None, "samconfig", f"{where}: {key}={value!r} does not match {pattern}")
        for key, spec in params.items():
            if "Default" not in spec:
                rep.check(key in values, "samconfig", f"{where}: required parameter {key} is not set")
        want_stack = f"feedback-{values.get('RegionCode', '?')}-{values.get('Stage', params.get('Stage', {}).get('Default'))}"
        rep.check(deploy.get("stack_name") == want_stack, "samconfig", f"{where}: stack_name must be {want_stack}")
        caps = str(deploy.get("capabilities", ""))
        rep.check("CAPABILITY_IAM" in caps, "samconfig", f"{where}: capabilities must include CAPABILITY_IAM")
    return len(envs)


def run_cfn_lint(template: Path, rep: Report) -> str:
    exe = Path(sys.executable).parent / "cfn-lint"
    cmd = [str(exe)] if exe.exists() else ([shutil.which("cfn-lint")] if shutil.which("cfn-lint") else None)
    if cmd is None:
        rep.fail("cfn-lint", "cfn-lint not found (pip install cfn-lint, or use --skip-cfn-lint)")
        return "missing"
    env = dict(os.environ)
    env.setdefault("AWS_DEFAULT_REGION", "eu-central-1")
    proc = subprocess.run([*cmd, str(template)], capture_output=True, text=True, env=env, check=False)
    if proc.returncode != 0:
        rep.fail("cfn-lint", f"exit {proc.returncode}:\n{proc.stdout}{proc.stderr}".rstrip())
        return "failed"
    return "clean"


# CloudFront managed policies the portal's distribution uses.
CACHING_OPTIMIZED = "658327ea-f89d-4fab-a63d-7e88639e58f6"
CACHING_DISABLED = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"
ALL_VIEWER_EXCEPT_HOST = "b689b0a8-53d0-40ab-baf2-68738e2966ac"


def check_web(t: dict, routes: list[dict], rep: Report) -> int:
    """The portal's distribution: files from a private bucket through origin access control, the
    SPA routing function on the file behaviours, and every API route passed to the HTTP API
    uncached with the viewer's headers (Authorization included). Returns the behaviour count."""
    res = t["Resources"]
    dists = [r.get("Properties", {}).get("DistributionConfig", {}) for r in res.values() if r.get("Type") == "AWS::CloudFront::Distribution"]
    if not rep.check(len(dists) == 1, "web", f"expected one CloudFront distribution, found {len(dists)}"):
        return 0
    d = dists[0]
    origins = {o.get("Id"): o for o in d.get("Origins", [])}
    web, api = origins.get("web"), origins.get("api")
    if not rep.check(web is not None and api is not None, "web", "the distribution needs origins `web` (bucket) and `api`"):
        return 0
    bucket = ref_name(web.get("DomainName"))
    rep.check(bucket is not None and res.get(bucket, {}).get("Type") == "AWS::S3::Bucket", "web", "origin `web` is not a bucket of this stack")
    if bucket:
        block = res.get(bucket, {}).get("Properties", {}).get("PublicAccessBlockConfiguration", {})
        rep.check(all(block.get(k) is True for k in ("BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets")), "web", f"{bucket} must block public access")
    rep.check(bool(web.get("OriginAccessControlId")), "web", "origin `web` must read through origin access control")
    rep.check("HttpApi" in json.dumps(api.get("DomainName")), "web", "origin `api` must be the HTTP API")
    rep.check(api.get("CustomOriginConfig", {}).get("OriginProtocolPolicy") == "https-only", "web", "origin `api` must be https-only")

    def is_spa(b: dict) -> bool:
        return any(f.get("EventType") == "viewer-request" for f in b.get("FunctionAssociations", []))

    default = d.get("DefaultCacheBehavior", {})
    rep.check(default.get("TargetOriginId") == "web" and default.get("CachePolicyId") == CACHING_OPTIMIZED, "web", "the default behaviour serves the bucket, cached")
    rep.check(is_spa(default), "web", "the default behaviour needs the SPA routing function")
    behaviours = d.get("CacheBehaviors", [])
    api_patterns = []
    for b in behaviours:
        if b.get("TargetOriginId") == "api":
            api_patterns.append(b.get("PathPattern", ""))
            rep.check(b.get("CachePolicyId") == CACHING_DISABLED, "web", f"{b.get('PathPattern')}: the API must not be cached")
            rep.check(b.get("OriginRequestPolicyId") == ALL_VIEWER_EXCEPT_HOST, "web", f"{b.get('PathPattern')}: forward the viewer's headers except Host")
            rep.check(not is_spa(b), "web", f"{b.get('PathPattern')}: the SPA function must not rewrite API paths")
    for r in routes:
        path = r["path"]
        if any(path.startswith(p) for p in DEV_PATH_PREFIXES):
            continue
        covered = any(fnmatch.fnmatchcase(path, p) for p in api_patterns)
        rep.check(covered, "web", f"route {r['method']} {path} is not passed to the API by the distribution")
    widget = [b for b in behaviours if b.get("PathPattern") == "/widget"]
    rep.check(len(widget) == 1 and is_spa(widget[0]), "web", "the /widget behaviour (frameable) is missing")
    for o in ("WebUrl", "WebBucket", "WebDistributionId"):
        rep.check(o in t.get("Outputs", {}), "web", f"output {o} is missing (infra/deploy_web.py reads it)")
    return 1 + len(behaviours)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("routes_json", nargs="?", help="route table JSON (default: run feedback-local routes)")
    ap.add_argument("--template", type=Path, default=DEFAULT_TEMPLATE)
    ap.add_argument("--skip-cfn-lint", action="store_true")
    args = ap.parse_args()
    os.environ.setdefault("AWS_DEFAULT_REGION", "eu-central-1")

    rep = Report()
    t = load_template(args.template)
    rep.check(t.get("Transform") == "AWS::Serverless-2016-10-31", "template", "Transform must be AWS::Serverless-2016-10-31")
    params = set(t.get("Parameters", {}))
    for p in ("RegionCode", "Stage", "OidcIssuer", "OidcAudience", "Architecture", "LogRetentionDays",
              "VoterSecretParameterName", "AlarmTopicArn"):
        rep.check(p in params, "template", f"parameter {p} is missing")
    for o in ("ApiUrl", "TableName", "SubmittedQueueUrl", "NotificationsQueueUrl", "PhotosBucket"):
        rep.check(o in t.get("Outputs", {}), "template", f"output {o} is missing")

    routes = load_routes(args.routes_json)
    crates = function_crates()
    functions = check_functions(t, crates, rep)
    n_routes = check_routes(t, routes, functions, rep)
    table = check_table(t, rep)
    n_queues, queue_of_env = check_queues(t, functions, rep)
    translated = translate(t, rep)
    n_statements = check_iam(t, translated, functions, queue_of_env, table, rep)
    check_schedules(t, functions, rep)
    n_alarms = check_alarms(t, functions, rep)
    rate, burst, n_route_settings = check_throttling(t, routes, rep)
    n_reserved = check_concurrency(t, functions, rep)
    check_encryption(t, functions, rep)
    n_envs = check_samconfig(t, SAMCONFIG, rep)
    n_web = check_web(t, routes, rep)
    lint = "skipped" if args.skip_cfn_lint else run_cfn_lint(args.template, rep)

    rel = args.template.resolve()
    rel = rel.relative_to(ROOT) if rel.is_relative_to(ROOT) else rel
    if rep.errors:
        print(f"check_template: {rel}: {len(rep.errors)} problem(s):", file=sys.stderr)
        for e in rep.errors:
            print(f"  - {e}", file=sys.stderr)
        return 1
    n_gsi = len(expected_table_schema()["gsis"])
    print(
        f"check_template: ok: {rel}: {n_routes} routes on {len({r['function'] for r in routes})} HTTP functions, "
        f"{len(functions)} functions, table with {n_gsi} GSIs, {n_queues} queues with DLQs, "
        f"{n_statements} IAM statements without Scan or wildcards, {n_alarms} alarms, "
        f"stage throttling {rate:g}/s (burst {burst:g}) with {n_route_settings} tighter routes, "
        f"{n_reserved} reserved concurrency, one KMS key, {n_envs} samconfig envs, "
        f"a portal distribution with {n_web} behaviours; "
        f"cfn-lint {lint}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
