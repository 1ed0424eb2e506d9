"""Stack output keys: the template declares them, the harness, load tests and CLI read them by these names."""

from __future__ import annotations

from enum import StrEnum


class StackOutput(StrEnum):
    UPLOAD_BUCKET = "UploadBucketName"
    PROCESSED_BUCKET = "ProcessedBucketName"
    PROCESSING_QUEUE_URL = "ProcessingQueueUrl"
    PROCESSING_QUEUE_ARN = "ProcessingQueueArn"
    DEAD_LETTER_QUEUE_URL = "DeadLetterQueueUrl"
    DEAD_LETTER_QUEUE_ARN = "DeadLetterQueueArn"
    FUNCTION_NAME = "FunctionName"
    FUNCTION_ARN = "FunctionArn"
    LOG_GROUP_NAME = "LogGroupName"
    ERROR_TOPIC_ARN = "ErrorTopicArn"
    ALARM_TOPIC_ARN = "AlarmTopicArn"
    DASHBOARD_NAME = "DashboardName"
    DASHBOARD_URL = "DashboardUrl"
    METRICS_NAMESPACE = "MetricsNamespace"
    SERVICE_NAME = "ServiceName"
