"""The accounting side of a run (master, or the only process): watcher loops, drain, read-back, report.

Kept out of locustfile.py because Locust imports each locustfile under its own module name: anything the
locustfile and this module share must live here, or it would be imported (and its listeners registered)
twice.
"""

from __future__ import annotations

import json
import logging
import math
import time
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import gevent
from botocore.exceptions import BotoCoreError, ClientError
from gevent.pool import Pool

from harness.outputs import StackOutput
from loadtests import report
from loadtests.accounting import Resolution, Upload, account, break_steps, highest_held_rate, timeline
from loadtests.layout import RenditionLayout, read_layout
from loadtests.lifecycle import account_lifecycle
from loadtests.progress import progress_of, write_progress
from loadtests.state import RunState
from loadtests.target import Target
from loadtests.watcher import Tracker

log = logging.getLogger("photopipe.load")
CLOUDWATCH_EVERY = 60.0
HEADS_PER_SECOND = 50  # the watcher's budget of rendition HEADs, most overdue first
PROGRESS_EVERY = 2.0


def stack_layout(target: Target) -> RenditionLayout:
    """The rendition keys the deployed function writes (refused, never guessed, when they cannot be read)."""
    return read_layout(target.session.client("lambda"), target.outputs[StackOutput.FUNCTION_NAME])


def report_dir(options: Any) -> Path:
    return Path(options.report_dir or Path("reports") / options.run_id)


def resolution_event(environment: Any, upload: Upload, resolution: Resolution) -> None:
    """One E2E request per photo: failed when the outcome is not what the fixture is owed. A photo deleted
    before it was seen processed has no end-to-end time: it is counted by the accounting alone."""
    if resolution.outcome == "deleted":
        return
    failure = None
    if upload.expected == "processed" and resolution.outcome != "processed":
        failure = RuntimeError(f"valid photo {resolution.outcome}: {resolution.error_type}")
    elif upload.expected == "rejected" and resolution.outcome == "processed":
        failure = RuntimeError("bad file processed")
    environment.events.request.fire(
        request_type="E2E",
        name=resolution.outcome,
        response_time=max(0.0, (resolution.at - upload.started) * 1000),
        response_length=upload.size,
        exception=failure,
        context={},
    )


def failure_event(environment: Any, upload: Upload, name: str, seconds: float, why: str) -> None:
    environment.events.request.fire(
        request_type="E2E",
        name=name,
        response_time=seconds * 1000,
        response_length=upload.size,
        exception=TimeoutError(why),
        context={},
    )


def start_tracker(environment: Any, ctx: RunState, options: Any, layout: RenditionLayout) -> Tracker:
    from botocore.config import Config

    assert ctx.target is not None
    session = ctx.target.session
    config = Config(max_pool_connections=32, retries={"mode": "standard"})

    def timed_out(upload: Upload) -> None:
        failure_event(
            environment,
            upload,
            "timeout",
            options.e2e_timeout,
            f"{upload.key} neither processed nor rejected within {options.e2e_timeout:.0f} s",
        )

    tracker = Tracker(
        s3=session.client("s3", config=config),
        sqs=session.client("sqs", config=config),
        sns=session.client("sns", config=config),
        outputs=ctx.target.outputs,
        rendition_keys=layout.keys,
        run_id=options.run_id,
        timeout=options.e2e_timeout,
        lifecycle_delay=options.lifecycle_delay,
        on_resolved=lambda upload, resolution: resolution_event(environment, upload, resolution),
        on_timeout=timed_out,
    )
    tracker.subscribe_errors()
    ctx.loops = []

    @environment.events.test_start.add_listener
    def _start_loops(**_kwargs: Any) -> None:
        ctx.run_started = time.time()
        ctx.cloudwatch_during = []
        ctx.loops = [
            gevent.spawn(_poll_loop, tracker),
            gevent.spawn(_error_loop, tracker),
            gevent.spawn(_snapshot_loop, tracker, ctx),
            gevent.spawn(_cloudwatch_loop, ctx),
        ]

    return tracker


def _poll_loop(tracker: Tracker) -> None:
    pool = Pool(8)
    while True:
        started = time.time()
        try:
            due = tracker.due(started, limit=HEADS_PER_SECOND // 10)
            if due:
                pool.map(tracker.check, due)
            followed = tracker.followed_due(started, limit=HEADS_PER_SECOND // 10)
            if followed:
                pool.map(tracker.follow, followed)
        except Exception:
            log.exception("rendition poll failed")
        gevent.sleep(max(0.0, 0.1 - (time.time() - started)))


def _error_loop(tracker: Tracker) -> None:
    while True:
        try:
            tracker.read_errors(wait_seconds=1)
        except Exception:
            log.exception("reading error notices failed")
            gevent.sleep(1)


def _snapshot_loop(tracker: Tracker, ctx: RunState) -> None:
    """The backlog for the report, and the progress for run.py's live panel."""
    assert ctx.run_started is not None
    assert ctx.spec is not None
    out = report_dir(ctx.need_options())
    while True:
        now = time.time()
        tracker.snapshot(now - ctx.run_started)
        latest = tracker.snapshots[-1]
        progress = progress_of(
            ctx.spec,
            now - ctx.run_started,
            now,
            tracker.uploads.values(),
            tracker.resolutions,
            timeout=tracker.timeout,
            queue_visible=latest.queue_visible,
            deleted=sum(d.ok for d in tracker.deletions.values()),
            reuploaded=sum(u.ok for u in tracker.reuploads.values()),
        )
        try:
            write_progress(out, progress)
        except OSError as exc:
            log.warning("cannot write the run's progress to %s: %s", out, exc)
        gevent.sleep(PROGRESS_EVERY)


def _cloudwatch_loop(ctx: RunState) -> None:
    """CloudWatch during the run: the pipeline's own counts so far, once a minute (they lag on AWS)."""
    assert ctx.run_started is not None
    while True:
        gevent.sleep(CLOUDWATCH_EVERY)
        try:
            figures = _cloudwatch(ctx, since=ctx.run_started)
        except (ClientError, BotoCoreError) as exc:
            log.warning("reading CloudWatch during the run failed: %s", exc)
            continue
        ctx.cloudwatch_during.append(
            {
                "t": round(time.time() - ctx.run_started, 1),
                **{k: figures.get(k) for k in ("Lambda Invocations Sum", "ProcessedImages Sum")},
            }
        )


def _cloudwatch(ctx: RunState, since: float) -> dict[str, float | None]:
    from harness.metrics import read_metrics

    assert ctx.target is not None
    result = read_metrics(
        ctx.target.session,
        ctx.target.stack_name,
        start=datetime.fromtimestamp(since, UTC) - timedelta(minutes=1),
        end=datetime.now(UTC) + timedelta(minutes=1),
        outputs=ctx.target.outputs,
    )
    ctx.cloudwatch_notes = result.notes
    return {item.label: item.value for item in result.values}


def finalize(environment: Any, ctx: RunState) -> None:
    """Stops the loops, reads S3/SQS back once more and reports every photo still unaccounted as lost."""
    if ctx.finalized or ctx.tracker is None or ctx.layout is None:
        return
    ctx.finalized = True
    for loop in ctx.loops:
        loop.kill(block=False)
    tracker = ctx.tracker
    options = ctx.options
    assert options is not None
    tracker.finalize(ctx.layout.prefixes(f"{options.key_prefix}{options.run_id}/"))
    now = time.time()
    for upload in tracker.pending():
        failure_event(environment, upload, "lost", now - upload.started, f"{upload.key} unaccounted")
    ctx.finished = now


def write_report(environment: Any, ctx: RunState) -> int:
    """Accounting, CloudWatch after the run, the files; returns the process exit code."""
    options, tracker, spec, target = ctx.options, ctx.tracker, ctx.spec, ctx.target
    assert options is not None
    assert tracker is not None
    assert spec is not None
    assert target is not None
    assert ctx.mix is not None
    uploads = list(tracker.uploads.values())
    result = account(uploads, tracker.resolutions, p95_threshold_ms=options.p95_ms)
    lifecycle = account_lifecycle(
        tracker.deletions.values(),
        tracker.reuploads.values(),
        present=tracker.present,
        rendition_keys=tracker.rendition_keys,
        fresh=tracker.fresh,
    )
    result.verdicts.update(lifecycle.verdicts)
    start = ctx.run_started or min((u.started for u in uploads), default=time.time())
    steps = []
    held = None
    if spec.name == "break":
        steps = break_steps(
            uploads,
            tracker.resolutions,
            start=start,
            step_seconds=spec.break_step,
            rates=[spec.break_rate(i) for i in range(spec.break_steps)],
            p95_threshold_ms=options.p95_ms,
        )
        held = highest_held_rate(steps)
        # A break run is meant to break: its verdict is the accounting (nothing lost), not the latency.
        result.verdicts = {k: v for k, v in result.verdicts.items() if not k.startswith("end-to-end")}
    delay = options.metrics_delay
    if delay is None:
        delay = 0.0 if target.is_local else 180.0
    if delay > 0:
        log.info("waiting %.0f s for CloudWatch to publish the run's metrics", delay)
        gevent.sleep(delay)
    cloudwatch: dict[str, float | None] = {}
    cloudwatch_error = None
    try:
        cloudwatch = _cloudwatch(ctx, since=start)
    except (ClientError, BotoCoreError) as exc:
        cloudwatch_error = f"{type(exc).__name__}: {exc}"
    out = report_dir(options)
    data = {
        "run_id": options.run_id,
        "target": target.describe(),
        "shape": {
            **asdict(spec),
            "load_seconds": spec.load_seconds,
            "expected_photos": spec.expected_photos(),
        },
        "mix": dict(ctx.mix.shares),
        "started": datetime.fromtimestamp(start, UTC).isoformat(),
        "finished": datetime.fromtimestamp(ctx.finished or time.time(), UTC).isoformat(),
        "stopped_early_at_s": None
        if ctx.stopped_early_at is None
        else round(ctx.stopped_early_at - start, 1),
        "accounting": result.to_json(),
        "lifecycle": lifecycle.to_json(),
        "notes": ctx.notes,
        "p95_threshold_ms": options.p95_ms,
        "e2e_timeout_s": options.e2e_timeout,
        "locust": report.locust_stats(environment.stats),
        "cloudwatch": cloudwatch,
        "cloudwatch_during": ctx.cloudwatch_during,
        "cloudwatch_notes": ctx.cloudwatch_notes + ([cloudwatch_error] if cloudwatch_error else []),
        "break": {"steps": [asdict(s) for s in steps], "highest_held_rate": held}
        if spec.name == "break"
        else None,
        "timeline": [
            asdict(b) for b in timeline(uploads, tracker.resolutions, start=start, width=_width(uploads))
        ],
        "backlog": [
            {
                "t": round(s.t, 1),
                "pending": s.pending,
                "queue_visible": s.queue_visible,
                "in_flight": s.queue_in_flight,
            }
            for s in tracker.snapshots
        ],
        "throughput": _throughput(uploads, tracker.resolutions),
        "watcher": {
            "rendition_heads": tracker.heads,
            "heads_per_upload": round(tracker.heads / len(uploads), 2) if uploads else None,
            "processed_at_look": tracker.looked,
        },
    }
    paths = report.write(out, data)
    dump_records(out / "uploads.jsonl", tracker)
    paths["uploads"] = out / "uploads.jsonl"
    print(report.summary(data, paths), flush=True)
    tracker.close()
    return 0 if result.passed else 1


def _width(uploads: list[Upload]) -> float:
    """Chart buckets: about 60 over the run, 1 to 10 s wide."""
    if not uploads:
        return 10.0
    span = max(u.started for u in uploads) - min(u.started for u in uploads)
    return float(min(10, max(1, round(span / 60))))


def _throughput(uploads: list[Upload], resolutions: dict[str, Resolution]) -> dict[str, float | None]:
    """Resolved photos per second over the busiest minute (sustained) and over the whole run."""
    times = sorted(r.at for k, r in resolutions.items())
    if len(times) < 2:
        return {"busiest_minute_per_s": None, "overall_per_s": None}
    best = 0
    j = 0
    for i, t in enumerate(times):
        while times[j] < t - 60:
            j += 1
        best = max(best, i - j + 1)
    span = max(1e-9, times[-1] - min(u.started for u in uploads))
    window = min(60.0, max(1e-9, times[-1] - times[0]))
    return {
        "busiest_minute_per_s": round(best / window, 3) if math.isfinite(window) else None,
        "overall_per_s": round(len(times) / span, 3),
    }


def dump_records(path: Path, tracker: Tracker) -> None:
    """Every upload and its resolution, one JSON line each (for the accounting's audit)."""
    with path.open("w") as handle:
        for key, upload in tracker.uploads.items():
            resolution = tracker.resolutions.get(key)
            handle.write(
                json.dumps(
                    {**upload.to_json(), "resolution": None if resolution is None else vars_of(resolution)}
                )
                + "\n"
            )


def vars_of(resolution: Resolution) -> dict[str, Any]:
    return {"outcome": resolution.outcome, "at": resolution.at, "error_type": resolution.error_type}
