"""Users, the load shape and the wiring between uploading processes and the accounting.

Uploads happen wherever users run (workers in distributed mode); each one is reported to Locust as an
"S3 PUT" request and sent to the master as a custom message. The master (or the single local process) owns
the watcher, reports every photo's end-to-end latency as an "E2E" request, drains the pipeline when the
shape's load is over, reads back S3, SQS and CloudWatch, writes the report and sets the exit code.

    locust -f loadtests --headless --shape steady --rate 2 --duration 30 --stack-name photopipe-local
"""

from __future__ import annotations

import logging
import os
import random
import sys
import time
from typing import Any

import gevent
from locust import LoadTestShape, User, constant, events, task
from locust.runners import MasterRunner, WorkerRunner

from fixtures.generate import BY_NAME, fixture_bytes
from harness.outputs import StackOutput
from loadtests import coordinator
from loadtests import options as opts
from loadtests import target as targets
from loadtests.accounting import Upload
from loadtests.layout import LayoutError
from loadtests.lifecycle import DELETE, KEEP, REUPLOAD, Deletion, choose_fate, judged_delete_share
from loadtests.state import RunState
from loadtests.watcher import new_run_id

log = logging.getLogger("photopipe.load")
UPLOAD_MESSAGE = "photopipe:upload"
DELETE_MESSAGE = "photopipe:delete"
REUPLOAD_MESSAGE = "photopipe:reupload"
DRAIN_GRACE = 3.0  # seconds after the load for in-flight uploads to be reported
BREAK_LATE_SHARE = 0.05  # the break shape stops once this share of photos is later than the p95 threshold


CTX = RunState()


@events.init_command_line_parser.add_listener
def _add_arguments(parser: Any) -> None:
    opts.add_arguments(parser)


def _owns_accounting(environment: Any) -> bool:
    return not isinstance(environment.runner, WorkerRunner)


def _uploads(environment: Any) -> bool:
    return not isinstance(environment.runner, MasterRunner)


@events.init.add_listener
def _init(environment: Any, **_kwargs: Any) -> None:
    options = environment.parsed_options
    if options is None:
        return
    if _owns_accounting(environment):
        try:
            opts.check_users(options)
            CTX.mix = opts.fixture_mix(options)
            CTX.spec = opts.shape_spec(options)
            CTX.target = targets.resolve(options.stack_name, options.region)
            CTX.layout = coordinator.stack_layout(CTX.target)
        except (ValueError, targets.TargetError, LayoutError) as exc:
            sys.stderr.write(f"photopipe load: {exc}\n")
            sys.exit(2)
        options.delete_share, why = judged_delete_share(CTX.layout.settings, options.delete_share)
        if why:
            log.warning(why)
            CTX.notes.append(why)
        options.run_id = options.run_id or new_run_id()
        options.region = CTX.target.region
        options.pp_upload_bucket = CTX.target.outputs[StackOutput.UPLOAD_BUCKET]
        if options.misdirect > 0:
            options.pp_unwatched_bucket = targets.unwatched_bucket(CTX.target, options.run_id)
        CTX.options = options
        CTX.tracker = coordinator.start_tracker(environment, CTX, options, CTX.layout)
        environment.runner.register_message(UPLOAD_MESSAGE, _on_upload)
        environment.runner.register_message(DELETE_MESSAGE, _on_delete)
        environment.runner.register_message(REUPLOAD_MESSAGE, _on_reupload)
        AlbumUploader.fixed_count = options.album_users
        log.info("run %s against %s (%s)", options.run_id, CTX.target.describe(), CTX.spec.name)
    if _uploads(environment):
        # Built before the load so no photo's PUT time includes generating its bytes.
        mix = opts.fixture_mix(options)
        for name in mix.names:
            fixture_bytes(name)


@events.test_start.add_listener
def _test_start(environment: Any, **_kwargs: Any) -> None:
    options = environment.parsed_options
    CTX.options = options
    CTX.spec = opts.shape_spec(options)
    CTX.mix = opts.fixture_mix(options)
    CTX.start = time.time()
    CTX.load_ended_at = CTX.stopped_early_at = None
    if _uploads(environment):
        import boto3
        from botocore.config import Config

        CTX.s3 = boto3.client(
            "s3",
            region_name=options.region,
            config=Config(max_pool_connections=64, retries={"mode": "standard"}),
        )
        runner = environment.runner
        CTX.worker = getattr(runner, "client_id", "local")[-8:]


def _on_upload(environment: Any, msg: Any, **_kwargs: Any) -> None:
    if CTX.tracker is not None:
        CTX.tracker.add(Upload.from_json(msg.data))


def _on_delete(environment: Any, msg: Any, **_kwargs: Any) -> None:
    if CTX.tracker is not None:
        CTX.tracker.deleted(Deletion.from_json(msg.data))


def _on_reupload(environment: Any, msg: Any, **_kwargs: Any) -> None:
    if CTX.tracker is not None:
        CTX.tracker.reuploaded(Upload.from_json(msg.data))


# ----------------------------------------------------------------------------------------- users
class _PacedUploader(User):
    """Uploads on the shared schedule: user i of n takes its 1/n of the photos due by the shape's curve, at
    a random phase, so the total follows the curve whatever the user count and whichever worker runs it."""

    abstract = True
    wait_time = constant(0)
    album = False

    def on_start(self) -> None:
        self.rng = random.Random()
        self.phase = self.rng.random()
        self.index = next(CTX.user_ids)
        self.done = 0

    def share(self) -> float:
        """This class's share of the photos: albums take --album-share when there are album users."""
        options = CTX.need_options()
        album_share = float(options.album_share) if options.album_users > 0 else 0.0
        return album_share if self.album else 1.0 - album_share

    def batch(self) -> int:
        return int(CTX.need_options().album_size) if self.album else 1

    def users_of_class(self) -> int:
        options = CTX.need_options()
        return max(1, int(options.album_users)) if self.album else int(options.uploaders)

    @task
    def upload(self) -> None:
        spec = CTX.spec
        if spec is None or CTX.s3 is None or self.share() <= 0:
            gevent.sleep(1)
            return
        photos = (self.done + 1 - self.phase) * self.users_of_class() * self.batch() / self.share()
        due = spec.time_of(photos)
        if due is None:  # this user's part of the load is over; the master ends the run after the drain
            gevent.sleep(1)
            return
        gevent.sleep(max(0.0, CTX.start + due - time.time()))
        self.done += 1
        if self.batch() == 1:
            self.put_one()
        else:
            group = [gevent.spawn(self.put_one) for _ in range(self.batch())]
            gevent.joinall(group)

    def put_one(self) -> None:
        options = CTX.need_options()
        assert CTX.mix is not None
        name = CTX.mix.choose(self.rng)
        bucket = options.pp_upload_bucket
        if options.misdirect > 0 and CTX.misdirected < options.misdirect and options.pp_unwatched_bucket:
            CTX.misdirected += 1
            bucket = options.pp_unwatched_bucket
        unique = f"{CTX.worker}-{self.index}-{self.rng.getrandbits(40):010x}"
        key = f"{options.key_prefix}{options.run_id}/{unique}-{BY_NAME[name].filename}"
        fate = (
            choose_fate(
                self.rng,
                BY_NAME[name].expected,
                delete_share=options.delete_share,
                reupload_share=options.reupload_share,
            )
            if bucket == options.pp_upload_bucket
            else KEEP  # a misdirected photo must stay lost, not be excused by its deletion
        )
        record = self.put(bucket, key, name, then=fate)
        self.environment.runner.send_message(UPLOAD_MESSAGE, record.to_json())
        if record.ok and fate == DELETE:
            gevent.spawn_later(options.lifecycle_delay, self.delete, bucket, key)
        elif record.ok and fate == REUPLOAD:
            gevent.spawn_later(options.lifecycle_delay, self.reupload, bucket, key, name)

    def put(self, bucket: str, key: str, name: str, *, then: str = KEEP) -> Upload:
        """One PUT, reported to Locust as an "S3 PUT" request; returns what the accounting is told."""
        assert CTX.s3 is not None
        fixture = BY_NAME[name]
        data = fixture_bytes(name)
        started = time.time()
        error: Exception | None = None
        answer: dict[str, Any] = {}
        try:
            put = CTX.s3.put_object(Bucket=bucket, Key=key, Body=data, ContentType=fixture.content_type)
            answer = dict(put)
        except Exception as exc:  # reported to Locust as the PUT's failure and to the accounting
            error = exc
        finished = time.time()
        self.environment.events.request.fire(
            request_type="S3 PUT",
            name=name,
            response_time=(finished - started) * 1000,
            response_length=len(data),
            exception=error,
            context={"fixture": name},
        )
        return Upload(
            key=key,
            bucket=bucket,
            fixture=name,
            expected=fixture.expected,
            size=len(data),
            started=started,
            finished=finished,
            ok=error is None,
            worker=CTX.worker,
            album=self.album,
            error=None if error is None else f"{type(error).__name__}: {error}",
            then=then,
            etag=str(answer.get("ETag", "")).strip('"'),
            version_id=str(answer.get("VersionId") or ""),
        )

    def delete(self, bucket: str, key: str) -> None:
        """The owner deletes the photo (a delete marker in the versioned upload bucket)."""
        assert CTX.s3 is not None
        started = time.time()
        error: Exception | None = None
        try:
            CTX.s3.delete_object(Bucket=bucket, Key=key)
        except Exception as exc:  # reported to Locust as the DELETE's failure and to the accounting
            error = exc
        finished = time.time()
        self.environment.events.request.fire(
            request_type="S3 DELETE",
            name="photo",
            response_time=(finished - started) * 1000,
            response_length=0,
            exception=error,
            context={},
        )
        deletion = Deletion(key, started, finished, error is None, None if error is None else str(error))
        self.environment.runner.send_message(DELETE_MESSAGE, deletion.to_json())

    def reupload(self, bucket: str, key: str, first: str) -> None:
        """The owner replaces the photo under the same key, with another valid photo where the mix has one
        (so its renditions' source ETag tells the two uploads apart)."""
        assert CTX.mix is not None
        valid = [n for n in CTX.mix.names if BY_NAME[n].expected == "processed"]
        others = [n for n in valid if n != first] or [first]
        record = self.put(bucket, key, self.rng.choice(others))
        self.environment.runner.send_message(REUPLOAD_MESSAGE, record.to_json())


class PhotoUploader(_PacedUploader):
    """One photo at a time, like a phone syncing its camera roll."""

    weight = 1


class AlbumUploader(_PacedUploader):
    """An album: `album_size` photos uploaded at once by one user."""

    fixed_count = 2
    album = True


# ----------------------------------------------------------------------------------------- shape
class PhotopipeShape(LoadTestShape):
    """Keeps the uploaders alive for the shape's load, then drains: no users, until every photo is resolved
    or late; the break shape ends its load early once photos come back later than the SLO."""

    def tick(self) -> tuple[int, float, list[type[User]]] | tuple[int, float] | None:
        options, spec, tracker = CTX.options, CTX.spec, CTX.tracker
        if options is None or spec is None or tracker is None:
            return (1, 1) if self.get_run_time() < 30 else None  # waiting for test_start
        users = options.uploaders + options.album_users
        classes: list[type[User]] = [PhotoUploader, AlbumUploader] if options.album_users else [PhotoUploader]
        now = time.time()
        t = self.get_run_time()
        if CTX.load_ended_at is None and t < spec.load_seconds:
            if spec.name == "break" and _break_is_broken(now):
                CTX.stopped_early_at = CTX.load_ended_at = now
                log.warning("break: photos are later than %.0f ms at %.1f s; draining", options.p95_ms, t)
                return (0, users)
            return (users, users, classes)
        if CTX.load_ended_at is None:
            CTX.load_ended_at = now
        if now - CTX.load_ended_at < DRAIN_GRACE:
            return (0, users)
        if tracker.awaited(now):
            return (0, users)
        if self.runner is not None:  # tick() is only called by a runner; None is the unbound shape
            coordinator.finalize(self.runner.environment, CTX)
        return None


def _break_is_broken(now: float) -> bool:
    tracker, options = CTX.tracker, CTX.need_options()
    assert tracker is not None
    threshold = options.p95_ms / 1000
    old_enough = [u for u in tracker.uploads.values() if u.ok and now - u.started > threshold]
    if len(old_enough) < 20:
        return False
    late = tracker.overdue(now, threshold)
    return len(late) > BREAK_LATE_SHARE * len(old_enough)


@events.quitting.add_listener
def _quitting(environment: Any, **_kwargs: Any) -> None:
    if not _owns_accounting(environment) or CTX.tracker is None:
        return
    if not CTX.finalized:
        coordinator.finalize(environment, CTX)
    environment.process_exit_code = coordinator.write_report(environment, CTX)


if os.environ.get("PHOTOPIPE_LOAD_DEBUG"):
    logging.getLogger("photopipe").setLevel(logging.DEBUG)
