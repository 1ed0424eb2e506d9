"""`photopipe cost`: the monthly bill adds what a stack costs by existing to what each photo costs, and the
storage that every month's uploads add; one price list, the template's own defaults."""

from __future__ import annotations

import itertools
import json
from dataclasses import asdict
from pathlib import Path

import pytest

from harness.cli import main
from harness.measures.bill import PriceList, StackShape, Usage, monthly_bill
from harness.measures.costmodel import Prices
from harness.params import load_template


def test_the_price_list_and_the_cost_models_prices_agree() -> None:
    listed, modelled = asdict(PriceList.load().lambda_prices()), asdict(Prices())

    assert listed.keys() == modelled.keys()
    for name, value in modelled.items():
        if isinstance(value, float):
            assert listed[name] == pytest.approx(value, rel=1e-9), name
        else:
            assert listed[name] == value, name


def test_the_bill_follows_the_templates_defaults() -> None:
    template = load_template()
    shape = StackShape.from_template(template)

    assert shape.memory_mb == int(template["Parameters"]["MemorySize"]["Default"])
    assert shape.architecture == template["Parameters"]["Architecture"]["Default"]
    assert shape.standard_alarms + shape.metrics_insights_alarms == sum(
        1 for r in template["Resources"].values() if r["Type"] == "AWS::CloudWatch::Alarm"
    )
    assert shape.metrics_insights_alarms == 1
    assert shape.noncurrent_days == 30


def test_a_stack_without_photos_still_costs_its_key_alarms_dashboard_and_metrics() -> None:
    (month,) = monthly_bill(Usage(photos_per_day=0), months=1).months
    prices = PriceList.load()

    assert month.items["Lambda (compute and requests)"] == 0
    assert month.items["S3 storage (originals, renditions, noncurrent)"] == 0
    assert month.items["KMS key and requests"] == prices["kms_key_month"]
    assert month.items["CloudWatch dashboard"] == prices["dashboard_month"]
    assert month.items["CloudWatch alarms"] > 5 * prices["alarm_standard_month"]
    assert month.total > 7


def test_per_photo_costs_scale_with_the_photos_and_fixed_costs_do_not() -> None:
    one = monthly_bill(Usage(photos_per_day=4000), months=1).months[0].items
    two = monthly_bill(Usage(photos_per_day=8000), months=1).months[0].items

    assert two["Lambda (compute and requests)"] == pytest.approx(2 * one["Lambda (compute and requests)"])
    assert two["SNS (rejection notices)"] == pytest.approx(2 * one["SNS (rejection notices)"])
    assert two["CloudWatch dashboard"] == one["CloudWatch dashboard"]


def test_storage_grows_by_the_same_amount_every_month() -> None:
    months = monthly_bill(Usage(photos_per_day=4000), months=12).months
    storage = [m.items["S3 storage (originals, renditions, noncurrent)"] for m in months]
    steps = [later - earlier for earlier, later in itertools.pairwise(storage)]

    assert all(step > 0 for step in steps)
    assert max(steps) == pytest.approx(min(steps))
    assert months[-1].total > months[0].total


@pytest.mark.parametrize(("photos", "months"), [(-1, 12), (4000, 0), (4000, 121)])
def test_impossible_inputs_are_refused(photos: float, months: int) -> None:
    with pytest.raises(ValueError, match="must be"):
        monthly_bill(Usage(photos_per_day=photos), months=months)


def test_the_command_writes_the_table_the_breakdown_and_the_chart(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["--json", "cost", "--photos-per-day", "4000", "--months", "12", "--out", str(tmp_path)])

    assert code == 0
    bill = json.loads(capsys.readouterr().out)
    assert [month["month"] for month in bill["months"]] == list(range(1, 13))
    assert bill["prices_as_of"] == "2026-11"
    assert (tmp_path / "bill.md").read_text().startswith("# Monthly AWS bill: 4,000 photos a day")
    assert (tmp_path / "bill.png").stat().st_size > 0


def test_a_negative_rate_is_refused_on_the_command_line(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["cost", "--photos-per-day", "-4"])

    assert caught.value.code == 2
    assert "must be a number of 0 or more" in capsys.readouterr().err
