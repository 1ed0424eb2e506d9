"""The load test's own command-line options, shared by the locustfile (Locust's parser) and run.py.

Locust forwards custom options from the master to its workers with every spawn message, so the master can
resolve the target once and hand the workers the bucket names through the hidden options below.
"""

from __future__ import annotations

import argparse
import math
from typing import Any

from harness.contract import DEFAULT_STACK_NAME
from loadtests.mix import FixtureMix, parse
from loadtests.shapes import SHAPES, ShapeSpec

DEFAULTS = ShapeSpec()
# The default day is the mission's 4,000 photos on a diurnal curve (peak-to-mean 3), album bursts on top,
# compressed as far as this project's 2-core machine holds the 5-s p95: 48x, a day in 30 minutes peaking at
# 6.7 photos/s (run of 2026-12-01: 0 lost, p95 4.0 s). At 144x (10 minutes, peak 20/s) the function alone
# would need about four cores: with the imaging of 2026-12-01 it costs 180-230 ms CPU per photo of the mix,
# and the `break` shape held 6.75-10.1 photos/s, its p95 above 5 s at every step.
DEFAULT_TIME_SCALE = 48.0
DEFAULT_UPLOADERS = 16
BURST_UPLOADERS_PER_RATE = 2
DEFAULT_VOLUME_SCALE = 1.0
# A photo's life goes on after its upload: people delete photos (the privacy case: the renditions must go
# too) and replace them under the same key (the renditions must follow the newest). The delay lets most of
# them be processed first; a backlog makes some deletes and replacements overtake their first event.
DEFAULT_DELETE_SHARE = 0.05
DEFAULT_REUPLOAD_SHARE = 0.02
DEFAULT_LIFECYCLE_DELAY_S = 3.0
# Options only the run's processes pass among themselves (the master hands the workers what it resolved).
INTERNAL_PREFIX = "pp_"


def add_arguments(parser: Any, *, for_locust: bool = True) -> None:
    """Adds the options to an argparse/configargparse parser."""
    group = parser.add_argument_group("photopipe load") if hasattr(parser, "add_argument_group") else parser
    group.add_argument("--shape", choices=SHAPES, default="day", help="load shape (default: day)")
    group.add_argument(
        "--time-scale",
        type=float,
        default=DEFAULT_TIME_SCALE,
        help="how many times faster than real time a day runs (144: a day in 10 minutes)",
    )
    group.add_argument("--photos-per-day", type=float, default=DEFAULTS.photos_per_day)
    group.add_argument(
        "--volume-scale", type=float, default=DEFAULT_VOLUME_SCALE, help="x photos per day (default 1)"
    )
    group.add_argument("--peak-to-mean", type=float, default=DEFAULTS.peak_to_mean)
    group.add_argument("--rate", type=float, default=DEFAULTS.rate, help="photos/s of the steady shape")
    group.add_argument(
        "--duration", type=float, default=None, help="seconds of the steady (300) and soak (600) shapes"
    )
    group.add_argument("--break-start", type=float, default=DEFAULTS.break_start, help="photos/s of step 1")
    group.add_argument("--break-factor", type=float, default=DEFAULTS.break_factor)
    group.add_argument("--break-step", type=float, default=DEFAULTS.break_step, help="seconds per step")
    group.add_argument("--break-steps", type=int, default=DEFAULTS.break_steps)
    group.add_argument("--burst-photos", type=int, default=DEFAULTS.burst_photos)
    group.add_argument("--burst-seconds", type=float, default=DEFAULTS.burst_seconds)
    group.add_argument(
        "--mix", default="default", help="fixture mix: a preset or name=share,... summing to 1"
    )
    group.add_argument(
        "--uploaders",
        type=int,
        default=None,
        help=f"single-photo uploaders ({DEFAULT_UPLOADERS}; burst: {BURST_UPLOADERS_PER_RATE} per photo/s)",
    )
    group.add_argument("--album-users", type=int, default=2, help="users uploading albums in bursts")
    group.add_argument("--album-size", type=int, default=20, help="photos per album burst")
    group.add_argument("--album-share", type=float, default=0.25, help="share of photos uploaded in albums")
    group.add_argument(
        "--e2e-timeout", type=float, default=None, help="seconds before a photo is late (120; burst 300)"
    )
    group.add_argument(
        "--p95-ms",
        type=float,
        default=None,
        help="end-to-end p95 SLO threshold in ms (5000; break 20000; burst 120000)",
    )
    group.add_argument(
        "--stack-name", default=DEFAULT_STACK_NAME, help="the stack whose outputs name the target"
    )
    group.add_argument("--region", default=None, help="AWS region of the stack (default: the session's)")
    group.add_argument("--run-id", default="", help="names this run's keys and queue (default: generated)")
    group.add_argument("--key-prefix", default="loadtest/", help="upload key prefix (the stack's filter)")
    group.add_argument("--report-dir", default="", help="where the report goes (default: reports/<run id>)")
    group.add_argument(
        "--misdirect",
        type=int,
        default=0,
        help="testing the accounting: each uploading process sends its first N photos to a bucket the "
        "pipeline does not watch (the run must then fail)",
    )
    group.add_argument(
        "--metrics-delay", type=float, default=None, help="seconds to wait for CloudWatch before reading"
    )
    group.add_argument(
        "--delete-share",
        type=float,
        default=DEFAULT_DELETE_SHARE,
        help=f"share of valid photos deleted after --lifecycle-delay (default {DEFAULT_DELETE_SHARE})",
    )
    group.add_argument(
        "--reupload-share",
        type=float,
        default=DEFAULT_REUPLOAD_SHARE,
        help=f"share of valid photos uploaded again to the same key (default {DEFAULT_REUPLOAD_SHARE})",
    )
    group.add_argument(
        "--lifecycle-delay",
        type=float,
        default=DEFAULT_LIFECYCLE_DELAY_S,
        help=f"seconds after its upload that a photo is deleted or uploaded again "
        f"(default {DEFAULT_LIFECYCLE_DELAY_S:.0f})",
    )
    hidden = argparse.SUPPRESS
    group.add_argument("--pp-upload-bucket", default="", help=hidden)
    group.add_argument("--pp-unwatched-bucket", default="", help=hidden)
    group.add_argument("--pp-start", type=float, default=0.0, help=hidden)


def shape_spec(options: Any) -> ShapeSpec:
    name = options.shape
    duration = options.duration
    if duration is None:
        duration = 600.0 if name == "soak" else DEFAULTS.duration
    return ShapeSpec(
        name=name,
        time_scale=options.time_scale,
        photos_per_day=options.photos_per_day,
        volume_scale=options.volume_scale,
        peak_to_mean=options.peak_to_mean,
        rate=options.rate,
        duration=duration,
        break_start=options.break_start,
        break_factor=options.break_factor,
        break_step=options.break_step,
        break_steps=options.break_steps,
        burst_photos=options.burst_photos,
        burst_seconds=options.burst_seconds,
    )


def fixture_mix(options: Any) -> FixtureMix:
    return parse(options.mix)


class OptionError(ValueError):
    pass


# A burst is meant to queue: its SLO is that the backlog drains in time, not interactive latency. A break ends
# when photos come back later than 20 s, comparable with its earlier runs (the day's 5-s p95 would trip on
# the first album burst into a cold stack).
P95_MS = {"burst": 120_000.0, "break": 20_000.0}
DEFAULT_P95_MS = 5_000.0  # a photo's renditions within 5 s of its upload, 19 times in 20
E2E_TIMEOUT = {"burst": 300.0}


def apply_defaults(options: Any) -> None:
    """Shape-dependent defaults, filled in once (the master's values then reach every worker)."""
    if options.p95_ms is None:
        options.p95_ms = P95_MS.get(options.shape, DEFAULT_P95_MS)
    if options.e2e_timeout is None:
        options.e2e_timeout = E2E_TIMEOUT.get(options.shape, 120.0)
    if options.uploaders is None:
        # A user uploads one photo at a time: when a PUT takes longer than a user's share of the schedule,
        # the schedule slips. A burst's PUTs take 1-2 s on a saturated 2-core machine (9 ms on an idle one),
        # so each burst uploader has a 2-s share: many phones at once, as an album burst is.
        burst_rate = (
            math.ceil(options.burst_photos / options.burst_seconds) if options.burst_seconds > 0 else 0
        )
        options.uploaders = (
            max(DEFAULT_UPLOADERS, BURST_UPLOADERS_PER_RATE * burst_rate)
            if options.shape == "burst"
            else DEFAULT_UPLOADERS
        )


def check_users(options: Any) -> None:
    apply_defaults(options)
    if options.uploaders < 1:
        raise OptionError("--uploaders must be at least 1")
    shares = {"--delete-share": options.delete_share, "--reupload-share": options.reupload_share}
    bad = [f"{name}={value}" for name, value in shares.items() if not 0 <= value <= 1]
    if bad or options.delete_share + options.reupload_share > 1:
        raise OptionError(
            f"{', '.join(bad) or 'the shares'}: --delete-share and --reupload-share are shares of the valid "
            "photos from 0 to 1, together at most 1"
        )
    if options.lifecycle_delay < 0:
        raise OptionError(f"--lifecycle-delay={options.lifecycle_delay}: expected seconds >= 0")
    if options.album_users < 0 or options.album_size < 1 or not 0 <= options.album_share < 1:
        raise OptionError("--album-users >= 0, --album-size >= 1 and 0 <= --album-share < 1")
    if options.e2e_timeout <= 0 or options.p95_ms <= 0:
        raise OptionError("--e2e-timeout and --p95-ms must be positive")


def load_defaults() -> dict[str, Any]:
    """Every load option (what the locustfile adds to Locust's parser) and its default."""
    parser = argparse.ArgumentParser(add_help=False)
    add_arguments(parser)
    return vars(parser.parse_args([]))


def forwarded(options: Any) -> list[str]:
    """The load options to pass on to Locust's processes: every one the parser defines, except the internal
    ones, whose value is set and differs from its default (the defaults are Locust's own too)."""
    arguments: list[str] = []
    for name, default in load_defaults().items():
        value = getattr(options, name)
        if name.startswith(INTERNAL_PREFIX) or value is None or value == "" or value == default:
            continue
        arguments += [f"--{name.replace('_', '-')}", str(value)]
    return arguments
