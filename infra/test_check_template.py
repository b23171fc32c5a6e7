"""Negative self-tests of infra/check_template.py: the real template passes, and each mutation of
the template or the manifest that breaks their agreement is reported in its area.

    python -m unittest discover -s infra -p 'test_*.py'

FEEDBACK_MANIFEST may name a `feedback manifest --json` file; otherwise the built binary runs.
"""

from __future__ import annotations

import copy
import os
import sys
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import check_template as ct

TEMPLATE = ct.load_template(ct.DEFAULT_TEMPLATE)
MANIFEST = ct.load_manifest(os.environ.get("FEEDBACK_MANIFEST"))


def props(t: dict, lid: str) -> dict:
    return t["Resources"][lid]["Properties"]


def statements(t: dict, lid: str) -> list:
    return props(t, lid)["Policies"][0]["Statement"]


class CheckTemplateTest(unittest.TestCase):
    def errors(self, mutate_template=None, mutate_manifest=None) -> list[str]:
        t, m = copy.deepcopy(TEMPLATE), copy.deepcopy(MANIFEST)
        if mutate_template:
            mutate_template(t)
        if mutate_manifest:
            mutate_manifest(m)
        rep, _ = ct.run_checks(t, m, samconfig=None)
        return rep.errors

    def assertReported(self, errors: list[str], area: str, *words: str) -> None:
        hits = [e for e in errors if e.startswith(f"[{area}]") and all(w in e for w in words)]
        self.assertTrue(hits, f"no [{area}] error with {words}; got {errors}")

    def test_the_real_template_agrees_with_the_code(self):
        rep, _ = ct.run_checks(copy.deepcopy(TEMPLATE), MANIFEST)
        self.assertEqual(rep.errors, [])

    def test_a_route_missing_in_the_template(self):
        errors = self.errors(lambda t: props(t, "ReferenceDataFunction")["Events"].pop("GetV1Categories"))
        self.assertReported(errors, "routes", "GET /v1/categories", "has no HttpApi event")

    def test_a_route_the_code_does_not_have(self):
        def add(m):
            m["routes"] = [r for r in m["routes"] if r["path"] != "/v1/authorities"]
        self.assertReported(self.errors(mutate_manifest=add), "routes", "GET /v1/authorities", "not in the route table")

    def test_a_public_route_behind_the_authorizer(self):
        def guard(t):
            props(t, "ReferenceDataFunction")["Events"]["GetV1Categories"]["Properties"]["Auth"]["Authorizer"] = "OidcAuthorizer"
        self.assertReported(self.errors(guard), "routes", "GET /v1/categories is public")

    def test_an_env_var_missing(self):
        errors = self.errors(lambda t: props(t, "SubmitMessageFunction")["Environment"]["Variables"].pop("PHOTOS_BUCKET"))
        self.assertReported(errors, "functions", "submit-message requires PHOTOS_BUCKET")

    def test_an_env_var_the_function_does_not_read(self):
        def extra(t):
            props(t, "AnalyticsFunction")["Environment"] = {"Variables": {"SUBMITTED_QUEUE_URL": {"Ref": "SubmittedQueue"}}}
        self.assertReported(self.errors(extra), "functions", "analytics", "SUBMITTED_QUEUE_URL")

    def test_a_function_the_template_lacks(self):
        def add(m):
            m["functions"].append({**m["functions"][0], "name": "export"})
        self.assertReported(self.errors(mutate_manifest=add), "functions", "export is not declared")

    def test_a_gsi_differing(self):
        def differ(t):
            props(t, "Table")["GlobalSecondaryIndexes"][2]["Projection"] = {"ProjectionType": "KEYS_ONLY"}
        self.assertReported(self.errors(differ), "table", "GlobalSecondaryIndexes")

    def test_a_gsi_missing(self):
        self.assertReported(self.errors(lambda t: props(t, "Table")["GlobalSecondaryIndexes"].pop()), "table", "GlobalSecondaryIndexes")

    def test_another_ttl_attribute(self):
        def ttl(t):
            props(t, "Table")["TimeToLiveSpecification"]["AttributeName"] = "expires"
        self.assertReported(self.errors(ttl), "table", "TimeToLiveSpecification")

    def test_a_grant_the_ports_do_not_use(self):
        def scan(t):
            statements(t, "AnalyticsFunction")[0]["Action"] = ["dynamodb:GetItem", "dynamodb:Scan"]
        self.assertReported(self.errors(scan), "iam", "analytics: grants dynamodb:scan on Table")

    def test_a_grant_the_ports_need(self):
        def drop(t):
            statements(t, "Open311Function")[:] = [s for s in statements(t, "Open311Function") if s["Sid"] != "SendJobs"]
        self.assertReported(self.errors(drop), "iam", "open311: lacks sqs:sendmessage on SubmittedQueue")

    def test_a_grant_on_the_wrong_queue(self):
        def wrong(t):
            send = next(s for s in statements(t, "RouteMessagesFunction") if s["Sid"] == "SendNotifications")
            send["Resource"] = {"Fn::GetAtt": ["SubmittedQueue", "Arn"]}
        errors = self.errors(wrong)
        self.assertReported(errors, "iam", "route-messages: grants sqs:sendmessage on SubmittedQueue")
        self.assertReported(errors, "iam", "route-messages: lacks sqs:sendmessage on NotificationsQueue")

    def test_the_secret_key_used_outside_ssm(self):
        def anywhere(t):
            next(s for s in statements(t, "PollsFunction") if s["Sid"] == "DecryptVoterSecretThroughSsm").pop("Condition")
        self.assertReported(self.errors(anywhere), "iam", "polls: grants kms:decrypt on")

    def test_a_schedule_differing(self):
        def rate(t):
            props(t, "ClosePollsSchedule")["ScheduleExpression"] = "rate(5 minutes)"
        self.assertReported(self.errors(rate), "schedules", "close-polls")

    def test_a_topic_heard_by_another_function_or_missing(self):
        def moved(t):
            event = props(t, "MailEventsFunction")["Events"].pop("BouncesAndComplaints")
            props(t, "DeliverMailFunction")["Events"] = {"Heard": event}
        self.assertReported(self.errors(moved), "topics", "MailEventsTopic", "mail-events")

        def renamed(t):
            props(t, "MailEventsTopic")["TopicName"] = {"Fn::Sub": "feedback-${RegionCode}-${Stage}-other"}
        self.assertReported(self.errors(renamed), "topics", "mail-events")

    def test_a_consumer_batch_and_redrive_differing(self):
        def batch(t):
            props(t, "NotifyEventSourceMapping")["BatchSize"] = 1
            props(t, "SubmittedQueue")["RedrivePolicy"]["maxReceiveCount"] = 3
        errors = self.errors(batch)
        self.assertReported(errors, "queues", "BatchSize must be 10")
        self.assertReported(errors, "queues", "maxReceiveCount 3")

    def test_a_throttled_route_the_code_lacks(self):
        def throttle(t):
            props(t, "HttpApi")["RouteSettings"]["GET /v1/gone"] = {"ThrottlingRateLimit": 1, "ThrottlingBurstLimit": 1}
        self.assertReported(self.errors(throttle), "throttling", "GET /v1/gone")


if __name__ == "__main__":
    unittest.main()
