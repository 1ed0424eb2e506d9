"""The cost model: CPU share by memory, duration, billing, and the cheapest/fastest choice."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.measures import costmodel
from harness.measures.costmodel import (
    Prices,
    Workload,
    cost_table,
    cpu_share,
    duration_ms,
    lambda_cost_per_photo,
)


def test_cpu_share_grows_with_memory_up_to_one_vcpu_at_1769_mb() -> None:
    assert cpu_share(1769) == 1.0
    assert cpu_share(3008) == 1.0
    assert cpu_share(128) == pytest.approx(128 / 1769)


def test_duration_is_cpu_time_over_share_plus_fixed_io() -> None:
    work = Workload(cpu_ms=100.0, io_ms=40.0)
    assert duration_ms(work, 1769, "x86_64") == pytest.approx(140.0)
    assert duration_ms(work, 884, "x86_64") == pytest.approx(100.0 * 1769 / 884 + 40.0)


def test_a_single_threaded_handler_gets_no_faster_above_one_vcpu() -> None:
    work = Workload(cpu_ms=100.0, io_ms=40.0)
    assert duration_ms(work, 3008, "x86_64") == duration_ms(work, 1769, "x86_64")


def test_arm64_cpu_time_is_scaled_by_the_stated_factor() -> None:
    work = Workload(cpu_ms=100.0, io_ms=0.0, arm64_cpu_factor=1.2)
    assert duration_ms(work, 1769, "arm64") == pytest.approx(120.0)


def test_unknown_architecture_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown architecture"):
        duration_ms(Workload(cpu_ms=1.0), 1024, "sparc")


def test_cost_is_billed_gb_seconds_per_started_ms_plus_a_batch_share_of_the_request_price() -> None:
    prices = Prices()
    work = Workload(cpu_ms=99.2, io_ms=0.0, batch_size=10)  # at one vCPU: 99.2 ms, billed as 100 ms
    cost = lambda_cost_per_photo(work, 1769, "x86_64", prices)
    assert cost == pytest.approx(1769 / 1024 * 0.100 * prices.gb_second["x86_64"] + prices.per_request / 10)


def test_cheapest_and_fastest_settings_are_named_among_those_that_fit() -> None:
    table = cost_table(Workload(cpu_ms=50.0, io_ms=60.0, peak_mb=150.0))
    fitting = [row for row in table.settings if row.fits]
    assert all(row.memory_mb >= 210 for row in fitting)
    assert table.cheapest.lambda_usd_per_million == min(r.lambda_usd_per_million for r in fitting)
    assert table.fastest.duration_ms == min(r.duration_ms for r in fitting)
    assert table.cheapest.architecture == "arm64"  # same speed assumption costs 20% less per GB-s


def test_the_fastest_setting_is_the_cheapest_that_reaches_one_vcpu() -> None:
    table = cost_table(Workload(cpu_ms=50.0, io_ms=10.0, arm64_cpu_factor=1.0))
    assert table.fastest.memory_mb == 1769
    assert table.fastest.architecture == "arm64"


def test_a_photo_that_fits_nowhere_is_refused() -> None:
    with pytest.raises(ValueError, match="fits in none"):
        cost_table(Workload(cpu_ms=50.0, peak_mb=5000.0))


def test_reports_are_written_as_json_markdown_and_png(tmp_path: Path) -> None:
    paths = costmodel.write_reports(cost_table(Workload(cpu_ms=40.0)), tmp_path)
    data = json.loads(paths["json"].read_text())
    assert {"cheapest", "fastest", "settings", "prices"} <= set(data)
    assert data["prices"]["region"] == "us-west-2"
    assert "Cheapest:" in paths["markdown"].read_text()
    assert paths["png"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_cli_refuses_a_non_positive_cpu_time(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        costmodel.main(["--cpu-ms", "0"])
    assert exit_info.value.code == 2
    assert "--cpu-ms" in capsys.readouterr().err


def test_sizes_below_the_templates_minimum_are_shown_but_never_chosen() -> None:
    table = cost_table(Workload(cpu_ms=20.0, io_ms=10.0, min_memory_mb=512))
    assert not any(row.fits for row in table.settings if row.memory_mb < 512)
    assert table.cheapest.memory_mb == 512


def test_the_templates_smallest_memory_size_is_a_row_and_the_cheapest_when_the_photo_fits() -> None:
    table = cost_table(Workload(cpu_ms=200.0, io_ms=60.0, peak_mb=100.0, min_memory_mb=896))
    assert 896 in {row.memory_mb for row in table.settings}
    assert (table.cheapest.architecture, table.cheapest.memory_mb) == ("arm64", 896)
