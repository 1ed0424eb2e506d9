"""Load shapes: how many photos each one sends, when, and what it refuses."""

from __future__ import annotations

import argparse

import pytest

from loadtests.options import DEFAULT_UPLOADERS, add_arguments, apply_defaults
from loadtests.shapes import ShapeError, ShapeSpec, diurnal, peak_to_mean_of


@pytest.mark.parametrize("time_scale", [288.0, 96.0, 1.0])
def test_the_day_integrates_to_4000_photos_whatever_the_time_scale(time_scale: float) -> None:
    spec = ShapeSpec(name="day", time_scale=time_scale)
    assert spec.expected_photos() == pytest.approx(4000, rel=1e-3)
    assert spec.load_seconds == pytest.approx(86_400 / time_scale)


def test_the_day_scales_with_the_volume_scale() -> None:
    assert ShapeSpec(name="day", volume_scale=2.5).expected_photos() == pytest.approx(10_000, rel=1e-3)


@pytest.mark.parametrize("peak_to_mean", [1.0, 2.0, 3.0, 5.0])
def test_the_day_peaks_at_the_requested_multiple_of_its_mean(peak_to_mean: float) -> None:
    assert peak_to_mean_of(ShapeSpec(name="day", peak_to_mean=peak_to_mean)) == pytest.approx(
        peak_to_mean, rel=1e-3
    )


def test_the_day_peaks_in_the_evening_and_is_quietest_at_night() -> None:
    assert diurnal(20 / 24, 3.0) == pytest.approx(3.0)
    assert diurnal(8 / 24, 3.0) < diurnal(12 / 24, 3.0) < diurnal(18 / 24, 3.0)


def test_a_peak_below_the_mean_is_refused() -> None:
    with pytest.raises(ShapeError, match="peak-to-mean must be >= 1"):
        ShapeSpec(name="day", peak_to_mean=0.5)


def test_the_burst_sends_500_photos_in_10_seconds() -> None:
    spec = ShapeSpec(name="burst")
    assert spec.expected_photos() == pytest.approx(500)
    assert spec.time_of(500) == pytest.approx(10.0)
    assert spec.rate_at(10.0) == 0.0


def test_the_soak_holds_the_days_peak_rate_for_at_least_ten_minutes() -> None:
    spec = ShapeSpec(name="soak", duration=600.0, time_scale=24.0)
    assert spec.rate_at(300.0) == pytest.approx(ShapeSpec(name="day", time_scale=24.0).peak_rate)
    assert spec.expected_photos() == pytest.approx(spec.peak_rate * 600, rel=1e-3)
    with pytest.raises(ShapeError, match="at least 600 s"):
        ShapeSpec(name="soak", duration=300.0)


def test_the_break_shape_steps_the_rate_up_by_its_factor() -> None:
    spec = ShapeSpec(name="break", break_start=2.0, break_factor=1.5, break_step=30.0, break_steps=4)
    assert [spec.rate_at(t) for t in (0.0, 31.0, 61.0, 91.0, 121.0)] == [2.0, 3.0, 4.5, 6.75, 0.0]
    assert spec.expected_photos() == pytest.approx(30 * (2 + 3 + 4.5 + 6.75), rel=1e-3)


def test_time_of_is_the_inverse_of_the_cumulative_count() -> None:
    spec = ShapeSpec(name="day", time_scale=288.0)
    for photos in (1.0, 250.0, 2000.0, 3999.0):
        t = spec.time_of(photos)
        assert t is not None
        assert spec.cumulative(t) == pytest.approx(photos, abs=0.05)
    assert spec.time_of(4001.0) is None


def test_steady_sends_rate_times_duration() -> None:
    assert ShapeSpec(name="steady", rate=4.0, duration=30.0).expected_photos() == pytest.approx(120.0)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"name": "ramp"}, "unknown shape"),
        ({"name": "steady", "rate": 0.0}, "--rate=0.0"),
        ({"name": "day", "time_scale": -1.0}, "--time-scale=-1.0"),
        ({"name": "break", "break_factor": 1.0}, "--break-factor"),
    ],
)
def test_options_that_make_no_load_are_refused(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ShapeError, match=message):
        ShapeSpec(**kwargs)  # type: ignore[arg-type]


def _options(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    options = parser.parse_args(argv)
    apply_defaults(options)
    return options


def test_a_burst_gets_two_uploaders_per_photo_per_second_so_slow_puts_do_not_slip_its_schedule() -> None:
    assert _options("--shape", "burst").uploaders == 100
    assert _options("--shape", "burst", "--burst-photos", "50").uploaders == DEFAULT_UPLOADERS
    assert _options("--shape", "day").uploaders == DEFAULT_UPLOADERS
    assert _options("--shape", "burst", "--uploaders", "8").uploaders == 8


def test_the_default_day_is_the_full_4000_photos() -> None:
    import argparse

    from loadtests.options import add_arguments, shape_spec

    parser = argparse.ArgumentParser()
    add_arguments(parser)
    spec = shape_spec(parser.parse_args([]))

    assert (spec.name, spec.volume_scale) == ("day", 1.0)
    assert spec.expected_photos() == pytest.approx(4000, rel=1e-3)
