"""Both buckets are private, encrypted, owner-enforced and TLS-only; uploads versioned; lifecycle rules."""

from __future__ import annotations

from typing import Any

import pytest

from .cfn import resources_of_type

BUCKETS = {"UploadBucket": "UploadBucketPolicy", "ProcessedBucket": "ProcessedBucketPolicy"}


def test_the_stack_has_exactly_the_two_buckets_each_with_its_policy(template: dict[str, Any]) -> None:
    assert set(resources_of_type(template, "AWS::S3::Bucket")) == set(BUCKETS)
    policies = resources_of_type(template, "AWS::S3::BucketPolicy")
    assert {name: spec["Properties"]["Bucket"] for name, spec in policies.items()} == {
        policy: {"Ref": bucket} for bucket, policy in BUCKETS.items()
    }


@pytest.mark.parametrize("bucket", sorted(BUCKETS))
def test_every_bucket_is_encrypted_by_default(resources: dict[str, Any], bucket: str) -> None:
    rules = resources[bucket]["Properties"]["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert [rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] for rule in rules] == ["AES256"]


@pytest.mark.parametrize("bucket", sorted(BUCKETS))
def test_every_bucket_blocks_all_four_kinds_of_public_access(resources: dict[str, Any], bucket: str) -> None:
    assert resources[bucket]["Properties"]["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }


@pytest.mark.parametrize("bucket", sorted(BUCKETS))
def test_every_bucket_disables_acls(resources: dict[str, Any], bucket: str) -> None:
    assert resources[bucket]["Properties"]["OwnershipControls"] == {
        "Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]
    }


@pytest.mark.parametrize(("bucket", "policy"), sorted(BUCKETS.items()))
def test_every_bucket_denies_any_request_without_tls(
    resources: dict[str, Any], bucket: str, policy: str
) -> None:
    statements = resources[policy]["Properties"]["PolicyDocument"]["Statement"]
    no_tls = [s for s in statements if s.get("Condition") == {"Bool": {"aws:SecureTransport": "false"}}]

    assert len(no_tls) == 1
    assert no_tls[0]["Effect"] == "Deny"
    assert no_tls[0]["Principal"] == "*"
    assert no_tls[0]["Action"] == "s3:*"
    assert no_tls[0]["Resource"] == [{"Fn::GetAtt": [bucket, "Arn"]}, {"Fn::Sub": f"${{{bucket}.Arn}}/*"}]


@pytest.mark.parametrize("policy", sorted(BUCKETS.values()))
def test_bucket_policies_only_deny(resources: dict[str, Any], policy: str) -> None:
    statements = resources[policy]["Properties"]["PolicyDocument"]["Statement"]
    assert {s["Effect"] for s in statements} == {"Deny"}


def test_the_upload_bucket_keeps_versions_and_expires_old_ones(resources: dict[str, Any]) -> None:
    properties = resources["UploadBucket"]["Properties"]
    rules = {rule["Id"]: rule for rule in properties["LifecycleConfiguration"]["Rules"]}

    assert properties["VersioningConfiguration"] == {"Status": "Enabled"}
    assert rules["ExpireNoncurrentVersions"]["NoncurrentVersionExpiration"]["NoncurrentDays"] >= 1
    assert all(rule["Status"] == "Enabled" for rule in rules.values())
    assert not any("Expiration" in rule or "ExpirationInDays" in rule for rule in rules.values()), (
        "current uploads must never expire"
    )


@pytest.mark.parametrize("bucket", sorted(BUCKETS))
def test_every_bucket_aborts_incomplete_multipart_uploads(resources: dict[str, Any], bucket: str) -> None:
    rules = resources[bucket]["Properties"]["LifecycleConfiguration"]["Rules"]
    aborting = [rule for rule in rules if "AbortIncompleteMultipartUpload" in rule]
    assert len(aborting) == 1
    assert aborting[0]["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"] >= 1


def test_renditions_move_to_standard_ia_only_when_a_transition_is_asked_for(
    template: dict[str, Any],
) -> None:
    rules = template["Resources"]["ProcessedBucket"]["Properties"]["LifecycleConfiguration"]["Rules"]
    conditional = [rule["Fn::If"] for rule in rules if "Fn::If" in rule]

    assert len(conditional) == 1
    condition, rule, otherwise = conditional[0]
    assert template["Conditions"][condition] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "RenditionTransitionDays"}, "0"]}]
    }
    assert rule["Transitions"] == [
        {"StorageClass": "STANDARD_IA", "TransitionInDays": {"Ref": "RenditionTransitionDays"}}
    ]
    assert otherwise == {"Ref": "AWS::NoValue"}
    allowed = template["Parameters"]["RenditionTransitionDays"]["AllowedValues"]
    assert all(days == 0 or days >= 30 for days in allowed), "STANDARD_IA needs objects at least 30 days old"


def test_the_upload_bucket_notifies_the_queue_of_every_created_object(template: dict[str, Any]) -> None:
    notification = template["Resources"]["UploadBucket"]["Properties"]["NotificationConfiguration"]
    queue, _removals = notification["QueueConfigurations"]  # removals: tests/template/test_deletion.py

    assert set(notification) == {"QueueConfigurations"}
    assert queue["Event"] == "s3:ObjectCreated:*"
    assert queue["Queue"] == {"Fn::GetAtt": ["ProcessingQueue", "Arn"]}
    condition, with_prefix, without = queue["Filter"]["Fn::If"]
    assert template["Conditions"][condition] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "UploadKeyPrefix"}, ""]}]
    }
    assert with_prefix == {"S3Key": {"Rules": [{"Name": "prefix", "Value": {"Ref": "UploadKeyPrefix"}}]}}
    assert without == {"Ref": "AWS::NoValue"}


def test_replacing_the_upload_bucket_keeps_the_old_one_with_its_photos(resources: dict[str, Any]) -> None:
    assert resources["UploadBucket"]["UpdateReplacePolicy"] == "Retain"
