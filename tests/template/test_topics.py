"""Both topics are encrypted with the stack's key, limited to this account and TLS; email only when given."""

from __future__ import annotations

from typing import Any

import pytest

from .cfn import resources_of_type

THIS_STACKS_ALARMS = (
    "arn:${AWS::Partition}:cloudwatch:${AWS::Region}:${AWS::AccountId}:alarm:${AWS::StackName}-*"
)
TOPICS = {
    "ErrorTopic": ("ErrorTopicPolicy", "ErrorTopicEmailSubscription"),
    "AlarmTopic": ("AlarmTopicPolicy", "AlarmTopicEmailSubscription"),
}


def test_the_stack_has_the_two_topics(template: dict[str, Any]) -> None:
    assert set(resources_of_type(template, "AWS::SNS::Topic")) == set(TOPICS)


@pytest.mark.parametrize("topic", sorted(TOPICS))
def test_every_topic_is_encrypted_with_the_pipeline_key(resources: dict[str, Any], topic: str) -> None:
    assert resources[topic]["Properties"]["KmsMasterKeyId"] == {"Fn::GetAtt": ["PipelineKey", "Arn"]}


@pytest.mark.parametrize(("topic", "names"), sorted(TOPICS.items()))
def test_every_topic_policy_is_limited_to_this_account_and_tls(
    resources: dict[str, Any], topic: str, names: tuple[str, str]
) -> None:
    policy = resources[names[0]]["Properties"]
    statements = {s["Sid"]: s for s in policy["PolicyDocument"]["Statement"]}
    account = statements["ThisAccountOnly"]
    deny = statements["DenyPublishWithoutTls"]

    assert policy["Topics"] == [{"Ref": topic}]
    assert account["Principal"] == {"AWS": {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"}}
    assert deny["Effect"] == "Deny"
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    for statement in statements.values():
        assert statement["Resource"] == {"Ref": topic}


def test_only_this_stacks_alarms_may_publish_to_the_alarm_topic(resources: dict[str, Any]) -> None:
    statements = resources["AlarmTopicPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    alarms = {s["Sid"]: s for s in statements}["AlarmsOfThisStack"]

    assert alarms["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    assert alarms["Action"] == "sns:Publish"
    assert alarms["Condition"] == {
        "StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}},
        "ArnLike": {"aws:SourceArn": {"Fn::Sub": THIS_STACKS_ALARMS}},
    }


@pytest.mark.parametrize(("topic", "names"), sorted(TOPICS.items()))
def test_email_subscriptions_exist_only_when_an_email_is_given(
    template: dict[str, Any], topic: str, names: tuple[str, str]
) -> None:
    subscription = template["Resources"][names[1]]

    assert subscription["Condition"] == "HasNotificationEmail"
    assert template["Conditions"]["HasNotificationEmail"] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "NotificationEmail"}, ""]}]
    }
    assert subscription["Properties"] == {
        "TopicArn": {"Ref": topic},
        "Protocol": "email",
        "Endpoint": {"Ref": "NotificationEmail"},
    }
