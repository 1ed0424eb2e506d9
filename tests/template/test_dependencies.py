"""CloudFormation can order the stack: no dependency cycle (E3004), and the bucket/queue knot is untied."""

from __future__ import annotations

import copy
from typing import Any

import boto3

from tests.support.cfn import fake_resolver

from .cfn import dependency_graph, find_cycle


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
    resolver = fake_resolver(template)
    resources = template["Resources"]
    bucket_name = resolver.resolve(resources["UploadBucket"]["Properties"]["BucketName"])
    statement = resources["ProcessingQueuePolicy"]["Properties"]["PolicyDocument"]["Statement"][0]

    source_arn = resolver.resolve(statement["Condition"]["ArnEquals"]["aws:SourceArn"])

    assert source_arn == f"arn:aws:s3:::{bucket_name}"


def test_bucket_names_are_valid_for_the_longest_name_prefix_in_a_long_region_name(
    template: dict[str, Any],
) -> None:
    """The longest region botocore knows in any partition (us-isof-south-1, 15 characters, in 2026): with a
    16-character prefix the processed bucket's name was 64 characters, one more than S3 allows."""
    longest_prefix = "a" * template["Parameters"]["NamePrefix"]["MaxLength"]
    resolver = fake_resolver(
        template, {"NamePrefix": longest_prefix}, pseudo={"AWS::Region": longest_region()}
    )

    for name in ("UploadBucket", "ProcessedBucket"):
        bucket_name = resolver.resolve(template["Resources"][name]["Properties"]["BucketName"])
        assert 3 <= len(bucket_name) <= 63, bucket_name


def test_one_more_prefix_character_would_overflow_the_longest_bucket_name(template: dict[str, Any]) -> None:
    """MaxLength is the largest safe prefix, not merely a safe one (the check above cannot pass vacuously)."""
    resolver = fake_resolver(
        template,
        {"NamePrefix": "a" * (template["Parameters"]["NamePrefix"]["MaxLength"] + 1)},
        pseudo={"AWS::Region": longest_region()},
    )

    bucket_name = resolver.resolve(template["Resources"]["ProcessedBucket"]["Properties"]["BucketName"])
    assert len(bucket_name) == 64


def longest_region() -> str:
    session = boto3.Session()
    regions = [
        region
        for partition in session.get_available_partitions()
        for region in session.get_available_regions("s3", partition)
    ]
    return max(regions, key=len)
