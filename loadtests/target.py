"""Which stack the load goes to, checked before any photo is sent.

`--stack-name/--region` name a stack on AWS (its outputs name the buckets, queues and topic); with
`AWS_ENDPOINT_URL` set, the same names are looked up on that endpoint (the embedded local stack). Every way
this can be wrong is refused here with what to fix: no answer from the endpoint, an unknown region, no
credentials, no such stack, missing outputs.
"""

from __future__ import annotations

import os
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError, NoRegionError

from harness.outputs import StackOutput
from harness.stack import StackError, read_outputs

DEFAULT_REGION = "us-west-2"


class TargetError(Exception):
    """The target cannot take the load; the message says what to fix."""


@dataclass(frozen=True)
class Target:
    session: Any
    stack_name: str
    region: str
    endpoint_url: str | None
    outputs: dict[str, str]

    def describe(self) -> str:
        where = self.endpoint_url or f"AWS {self.region}"
        return f"stack {self.stack_name} at {where}"

    @property
    def is_local(self) -> bool:
        return self.endpoint_url is not None


def endpoint_answers(url: str, timeout: float = 3.0) -> str | None:
    """None when something answers HTTP at `url` (any status), else why not."""
    try:
        urllib.request.urlopen(url, timeout=timeout).close()
    except urllib.error.HTTPError:
        return None  # it answered, with an error status: that is an answer
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        return f"{type(exc).__name__}: {reason}"
    return None


def resolve(stack_name: str, region: str | None, endpoint_url: str | None = None) -> Target:
    endpoint_url = endpoint_url or os.environ.get("AWS_ENDPOINT_URL") or None
    if endpoint_url:
        problem = endpoint_answers(endpoint_url)
        if problem:
            raise TargetError(
                f"the endpoint {endpoint_url} (AWS_ENDPOINT_URL) does not answer ({problem}); start the "
                "local stack (`photopipe local`) or unset AWS_ENDPOINT_URL to target AWS"
            )
    session = boto3.Session(region_name=region) if region else boto3.Session()
    resolved = session.region_name or DEFAULT_REGION
    if not region and not session.region_name:
        session = boto3.Session(region_name=resolved)
    known = set(session.get_available_regions("cloudformation"))
    if not endpoint_url and resolved not in known:
        raise TargetError(f"region {resolved!r} is not an AWS region; pass --region, e.g. --region us-west-2")
    try:
        outputs = read_outputs(session, stack_name)
    except StackError as exc:
        raise TargetError(f"{exc}; check --stack-name and --region (or deploy it: nox -s deploy)") from None
    except NoCredentialsError:
        raise TargetError("no AWS credentials: configure a profile or AWS_* variables") from None
    except NoRegionError:
        raise TargetError("no region: pass --region") from None
    except (ClientError, BotoCoreError) as exc:
        raise TargetError(f"cannot read stack {stack_name!r} in {resolved}: {exc}") from None
    return Target(session, stack_name, resolved, endpoint_url, outputs)


def unwatched_bucket(target: Target, run_id: str) -> str:
    """A bucket of the run's own that no notification watches: photos sent there are never processed."""
    name = f"photopipe-unwatched-{run_id}".lower()[:63]
    s3 = target.session.client("s3", endpoint_url=target.endpoint_url)
    if target.region == "us-east-1":
        s3.create_bucket(Bucket=name)
    else:
        s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": target.region})
    return name


def required_outputs() -> tuple[str, ...]:
    return tuple(StackOutput)
