"""After the load: the stack's buckets compared by `photopipe reconcile`'s own survey.

The accounting follows the photos this run uploaded, one by one; the survey looks at the buckets as they are
after the run, so a rendition left behind by a deleted photo, a photo whose renditions are incomplete or
from an older upload, or a stray object is found whoever caused it. Rejected photos carry their rejection
tag and are not drift. No grace period: the run has drained before this is asked.
"""

from __future__ import annotations

from typing import Any, Final

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from harness.pacing import DEFAULT_RATE, Pacer
from harness.reconcile import reconcile
from harness.stack import StackError
from harness.survey import resolve

VERDICT: Final = "reconcile after the run finds no drift"


def drift_after_run(session: boto3.Session, stack_name: str) -> dict[str, Any]:
    """Reconcile's report of the stack (counts, examples, rejections, fingerprint); nothing is mended. A
    survey that cannot finish is a failed verdict with its reason, never a run without a report."""
    try:
        return _survey(session, stack_name)
    except (BotoCoreError, ClientError, StackError) as exc:
        return {"drift": True, "error": f"{type(exc).__name__}: {exc}", "counts": {}, "examples": {}}


def _survey(session: boto3.Session, stack_name: str) -> dict[str, Any]:
    deployed = resolve(session, stack_name)
    result = reconcile(
        session.client("s3"),
        session.client("sqs"),
        deployed,
        region=str(session.region_name),
        fix=False,
        pacer=Pacer(DEFAULT_RATE),  # unused: fix=False sends nothing
        pending_after=None,
    )
    return result.to_json()


def with_drift(data: dict[str, Any], drift: dict[str, Any]) -> dict[str, Any]:
    """The report with the survey's result and its verdict; a drift fails the run like any other SLO."""
    accounting = data["accounting"]
    held = not drift["drift"]
    return {
        **data,
        "drift": drift,
        "accounting": {
            **accounting,
            "verdicts": {**accounting["verdicts"], VERDICT: held},
            "passed": bool(accounting["passed"]) and held,
        },
    }
