"""The Lambda entry point: an SQS batch of S3 notifications in, one outcome per record out.

Outcomes follow the failure contract: a processed photo writes its renditions; a bad photo (or a malformed
message) is acknowledged with one notification; a failing dependency makes that record alone a batch item
failure, and on its last receive it is notified before SQS moves it to the dead-letter queue; records that are
not photos to process are skipped with a metric; a removed upload loses its renditions (the rule, for every
order of events, is in handler/removal.py). One record never affects another.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

from handler import capacity
from handler.config import Settings
from handler.constants import SkipReason
from handler.errors import ErrorType, PermanentError
from handler.events import (
    ObjectEvent,
    S3Notice,
    TestEvent,
    direct_notices,
    is_sqs_event,
    parse_body,
    parse_sqs_event,
)
from handler.imaging import OutputSpec, make_renditions
from handler.keys import key_fits, rendition_key, rendition_keys
from handler.notify import Notifier, Rejection
from handler.observability import Observability
from handler.rejection import REJECTION_NOT_TAGGED, mark_rejected
from handler.removal import current_object, is_current, is_removal, remove_renditions, removed_version
from handler.storage import ObjectGoneError, StaleEventError, Storage, refuse_declared_size

if TYPE_CHECKING:  # the stubs are a lint dependency; the runtime needs none of this
    from aws_lambda_powertools.utilities.typing import LambdaContext
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sns import SNSClient

Outcome = Literal["processed", "rejected", "skipped", "transient"]

# Explicit client timeouts and botocore's standard retry mode: a stuck connection costs seconds, not the
# function's whole timeout, and throttling is retried with backoff before the record is handed back to SQS.
# The read timeout bounds a silence between two reads, not a whole download: S3 answers its first byte in well
# under a second, so 10 s of silence is a dead connection. One call's worst case, every attempt silent, plus
# the standard mode's throttling backoff (at most 1 s, then 2 s), stays within the template's default
# Timeout (60 s): CALL_WORST_CASE_S. At Timeout 15 or 30 such a call is cut off by Lambda, which redelivers
# the batch.
CONNECT_TIMEOUT_S = 3
READ_TIMEOUT_S = 10
MAX_ATTEMPTS = 3
CALL_WORST_CASE_S = MAX_ATTEMPTS * (CONNECT_TIMEOUT_S + READ_TIMEOUT_S) + sum(
    2**n for n in range(MAX_ATTEMPTS - 1)
)
# A record is only started with this much of the invocation's time left: what the worst accepted photo needs
# at this container's memory size (14.5 s at the smallest allowed, 8.4 s from 1,769 MB up), derived in
# handler/capacity.py from `python -m harness.worstcase`.
MIN_REMAINING_MS = capacity.min_remaining_ms(os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE"))


@dataclass(frozen=True, slots=True)
class Dependencies:
    s3: S3Client
    sns: SNSClient


_settings: Settings | None = None
_deps: Dependencies | None = None
# One per service and namespace, built on first use (the settings name both).
_observability: dict[tuple[str, str], Observability] = {}


def default_dependencies() -> Dependencies:
    """boto3 clients, created on first use (boto3 itself is imported here, not at module import)."""
    import boto3
    from botocore.config import Config

    config = Config(
        connect_timeout=CONNECT_TIMEOUT_S,
        read_timeout=READ_TIMEOUT_S,
        retries={"mode": "standard", "total_max_attempts": MAX_ATTEMPTS},
        tcp_keepalive=True,
    )
    session = boto3.session.Session()
    return Dependencies(s3=session.client("s3", config=config), sns=session.client("sns", config=config))


def _init_in_lambda() -> None:
    """In the Lambda runtime, read the settings during init: a bad value fails the cold start, loudly, with
    the variable, the value and what is allowed, instead of failing every record."""
    global _settings
    if os.environ.get("AWS_LAMBDA_FUNCTION_NAME") and _settings is None:
        _settings = Settings.from_env(os.environ)


def lambda_handler(event: Any, context: LambdaContext) -> dict[str, Any] | None:
    """The function's entry point: settings and clients are built once per container, on first use."""
    global _settings, _deps
    if _settings is None:
        _settings = Settings.from_env(os.environ)
    if _deps is None:
        _deps = default_dependencies()
    return process_event(event, context, _settings, _deps)


def process_event(
    event: Any, context: LambdaContext, settings: Settings, deps: Dependencies
) -> dict[str, Any] | None:
    """SQS events get the partial batch response; a direct S3 event raises if a record must be retried."""
    obs = _observability_for(settings)
    request_id = str(context.aws_request_id or "")
    obs.correlate(request_id=request_id)
    pipeline = Pipeline(settings, deps, obs, request_id)
    try:
        if is_sqs_event(event):
            failures = []
            for message in parse_sqs_event(event):
                if _out_of_time(context):
                    # Handing the rest back now beats a timeout, which would redeliver the whole batch.
                    pipeline.hand_back(message.body, message.receive_count, message.message_id)
                    failures.append({"itemIdentifier": message.message_id})
                    continue
                obs.correlate(message_id=message.message_id)
                outcome = pipeline.handle_message(message.body, message.receive_count, message.message_id)
                if outcome == "transient":
                    failures.append({"itemIdentifier": message.message_id})
            obs.forget("message_id")
            return {"batchItemFailures": failures}
        try:
            notices = direct_notices(event)
        except PermanentError as exc:
            pipeline.reject(None, exc)
            return None
        outcomes = [pipeline.handle_notice(notice, 1, final=False) for notice in notices]
        if "transient" in outcomes:
            raise RuntimeError("a record failed transiently; the invocation is retried")
        return None
    finally:
        obs.flush()


def _out_of_time(context: LambdaContext) -> bool:
    return context.get_remaining_time_in_millis() < MIN_REMAINING_MS


def _observability_for(settings: Settings) -> Observability:
    key = (settings.service_name, settings.metrics_namespace)
    if key not in _observability:
        _observability[key] = Observability(settings)
    return _observability[key]


class Pipeline:
    """The per-record work of one invocation."""

    def __init__(self, settings: Settings, deps: Dependencies, obs: Observability, request_id: str) -> None:
        self.settings = settings
        self.deps_s3 = deps.s3
        self.storage = Storage(deps.s3, settings.processed_bucket, fingerprint=settings.fingerprint)
        self.notifier = Notifier(deps.sns, settings.error_topic_arn)
        self.obs = obs
        self.request_id = request_id
        self.outputs = tuple(OutputSpec(fmt, settings.output_quality) for fmt in settings.output_formats)

    # ------------------------------------------------------------------------------------------ records
    def handle_message(self, body: str, receive_count: int, message_id: str = "") -> Outcome:
        final = receive_count >= self.settings.max_receive_count
        try:
            notices = parse_body(body)
        except PermanentError as exc:
            detail = PermanentError(exc.error_type, f"SQS message {message_id}: {exc.reason}")
            return self.reject(None, detail)
        outcomes = [self.handle_notice(notice, receive_count, final=final) for notice in notices]
        return "transient" if "transient" in outcomes else outcomes[0]

    def handle_notice(self, notice: S3Notice, receive_count: int, *, final: bool) -> Outcome:
        if isinstance(notice, TestEvent):
            return self.skip(SkipReason.TEST_EVENT, "s3:TestEvent names no object")
        self.obs.correlate(bucket=notice.bucket, key=notice.key, version_id=notice.version_id)
        try:
            return self._process(notice)
        except PermanentError as exc:
            return self.reject(notice, exc)
        except ObjectGoneError:
            return self.skip(SkipReason.OBJECT_GONE, "the object was deleted before it was read")
        except StaleEventError as exc:
            return self.skip(SkipReason.STALE, str(exc))
        except Exception as exc:  # everything else is retried: the rule is in handler.errors
            return self.transient(notice, exc, receive_count, final=final)
        finally:
            self.obs.forget("bucket", "key", "version_id")

    def _process(self, event: ObjectEvent) -> Outcome:
        if is_removal(event) and self.settings.deletion_propagation:
            return self._remove(event)
        if not event.is_create:
            return self.skip(SkipReason.NOT_A_CREATE_EVENT, f"{event.event_name} is not an upload")
        started = time.perf_counter()
        keys = rendition_keys(self.settings, event.key)
        too_long = [key for key in keys if not key_fits(key)]
        if too_long:
            raise PermanentError(
                ErrorType.KEY_TOO_LONG,
                f"the rendition key would be {len(too_long[0].encode())} bytes, over S3's 1,024",
            )
        refuse_declared_size(event, self.settings.max_input_bytes)
        try:
            seen = self.storage.guard(event, keys)  # before paying for the download and the decode
        except StaleEventError:
            # A duplicate may be the retry of an attempt whose answer was lost before its check after the
            # writes: a removal that came meanwhile must still take what it wrote.
            if self._upload_removed(event):
                self._undo(event)
            raise
        self._require_current(event)
        data = self.storage.read(event, self.settings.max_input_bytes)
        renditions = make_renditions(
            data, self.settings.renditions, self.outputs, max_pixels=self.settings.max_pixels
        )
        writes = [(rendition_key(r.name, event.key, r.extension), r) for r in renditions]
        self.storage.write_all(event, writes, seen)
        if self._removed_meanwhile(event):
            return self.skip(SkipReason.OBJECT_GONE, "the upload was removed while it was processed")
        done = time.perf_counter()
        latency = (datetime.now(UTC) - event.event_time).total_seconds() * 1000 if event.event_time else None
        self.obs.processed(
            processing_ms=(done - started) * 1000,
            latency_ms=latency,
            input_bytes=len(data),
            output_bytes=sum(len(r.data) for r in renditions),
        )
        self.obs.logger.info(
            "processed",
            extra={"renditions": {key: [r.width, r.height, len(r.data)] for key, r in writes}},
        )
        return "processed"

    # ------------------------------------------------------------------------------------------ removals
    def _remove(self, event: ObjectEvent) -> Outcome:
        """Rule 1 of handler/removal.py: a removed upload's renditions are deleted, a live one's kept."""
        exists = current_object(self.deps_s3, event.bucket, event.key).exists
        removed = removed_version(self.deps_s3, event) if exists else None
        keys = rendition_keys(self.settings, event.key)
        result = remove_renditions(self.storage, event, keys, exists, removed)
        if not result.deleted and (exists or result.kept):
            detail = "the upload exists" if exists else f"a newer upload wrote {', '.join(result.kept)}"
            return self.skip(SkipReason.STALE_REMOVAL, f"nothing deleted: {detail}")
        self.obs.deleted()
        self.obs.logger.info("deleted", extra={"renditions": list(result.deleted), "kept": list(result.kept)})
        return "processed"

    def _require_current(self, event: ObjectEvent) -> None:
        """Rule 2, before the download: only the key's current object is rendered. A removed key also loses
        what an earlier attempt of this event may have written before its check after the writes failed."""
        if not self.settings.deletion_propagation:
            return
        current = current_object(self.deps_s3, event.bucket, event.key)
        if is_current(event, current):
            return
        if not current.exists:
            self._undo(event)
        raise ObjectGoneError("the upload was removed or replaced before it was read")

    def _upload_removed(self, event: ObjectEvent) -> bool:
        return self.settings.deletion_propagation and not (
            current_object(self.deps_s3, event.bucket, event.key).exists
        )

    def _removed_meanwhile(self, event: ObjectEvent) -> bool:
        """Rule 2, after the writes: a removal that came in between may have found nothing to delete yet."""
        if not self._upload_removed(event):
            return False
        self._undo(event)
        return True

    def _undo(self, event: ObjectEvent) -> None:
        """Rule 1 with this event's sequencer as the removal's: what it (or an older event) wrote goes."""
        undone = remove_renditions(self.storage, event, rendition_keys(self.settings, event.key), False)
        if undone.deleted:
            self.obs.logger.info("removed while processed", extra={"renditions": list(undone.deleted)})

    # ------------------------------------------------------------------------------------------ outcomes
    def skip(self, reason: SkipReason, detail: str) -> Outcome:
        self.obs.skipped(reason)
        self.obs.logger.info("skipped", extra={"reason": str(reason), "detail": detail})
        return "skipped"

    def reject(self, event: ObjectEvent | None, exc: PermanentError) -> Outcome:
        """Acknowledge a record no retry can fix; if the notice cannot be sent, retry the record instead."""
        try:
            self.notifier.publish(self._rejection(event, exc.error_type, exc.reason))
        except Exception as publish_error:
            self.obs.logger.warning(
                "rejection notice failed; the record is retried",
                extra={"error_type": str(exc.error_type), "error": repr(publish_error)},
            )
            return "transient"
        self.obs.error(exc.error_type)
        self.obs.logger.warning("rejected", extra={"error_type": str(exc.error_type), "reason": exc.reason})
        if event is not None and event.is_create:
            self._mark_rejected(event, exc.error_type)
        return "rejected"

    def _mark_rejected(self, event: ObjectEvent, error_type: ErrorType) -> None:
        """Tag the rejected upload (handler/rejection.py), best effort: the notice is already out, so a
        failure is logged, under one message that Logs Insights can count, and the rejection stands."""
        try:
            mark_rejected(self.deps_s3, event.bucket, event.key, event.version_id, str(error_type))
        except Exception as tag_error:
            self.obs.logger.warning(
                REJECTION_NOT_TAGGED, extra={"error_type": str(error_type), "error": repr(tag_error)}
            )

    def hand_back(self, body: str, receive_count: int, message_id: str) -> Outcome:
        """A record this invocation has no time left for: retried, and on its last receive notified first,
        since SQS moves it to the DLQ next (a record must not reach the DLQ unannounced)."""
        final = receive_count >= self.settings.max_receive_count
        self.obs.logger.warning(
            "too little time left; record handed back", extra={"id": message_id, "last_attempt": final}
        )
        if not final:
            return "transient"
        try:
            events: list[ObjectEvent | None] = [n for n in parse_body(body) if isinstance(n, ObjectEvent)]
        except PermanentError:
            events = []
        late = TimeoutError("the invocation ran out of time before this record")
        for event in events or [None]:
            self.transient(event, late, receive_count, final=True)
        return "transient"

    def transient(
        self, event: ObjectEvent | None, exc: Exception, receive_count: int, *, final: bool
    ) -> Outcome:
        self.obs.logger.warning(
            "transient failure; the record is retried",
            extra={"error": repr(exc), "receive_count": receive_count, "last_attempt": final},
        )
        if final:
            reason = f"gave up after {receive_count} attempts; last error: {type(exc).__name__}: {exc}"
            try:
                self.notifier.publish(self._rejection(event, ErrorType.RETRIES_EXHAUSTED, reason[:1000]))
            except Exception as publish_error:  # the DLQ still holds the record: nothing is lost
                self.obs.logger.error("retries-exhausted notice failed", extra={"error": repr(publish_error)})
            self.obs.error(ErrorType.RETRIES_EXHAUSTED)
        return "transient"

    def _rejection(self, event: ObjectEvent | None, error_type: ErrorType, reason: str) -> Rejection:
        return Rejection(
            bucket=event.bucket if event else None,
            key=event.key if event else None,
            version_id=event.version_id if event else None,
            error_type=error_type,
            reason=reason,
            request_id=self.request_id,
            time=datetime.now(UTC),
        )


_init_in_lambda()
