"""Negative self-tests of the stack's cfn-lint rules (infra/cfn-lint-rules): the real template
meets them, and each mutation that breaks one is reported by that rule.

    python -m unittest discover -s infra -p 'test_*.py'
"""

from __future__ import annotations

import copy
import json
import sys
import unittest
from pathlib import Path

from cfnlint.api import lint
from cfnlint.rules import RulesCollection

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import check_template as ct

TEMPLATE = ct.load_template(ct.DEFAULT_TEMPLATE)
RULES = RulesCollection()
RULES.create_from_directory(str(HERE / "cfn-lint-rules"))


def props(t: dict, lid: str) -> dict:
    return t["Resources"][lid]["Properties"]


class StackHygieneRulesTest(unittest.TestCase):
    def reported(self, mutate) -> set[str]:
        t = copy.deepcopy(TEMPLATE)
        mutate(t)
        return {m.rule.id for m in lint(json.dumps(t), rules=RULES, regions=["eu-central-1"])}

    def test_the_rules_load_and_the_real_template_meets_them(self):
        self.assertEqual(len(RULES.rules), 9)
        self.assertEqual(self.reported(lambda t: None), set())

    def test_an_unencrypted_queue(self):
        self.assertIn("E9101", self.reported(lambda t: props(t, "SubmittedQueue").pop("KmsMasterKeyId")))

    def test_a_log_group_kept_another_time(self):
        def keep(t):
            props(t, "NotifyLogGroup")["RetentionInDays"] = 7
        self.assertIn("E9102", self.reported(keep))

    def test_a_dead_letter_queue_without_its_alarm(self):
        def silence(t):
            for lid, r in list(t["Resources"].items()):
                dims = r.get("Properties", {}).get("Dimensions", [])
                if r["Type"] == "AWS::CloudWatch::Alarm" and any(d.get("Value") == {"Fn::GetAtt": ["SchedulesDeadLetterQueue", "QueueName"]} for d in dims):
                    del t["Resources"][lid]
        self.assertIn("E9103", self.reported(silence))

    def test_a_scheduled_function_that_may_overlap(self):
        def overlap(t):
            props(t, "ClosePollsFunction")["ReservedConcurrentExecutions"] = 5
        self.assertIn("E9104", self.reported(overlap))

    def test_a_scheduled_function_without_a_dead_letter_queue(self):
        self.assertIn("E9105", self.reported(lambda t: props(t, "EscalateOverdueFunction").pop("DeadLetterQueue")))

    def test_a_table_without_point_in_time_recovery(self):
        self.assertIn("E9106", self.reported(lambda t: props(t, "Table").pop("PointInTimeRecoverySpecification")))

    def test_a_wildcard_table_action(self):
        def wildcard(t):
            props(t, "AnalyticsFunction")["Policies"][0]["Statement"][0]["Action"] = "dynamodb:*"
        self.assertIn("E9107", self.reported(wildcard))

    def test_another_runtime(self):
        def runtime(t):
            props(t, "NotifyFunction")["Runtime"] = "python3.12"
        self.assertIn("E9108", self.reported(runtime))

    def test_a_cached_api(self):
        def cache(t):
            behaviours = props(t, "WebDistribution")["DistributionConfig"]["CacheBehaviors"]
            next(b for b in behaviours if b["PathPattern"] == "/v1/*")["CachePolicyId"] = "658327ea-f89d-4fab-a63d-7e88639e58f6"
        self.assertIn("E9109", self.reported(cache))

        def cache_writes(t):
            behaviours = props(t, "WebDistribution")["DistributionConfig"]["CacheBehaviors"]
            next(b for b in behaviours if b["PathPattern"] == "/v1/open-data/*")["AllowedMethods"] = ["GET", "HEAD", "POST"]
        self.assertIn("E9109", self.reported(cache_writes))


if __name__ == "__main__":
    unittest.main()
