"""CloudFormation can order the stack: no dependency cycle (E3004), and the bucket/queue knot is untied."""

from __future__ import annotations

import copy
from typing import Any

from .cfn import Resolver, dependency_graph, find_cycle


def test_the_resources_have_no_dependency_cycle(template: dict[str, Any]) -> None:
    assert find_cycle(dependency_graph(template)) is None


def test_the_cycle_finder_sees_the_classic_bucket_queue_policy_knot(template: dict[str, Any]) -> None:
    knotted = copy.deepcopy(template)
    statement = knotted["Resources"]["ProcessingQueuePolicy"]["Properties"]["PolicyDocument"]["Statement"][0]
    statement["Condition"]["ArnEquals"]["aws:SourceArn"] = {"Fn::GetAtt": ["UploadBucket", "Arn"]}

    cycle = find_cycle(dependency_graph(knotted))

    assert cycle is not None
    assert {"UploadBucket", "ProcessingQueuePolicy"} <= set(cycle)


def test_the_upload_bucket_waits_for_the_queue_policy_that_lets_s3_notify(resources: dict[str, Any]) -> None:
    assert resources["UploadBucket"]["DependsOn"] == "ProcessingQueuePolicy"


def test_the_queue_policy_names_the_upload_bucket_by_the_same_name_the_bucket_gets(
    template: dict[str, Any],
) -> None:
    resolver = Resolver(template)
    resources = template["Resources"]
    bucket_name = resolver.resolve(resources["UploadBucket"]["Properties"]["BucketName"])
    statement = resources["ProcessingQueuePolicy"]["Properties"]["PolicyDocument"]["Statement"][0]

    source_arn = resolver.resolve(statement["Condition"]["ArnEquals"]["aws:SourceArn"])

    assert source_arn == f"arn:aws:s3:::{bucket_name}"


def test_bucket_names_are_valid_for_the_longest_name_prefix_in_a_long_region_name(
    template: dict[str, Any],
) -> None:
    longest_prefix = "a" * template["Parameters"]["NamePrefix"]["MaxLength"]
    resolver = Resolver(template, {"NamePrefix": longest_prefix})
    resolver.values["AWS::Region"] = "ap-southeast-4"

    for name in ("UploadBucket", "ProcessedBucket"):
        bucket_name = resolver.resolve(template["Resources"][name]["Properties"]["BucketName"])
        assert 3 <= len(bucket_name) <= 63, bucket_name
