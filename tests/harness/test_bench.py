"""The benchmark's machinery: one real case in a fresh process, scored; the targets; the gates; the report."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from handler.config import Settings
from harness.measures import bench
from harness.measures.bench import (
    CaseResult,
    prepare_fixtures,
    quality_failures,
    run_case,
    to_markdown,
    verdicts,
)
from harness.measures.quality import FixtureReference

FIXTURE = "detail-2mp-just-over-2x"


def _result(
    method: str,
    cpu_ms: float,
    peak_delta_mb: float,
    fixture: str = bench.TARGET_FIXTURE,
    ssim: float | None = None,
) -> CaseResult:
    quality: dict[str, dict[str, Any]] = {}
    if ssim is not None:
        scores = {"size": [1, 1], "bytes": 1, "ssim": ssim, "psnr": 30.0, "delta_e": 0.5, "alias": None}
        quality = {name: {**scores, "stripes": {}} for name in bench.RENDITION_NAMES}
    return CaseResult(
        method, fixture, cpu_ms, [cpu_ms], cpu_ms, 50.0 + peak_delta_mb, 50.0, 1000, 0.0, quality
    )


def test_a_case_runs_in_a_fresh_process_and_reports_cpu_time_its_own_peak_and_its_renditions(
    tmp_path: Path,
) -> None:
    paths = prepare_fixtures([FIXTURE], tmp_path / "in")
    result, renditions = run_case("handler", FIXTURE, paths[FIXTURE], 1, tmp_path / "out")
    assert result.cpu_ms > 0
    assert set(renditions) == {"large", "thumbnail"}
    assert result.output_bytes == sum(len(r) for r in renditions.values())
    assert result.peak_rss_mb >= result.baseline_rss_mb
    # The parent test process is far bigger than the case; a peak inherited across exec would show it.
    assert result.peak_rss_mb < bench.peak_rss_mb()


def test_a_scored_case_carries_the_quality_of_each_rendition(tmp_path: Path) -> None:
    paths = prepare_fixtures([FIXTURE], tmp_path / "in")
    result, renditions = run_case("naive-q85", FIXTURE, paths[FIXTURE], 1, tmp_path / "out")
    specs = Settings(processed_bucket="b", error_topic_arn="").renditions
    reference = FixtureReference.build(FIXTURE, specs)
    scored = bench.with_quality(result, renditions, reference)
    assert set(scored.quality) == {"large", "thumbnail"}
    assert 0.8 < (scored.ssim("large") or 0) < 1.0


def test_an_unknown_fixture_is_refused_with_the_known_names(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"unknown fixture.*known: detail-12mp-4x3"):
        prepare_fixtures(["no-such-photo"], tmp_path)


@pytest.mark.parametrize("method", ["naive-q85", "naive-q90", "floor"])
def test_the_reference_recipes_encode_something(method: str) -> None:
    from fixtures.detail import detail_bytes

    out = bench.RECIPES[method](detail_bytes("detail-2mp-png"))
    assert out
    assert all(len(data) > 0 for data in out.values())


@pytest.mark.parametrize(("method", "magic"), [("handler-webp", b"WEBP"), ("handler-avif", b"ftypavif")])
def test_the_format_recipes_run_the_handler_with_the_format_they_name(method: str, magic: bytes) -> None:
    from fixtures.detail import detail_bytes
    from handler.imaging import OutputSpec, make_renditions

    data = detail_bytes("detail-2mp-png")
    fmt = method.removeprefix("handler-").upper()
    settings = Settings(processed_bucket="b", error_topic_arn="")
    spec = OutputSpec(fmt, settings.output_quality)
    expected = make_renditions(data, settings.renditions, spec, max_pixels=settings.max_pixels)

    assert all(magic in r.data[:32] for r in expected)
    assert bench.RECIPES[method](data) == {r.name: r.data for r in expected}


def test_verdicts_hold_the_benchmark_targets() -> None:
    checks = verdicts([_result("handler", 25, 10), _result("naive-q85", 100, 100), _result("pyvips", 30, 20)])
    assert [(c.name, round(c.value, 2), c.passed) for c in checks] == [
        ("CPU time vs pyvips thumbnail", 0.83, True),
        ("CPU time vs naive", 0.25, True),
        ("peak memory vs naive", 0.1, True),
    ]


def test_a_handler_slower_than_pyvips_fails_its_target() -> None:
    checks = verdicts([_result("handler", 25, 10), _result("naive-q85", 100, 100), _result("pyvips", 20, 10)])
    assert [c.passed for c in checks] == [False, True, True]


def test_verdicts_need_the_three_reference_cases() -> None:
    with pytest.raises(ValueError, match="need handler, naive-q85 and pyvips"):
        verdicts([_result("handler", 20, 10)])


def test_the_quality_gate_names_each_rendition_below_the_naive_ssim() -> None:
    reference = FixtureReference("photo", "photo", (100, 100), {})
    results = [
        _result("handler", 20, 10, "photo", ssim=0.9200),
        _result("naive-q85", 100, 100, "photo", ssim=0.9230),
    ]
    assert quality_failures(results, {"photo": reference}, "handler") == [
        "photo large: SSIM 0.9200 is below the naive recipe's 0.9230 - 0.002",
        "photo thumbnail: SSIM 0.9200 is below the naive recipe's 0.9230 - 0.002",
    ]
    results[0] = _result("handler", 20, 10, "photo", ssim=0.9211)
    assert quality_failures(results, {"photo": reference}, "handler") == []


def test_the_markdown_puts_speed_and_quality_side_by_side() -> None:
    results = [
        _result("handler", 25, 10, ssim=0.93),
        _result("naive-q85", 100, 100, ssim=0.93),
        _result("pyvips", 30, 20, ssim=0.92),
    ]
    text = to_markdown(
        results,
        verdicts(results),
        {
            "boto3": {"wall_ms": 400.0, "cpu_ms": 150.0},
            "handler.app + Settings": {"wall_ms": 200.0, "cpu_ms": 80.0},
            "handler.app + Settings + boto3": {"wall_ms": 500.0, "cpu_ms": 200.0},
        },
        {"handler": [], "pyvips": ["detail-12mp-portrait large: SSIM too low"]},
    )
    assert (
        "| detail-12mp-portrait | handler | 25.0 | 0.25x | 0.83x | 10.0 | 1,000 | 0.9300 | 0.9300 |" in text
    )
    assert "- handler: **PASS**" in text
    assert "- pyvips: **FAIL** (1)" in text
    assert "0.50x importing boto3 alone" in text
    assert "On top of boto3 the handler adds 100.0 ms (1.25x boto3 alone)." in text
