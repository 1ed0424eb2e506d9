"""The names the harness shares with the template and the load tests, each written once.

template/template.json is hand-kept JSON, so the harness cannot import its parameter names; instead they are
spelled here once, and one test compares this enum with the template in both directions. Whoever adds or
removes a template parameter changes `StackParameter` in the same commit.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Final

from handler.constants import METRICS_NAMESPACE

__all__ = [
    "DEFAULT_STACK_NAME",
    "LAMBDA_NAMESPACE",
    "METRICS_NAMESPACE",
    "ROOT",
    "SQS_NAMESPACE",
    "TEMPLATE_PATH",
    "StackParameter",
]

# Anchored on this file, never on the working directory: a command run from another folder reads the same
# template, and a missing template is an error rather than a silent fallback.
ROOT: Final = Path(__file__).resolve().parent.parent
TEMPLATE_PATH: Final = ROOT / "template" / "template.json"

# The stack the embedded local stack deploys, and the one the load tests target when given no other.
DEFAULT_STACK_NAME: Final = "photopipe-local"

# CloudWatch namespaces the harness reads and the local stack writes. The function's own namespace is the
# handler's fact (it emits the metrics); AWS's two are the services' own.
LAMBDA_NAMESPACE: Final = "AWS/Lambda"
SQS_NAMESPACE: Final = "AWS/SQS"


class StackParameter(StrEnum):
    """Every parameter of template/template.json, by the name CloudFormation takes."""

    NAME_PREFIX = "NamePrefix"
    NOTIFICATION_EMAIL = "NotificationEmail"
    RENDITIONS = "Renditions"
    OUTPUT_FORMATS = "OutputFormats"
    OUTPUT_QUALITY = "OutputQuality"
    RENDITION_TRANSITION_DAYS = "RenditionTransitionDays"
    MAX_INPUT_BYTES = "MaxInputBytes"
    MAX_PIXELS = "MaxPixels"
    UPLOAD_KEY_PREFIX = "UploadKeyPrefix"
    DELETION_PROPAGATION = "DeletionPropagation"
    RUNTIME = "Runtime"
    ARCHITECTURE = "Architecture"
    MEMORY_SIZE = "MemorySize"
    TIMEOUT = "Timeout"
    RESERVED_CONCURRENCY = "ReservedConcurrency"
    TRACING = "Tracing"
    LOG_RETENTION_DAYS = "LogRetentionDays"
    BATCH_SIZE = "BatchSize"
    MAXIMUM_BATCHING_WINDOW = "MaximumBatchingWindow"
    MAXIMUM_CONCURRENCY = "MaximumConcurrency"
    MAX_RECEIVE_COUNT = "MaxReceiveCount"
    CODE_S3_BUCKET = "CodeS3Bucket"
    CODE_S3_KEY = "CodeS3Key"
    CODE_S3_OBJECT_VERSION = "CodeS3ObjectVersion"
