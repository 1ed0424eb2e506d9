"""The benchmark's machinery: one real case in a fresh process, the target verdicts, the report."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness import bench
from harness.bench import CaseResult, prepare_fixtures, run_case, to_markdown, verdicts


def _result(
    method: str, cpu_ms: float, peak_delta_mb: float, fixture: str = bench.TARGET_FIXTURE
) -> CaseResult:
    return CaseResult(method, fixture, cpu_ms, [cpu_ms], cpu_ms, 50.0 + peak_delta_mb, 50.0, 1000)


def test_a_case_runs_in_a_fresh_process_and_reports_cpu_time_and_its_own_peak_memory(tmp_path: Path) -> None:
    paths = prepare_fixtures(["jpeg-0.3mp"], tmp_path)
    result = run_case("handler", "jpeg-0.3mp", paths["jpeg-0.3mp"], repeat=1)
    assert result.cpu_ms > 0
    assert result.output_bytes > 0
    assert result.peak_rss_mb >= result.baseline_rss_mb
    # The parent test process is far bigger than the case; a peak inherited across exec would show it.
    assert result.peak_rss_mb < bench.peak_rss_mb()


@pytest.mark.parametrize("method", ["naive", "floor"])
def test_the_reference_recipes_encode_something(method: str) -> None:
    from fixtures.generate import fixture_bytes

    assert bench.RECIPES[method](fixture_bytes("jpeg-0.3mp")) > 0


@pytest.mark.parametrize(("method", "magic"), [("handler-webp", b"WEBP"), ("handler-avif", b"ftypavif")])
def test_the_format_recipes_run_the_handler_with_the_format_they_name(method: str, magic: bytes) -> None:
    from fixtures.generate import fixture_bytes
    from handler.config import Settings
    from handler.imaging import OutputSpec, make_renditions

    data = fixture_bytes("jpeg-0.3mp")
    fmt = method.removeprefix("handler-").upper()
    settings = Settings(processed_bucket="b", error_topic_arn="")
    spec = OutputSpec(fmt, settings.output_quality)
    expected = make_renditions(data, settings.renditions, spec, max_pixels=settings.max_pixels)

    assert all(magic in r.data[:32] for r in expected)
    assert bench.RECIPES[method](data) == sum(len(r.data) for r in expected)


def test_verdicts_hold_the_benchmark_targets() -> None:
    checks = verdicts([_result("handler", 20, 10), _result("naive", 100, 100), _result("floor", 16, 10)])
    assert [(c.name, round(c.value, 2), c.passed) for c in checks] == [
        ("CPU time vs naive", 0.2, True),
        ("CPU time vs floor", 1.25, True),
        ("peak memory vs naive", 0.1, True),
    ]


def test_a_handler_slower_than_one_and_a_half_floors_fails_its_target() -> None:
    checks = verdicts([_result("handler", 20, 10), _result("naive", 100, 100), _result("floor", 10, 10)])
    assert [c.passed for c in checks] == [True, False, True]


def test_verdicts_need_the_three_reference_cases() -> None:
    with pytest.raises(ValueError, match="need handler, naive and floor"):
        verdicts([_result("handler", 20, 10)])


def test_the_markdown_lists_ratios_targets_and_import_costs() -> None:
    results = [_result("handler", 20, 10), _result("naive", 100, 100), _result("floor", 16, 10)]
    text = to_markdown(
        results,
        verdicts(results),
        {
            "boto3": {"wall_ms": 400.0, "cpu_ms": 150.0},
            "handler.app + Settings": {"wall_ms": 200.0, "cpu_ms": 80.0},
            "handler.app + Settings + boto3": {"wall_ms": 500.0, "cpu_ms": 200.0},
        },
    )
    assert "| jpeg-phone-12mp | handler | 20.0 | 0.20x | 1.25x |" in text
    assert "**PASS**" in text
    assert "0.50x importing boto3 alone" in text
    assert "On top of boto3 the handler adds 100.0 ms (1.25x boto3 alone)." in text
