"""A queue of one's own subscribed to an SNS topic: how a run reads what a topic publishes.

The acceptance run and the load watcher both read the stack's notices this way, so neither consumes messages
meant for anyone else; the queue policy lets only that topic send to the queue.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, cast

if TYPE_CHECKING:  # the stubs are a lint dependency
    from mypy_boto3_sns import SNSClient
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sqs.literals import QueueAttributeNameType


def subscribe_queue(
    sqs: SQSClient,
    sns: SNSClient,
    queue_name: str,
    topic_arn: str,
    attributes: Mapping[str, str] | None = None,
) -> tuple[str, str]:
    """Create `queue_name`, let only `topic_arn` send to it, subscribe it; (queue URL, subscription ARN)."""
    given = cast("dict[QueueAttributeNameType, str]", dict(attributes or {}))
    url = sqs.create_queue(QueueName=queue_name, Attributes=given)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "sns.amazonaws.com"},
                "Action": "sqs:SendMessage",
                "Resource": arn,
                "Condition": {"ArnEquals": {"aws:SourceArn": topic_arn}},
            }
        ],
    }
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps(policy)})
    subscription = sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=arn, ReturnSubscriptionArn=True)
    return url, subscription["SubscriptionArn"]
