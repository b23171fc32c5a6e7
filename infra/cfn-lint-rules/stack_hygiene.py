"""cfn-lint rules for this stack's hygiene (.cfnlintrc appends them): what every resource of its
kind must be, whatever the code does. Agreement with the code is infra/check_template.py's.
cfn-lint hands rules the SAM template with its Globals merged, not translated: functions are
AWS::Serverless::Function, the API AWS::Serverless::HttpApi."""

from __future__ import annotations

import fnmatch
import json
import re
import sys
from pathlib import Path
from typing import ClassVar

from cfnlint.rules import CloudFormationLintRule, RuleMatch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from check_template import as_list, ref_name

MIN_VISIBILITY_FACTOR = 6
MIN_MAX_RECEIVE_COUNT = 5
ALLOWED_MANAGED_POLICIES = {"AWSLambdaBasicExecutionRole"}
FUNCTION = ("AWS::Serverless::Function", "AWS::Lambda::Function")
# CloudFront managed policies the portal's distribution uses.
CACHING_OPTIMIZED = "658327ea-f89d-4fab-a63d-7e88639e58f6"
CACHING_DISABLED = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"
ALL_VIEWER_EXCEPT_HOST = "b689b0a8-53d0-40ab-baf2-68738e2966ac"
# Managed policy "UseOriginCacheControlHeaders-QueryStrings": the origin's Cache-Control decides,
# the query string is part of the key.
# The API paths that answer every caller alike and say how long to keep the answer: the public
# map, the scorecards and the open data. Only these may be cached at the edge, and only for GET
# and HEAD.
EDGE_CACHED_API = {"/v1/public/*", "/v1/open-data/*"}


def of_type(cfn, *types) -> dict:
    return {lid: r for lid, r in cfn.template.get("Resources", {}).items() if r.get("Type") in types}


def props(r: dict) -> dict:
    return r.get("Properties") or {}


def redrive(p: dict) -> dict:
    rp = p.get("RedrivePolicy") or {}
    return json.loads(rp) if isinstance(rp, str) else rp


def dead_letter_queues(cfn) -> dict:
    """Each dead-letter queue -> what sends to it: queues' redrive targets, functions' DLQs and
    on-failure destinations."""
    out: dict = {}
    for lid, r in of_type(cfn, "AWS::SQS::Queue").items():
        target = ref_name(redrive(props(r)).get("deadLetterTargetArn"))
        if target:
            out.setdefault(target, []).append(lid)
    for lid, r in of_type(cfn, *FUNCTION).items():
        p = props(r)
        dlq = p.get("DeadLetterQueue") or {}
        on_failure = ((p.get("EventInvokeConfig") or {}).get("DestinationConfig") or {}).get("OnFailure") or {}
        for target in (
            ref_name(dlq.get("TargetArn")) if dlq.get("Type") == "SQS" else None,
            ref_name((p.get("DeadLetterConfig") or {}).get("TargetArn")),
            ref_name(on_failure.get("Destination")) if on_failure.get("Type") == "SQS" else None,
        ):
            if target:
                out.setdefault(target, []).append(lid)
    return out


def scheduled_functions(cfn) -> set:
    """Functions invoked asynchronously by EventBridge Scheduler."""
    return {ref_name((props(r).get("Target") or {}).get("Arn")) for r in of_type(cfn, "AWS::Scheduler::Schedule").values()}


class Rule:
    """What each rule below shares: its problems as (logical id, message) become RuleMatches."""

    source_url = "infra/cfn-lint-rules/stack_hygiene.py"
    tags: ClassVar[list[str]] = ["feedback"]

    def problems(self, cfn):  # pragma: no cover - overridden
        return []

    def match(self, cfn):
        return [RuleMatch(["Resources", lid] if lid else [], message) for lid, message in self.problems(cfn)]


class StackKeyEncryption(Rule, CloudFormationLintRule):
    id = "E9101"
    shortdesc = "One retained, rotated customer-managed key encrypts the stack's data at rest"
    description = "The table, every queue, log group, topic and function environment use the stack's one KMS key"

    def problems(self, cfn):
        keys = of_type(cfn, "AWS::KMS::Key")
        if len(keys) != 1:
            yield None, f"expected one AWS::KMS::Key, found {sorted(keys)}"
            return
        key, kr = next(iter(keys.items()))
        if props(kr).get("EnableKeyRotation") is not True:
            yield key, "EnableKeyRotation must be true"
        if kr.get("DeletionPolicy") != "Retain" or kr.get("UpdateReplacePolicy") != "Retain":
            yield key, "the key must be retained like the table it alone decrypts"
        wanted = {
            "AWS::DynamoDB::Table": lambda p: (p.get("SSESpecification") or {}).get("SSEType") == "KMS"
            and ref_name((p.get("SSESpecification") or {}).get("KMSMasterKeyId")) == key,
            "AWS::SQS::Queue": lambda p: ref_name(p.get("KmsMasterKeyId")) == key,
            "AWS::Logs::LogGroup": lambda p: ref_name(p.get("KmsKeyId")) == key,
            "AWS::SNS::Topic": lambda p: ref_name(p.get("KmsMasterKeyId")) == key,
            "AWS::Lambda::Function": lambda p: ref_name(p.get("KmsKeyArn")) == key,
            "AWS::Serverless::Function": lambda p: ref_name(p.get("KmsKeyArn")) == key,
        }
        for lid, r in of_type(cfn, *wanted).items():
            if not wanted[r["Type"]](props(r)):
                yield lid, f"{r['Type']} must be encrypted with !GetAtt {key}.Arn"


class LogRetention(Rule, CloudFormationLintRule):
    id = "E9102"
    shortdesc = "Every function logs to its own log group, kept LogRetentionDays"
    description = "Log groups keep logs for !Ref LogRetentionDays; functions name their log group"

    def problems(self, cfn):
        groups = of_type(cfn, "AWS::Logs::LogGroup")
        for lid, r in groups.items():
            if ref_name(props(r).get("RetentionInDays")) != "LogRetentionDays":
                yield lid, "RetentionInDays must be !Ref LogRetentionDays"
        for lid, r in of_type(cfn, *FUNCTION).items():
            if ref_name((props(r).get("LoggingConfig") or {}).get("LogGroup")) not in groups:
                yield lid, "LoggingConfig.LogGroup must reference a log group of this stack"


class Alarms(Rule, CloudFormationLintRule):
    id = "E9103"
    shortdesc = "Alarms on every dead-letter queue, function and API, notifying the operators"
    description = "DLQ depth, each function's Errors and Throttles, the HTTP API's 5xx; actions to the alarm topic"

    def problems(self, cfn):
        resources = cfn.template.get("Resources", {})

        def notifies(v) -> bool:
            if isinstance(v, dict) and "Fn::If" in v:
                branches = v["Fn::If"][1:] if isinstance(v["Fn::If"], list) else []
                return len(branches) == 2 and all(notifies(b) for b in branches)
            name = ref_name(v)
            return name == "AlarmTopicArn" or resources.get(name or "", {}).get("Type") == "AWS::SNS::Topic"

        seen = set()
        for lid, r in of_type(cfn, "AWS::CloudWatch::Alarm").items():
            a = props(r)
            dims = {d.get("Name"): d.get("Value") for d in a.get("Dimensions", [])}
            target = next((ref_name(dims[k]) for k in ("FunctionName", "QueueName", "ApiId") if k in dims), None)
            fires = a.get("ComparisonOperator") == "GreaterThanThreshold" and a.get("Threshold") in (0, "0")
            if fires and (a.get("Namespace") != "AWS/ApiGateway" or dims.get("Stage") == "$default"):
                seen.add((a.get("Namespace"), a.get("MetricName"), target))
            for key in ("AlarmActions", "OKActions"):
                actions = as_list(a.get(key))
                if not actions or not all(notifies(x) for x in actions):
                    yield lid, f"{key} must notify !Ref AlarmTopicArn or the stack's SNS topic"
        for q in sorted(dead_letter_queues(cfn)):
            if ("AWS/SQS", "ApproximateNumberOfMessagesVisible", q) not in seen:
                yield q, "this dead-letter queue has no depth alarm (ApproximateNumberOfMessagesVisible > 0)"
        for lid in of_type(cfn, *FUNCTION):
            for metric in ("Errors", "Throttles"):
                if ("AWS/Lambda", metric, lid) not in seen:
                    yield lid, f"the function has no {metric} alarm (> 0)"
        for lid in of_type(cfn, "AWS::Serverless::HttpApi", "AWS::ApiGatewayV2::Api"):
            if ("AWS/ApiGateway", "5xx", lid) not in seen:
                yield lid, "the HTTP API has no 5xx alarm (> 0 on Stage $default)"


class ReservedConcurrency(Rule, CloudFormationLintRule):
    id = "E9104"
    shortdesc = "Every function reserves its concurrency; a scheduled one exactly 1"
    description = "Reserved concurrency everywhere, one run at a time for schedules, SQS mappings within the reservation"

    def problems(self, cfn):
        reserved = {}
        for lid, r in of_type(cfn, *FUNCTION).items():
            rc = props(r).get("ReservedConcurrentExecutions")
            if isinstance(rc, int) and not isinstance(rc, bool) and rc >= 1:
                reserved[lid] = rc
            else:
                yield lid, "ReservedConcurrentExecutions must be a number >= 1"
        for lid in sorted(scheduled_functions(cfn) & set(reserved)):
            if reserved[lid] != 1:
                yield lid, "a scheduled function must reserve exactly 1 (one run at a time)"
        for lid, r in of_type(cfn, "AWS::Lambda::EventSourceMapping").items():
            fn = ref_name(props(r).get("FunctionName"))
            most = (props(r).get("ScalingConfig") or {}).get("MaximumConcurrency")
            if fn in reserved and not (isinstance(most, int) and most <= reserved[fn]):
                yield lid, f"ScalingConfig.MaximumConcurrency {most!r} must be set and <= {fn}'s reserved {reserved[fn]}"


class QueueRedrive(Rule, CloudFormationLintRule):
    id = "E9105"
    shortdesc = "Every queue has a dead-letter queue and outlives its consumer's timeout"
    description = "Redrive after >= 5 receives, visibility >= 6 x the consumer's timeout, DLQs for asynchronous invocations"

    def problems(self, cfn):
        queues = of_type(cfn, "AWS::SQS::Queue")
        functions = of_type(cfn, *FUNCTION)
        dlqs = dead_letter_queues(cfn)
        for lid, r in queues.items():
            rp = redrive(props(r))
            if lid in dlqs:
                if rp:
                    yield lid, "a dead-letter queue must not redrive further"
                continue
            if ref_name(rp.get("deadLetterTargetArn")) not in queues:
                yield lid, "RedrivePolicy must name a dead-letter queue of this stack"
            mrc = rp.get("maxReceiveCount")
            if not (isinstance(mrc, int) and mrc >= MIN_MAX_RECEIVE_COUNT):
                yield lid, f"maxReceiveCount {mrc!r} must be >= {MIN_MAX_RECEIVE_COUNT}"
        for lid, r in of_type(cfn, "AWS::Lambda::EventSourceMapping").items():
            q, fn = ref_name(props(r).get("EventSourceArn")), ref_name(props(r).get("FunctionName"))
            if q in queues and fn in functions:
                timeout = props(functions[fn]).get("Timeout", 3)
                vis = props(queues[q]).get("VisibilityTimeout", 30)
                if not (isinstance(vis, int) and isinstance(timeout, int) and vis >= MIN_VISIBILITY_FACTOR * timeout):
                    yield q, f"VisibilityTimeout {vis} must be >= {MIN_VISIBILITY_FACTOR} x {fn}'s Timeout {timeout}"
        sends_failures = {src for sources in dlqs.values() for src in sources}
        for lid in sorted(scheduled_functions(cfn) & set(functions)):
            if lid not in sends_failures:
                yield lid, "an asynchronously invoked function needs an SQS DeadLetterQueue or on-failure destination"


class TableDurability(Rule, CloudFormationLintRule):
    id = "E9106"
    shortdesc = "The table is recoverable and retained"
    description = "Point-in-time recovery, server-side encryption, DeletionPolicy and UpdateReplacePolicy Retain"

    def problems(self, cfn):
        for lid, r in of_type(cfn, "AWS::DynamoDB::Table").items():
            p = props(r)
            if (p.get("PointInTimeRecoverySpecification") or {}).get("PointInTimeRecoveryEnabled") is not True:
                yield lid, "point-in-time recovery must be on"
            if (p.get("SSESpecification") or {}).get("SSEEnabled") is not True:
                yield lid, "SSESpecification.SSEEnabled must be true"
            if r.get("DeletionPolicy") != "Retain" or r.get("UpdateReplacePolicy") != "Retain":
                yield lid, "the table needs DeletionPolicy and UpdateReplacePolicy Retain"


class IamLeastPrivilege(Rule, CloudFormationLintRule):
    id = "E9107"
    shortdesc = "No Scan, no wildcard data-plane actions or resources, no broad managed policies"
    description = "IAM statements of every role and policy stay verifiable"

    def problems(self, cfn):
        for lid, r in of_type(cfn, "AWS::IAM::Role", "AWS::IAM::Policy", "AWS::IAM::ManagedPolicy", *FUNCTION).items():
            p = props(r)
            if r["Type"] == "AWS::IAM::Role":
                docs = [pol.get("PolicyDocument") for pol in p.get("Policies") or []]
            elif r["Type"] == "AWS::Serverless::Function":
                docs = []
                for pol in as_list(p.get("Policies")):
                    if isinstance(pol, dict) and "Statement" in pol:
                        docs.append(pol)
                    else:
                        yield lid, f"policy {json.dumps(pol)[:80]} is a managed policy or a SAM policy template; declare explicit statements"
                for name, ev in (p.get("Events") or {}).items():
                    if (ev or {}).get("Type") == "SQS":
                        yield lid, f"{name}: a SAM SQS event attaches AWSLambdaSQSQueueExecutionRole (receive from every queue); declare the event source mapping"
            else:
                docs = [p.get("PolicyDocument")]
            for doc in docs:
                for st in as_list((doc or {}).get("Statement")):
                    yield from ((lid, m) for m in self.statement(st))
            for arn in as_list(p.get("ManagedPolicyArns")):
                text = arn.get("Fn::Sub") if isinstance(arn, dict) else arn
                name = str(text).rsplit("/", 1)[-1]
                if name not in ALLOWED_MANAGED_POLICIES:
                    yield lid, f"managed policy {name} is too broad to verify; declare explicit statements"

    @staticmethod
    def statement(st: dict):
        if st.get("Effect") != "Allow":
            return
        if "NotAction" in st or "NotResource" in st:
            yield "Allow statements with NotAction or NotResource are not allowed"
            return
        actions = [a.lower() for a in as_list(st.get("Action")) if isinstance(a, str)]
        for a in actions:
            if a == "*" or a == "dynamodb:scan" or (a.startswith("dynamodb:") and "*" in a):
                yield f"action {a!r} grants dynamodb:Scan or a DynamoDB wildcard"
            if a.startswith(("dynamodb:", "sqs:")):
                for res in as_list(st.get("Resource")):
                    text = res.get("Fn::Sub") if isinstance(res, dict) else res
                    if isinstance(text, str) and "*" in re.sub(r"/index/\*$", "", re.sub(r"\$\{[^}]+\}", "X", text)):
                        yield f"{a} on wildcard resource {text!r}"
            if a.startswith("kms:") and "kms:ViaService" not in json.dumps(st.get("Condition") or {}):
                yield f"{a} needs a kms:ViaService condition"


class Packaging(Rule, CloudFormationLintRule):
    id = "E9108"
    shortdesc = "Functions run the cargo-lambda bootstrap on provided.al2023"
    description = "Runtime provided.al2023, Handler bootstrap, Architectures [!Ref Architecture]"

    def problems(self, cfn):
        for lid, r in of_type(cfn, *FUNCTION).items():
            p = props(r)
            if p.get("Runtime") != "provided.al2023" or p.get("Handler") != "bootstrap":
                yield lid, "Runtime must be provided.al2023 and Handler bootstrap"
            archs = as_list(p.get("Architectures"))
            if len(archs) != 1 or ref_name(archs[0]) != "Architecture":
                yield lid, "Architectures must be [!Ref Architecture]"


class PortalDistribution(Rule, CloudFormationLintRule):
    id = "E9109"
    shortdesc = "The portal's distribution: a private bucket, the SPA routing, the API uncached"
    description = "Origin access control, public access blocked, API behaviours uncached with the viewer's headers"

    def problems(self, cfn):
        resources = cfn.template.get("Resources", {})
        dists = of_type(cfn, "AWS::CloudFront::Distribution")
        if len(dists) != 1:
            yield None, f"expected one CloudFront distribution, found {sorted(dists)}"
            return
        lid, r = next(iter(dists.items()))
        d = props(r).get("DistributionConfig", {})
        origins = {o.get("Id"): o for o in d.get("Origins", [])}
        web, api = origins.get("web"), origins.get("api")
        if web is None or api is None:
            yield lid, "the distribution needs origins `web` (bucket) and `api`"
            return
        bucket = ref_name(web.get("DomainName"))
        block = props(resources.get(bucket or "", {})).get("PublicAccessBlockConfiguration", {})
        if not all(block.get(k) is True for k in ("BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets")):
            yield lid, "origin `web` must be a bucket of this stack that blocks public access"
        if not web.get("OriginAccessControlId"):
            yield lid, "origin `web` must read through origin access control"
        if "HttpApi" not in json.dumps(api.get("DomainName")) or (api.get("CustomOriginConfig") or {}).get("OriginProtocolPolicy") != "https-only":
            yield lid, "origin `api` must be the HTTP API over https only"

        def spa(b: dict) -> bool:
            return any(f.get("EventType") == "viewer-request" for f in b.get("FunctionAssociations", []))

        default = d.get("DefaultCacheBehavior", {})
        if default.get("TargetOriginId") != "web" or default.get("CachePolicyId") != CACHING_OPTIMIZED or not spa(default):
            yield lid, "the default behaviour serves the bucket, cached, with the SPA routing function"
        behaviours = d.get("CacheBehaviors", [])

        def edge_cached(b: dict) -> bool:
            # The anonymous public paths are cached by their own policy: query string only, no
            # header or cookie in the key (so no token can reach a cached answer), reads only.
            policy = props(resources.get(ref_name(b.get("CachePolicyId")) or "", {})).get("CachePolicyConfig", {})
            key = policy.get("ParametersInCacheKeyAndForwardedToOrigin", {})
            return (
                b.get("PathPattern") in EDGE_CACHED_API
                and sorted(b.get("AllowedMethods", [])) == ["GET", "HEAD"]
                and (key.get("HeadersConfig") or {}).get("HeaderBehavior") == "none"
                and (key.get("CookiesConfig") or {}).get("CookieBehavior") == "none"
            )

        for b in behaviours:
            if b.get("TargetOriginId") != "api":
                continue
            cached_ok = b.get("CachePolicyId") == CACHING_DISABLED or edge_cached(b)
            if not cached_ok or b.get("OriginRequestPolicyId") != ALL_VIEWER_EXCEPT_HOST or spa(b):
                yield lid, f"{b.get('PathPattern')}: the API is passed uncached (the public paths by their own query-string policy, GET and HEAD only), with the viewer's headers except Host, never rewritten"
        widget = [b for b in behaviours if fnmatch.fnmatchcase("/widget", b.get("PathPattern", "")) and b.get("TargetOriginId") == "web"]
        if len(widget) != 1 or not spa(widget[0]):
            yield lid, "the /widget behaviour (frameable) is missing"
