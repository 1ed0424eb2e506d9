"""What one reconcile pass costs: the LISTs and HEADs it needs, their time and price, and where the listing
outgrows its budget (S3 Inventory's turn)."""

from __future__ import annotations

import pytest

from harness.measures.bill import PriceList
from harness.measures.survey_cost import (
    KEYS_PER_LIST,
    LISTING_BUDGET_SECONDS,
    listing_limit,
    survey_cost,
)

PRICES = PriceList.load()
YEAR_AT_TODAYS_RATE = 4000 * 365


def test_a_pass_lists_every_upload_and_rendition_a_thousand_keys_a_request() -> None:
    cost = survey_cost(YEAR_AT_TODAYS_RATE, renditions_per_photo=2, prices=PRICES)

    assert cost.keys == YEAR_AT_TODAYS_RATE * 3
    assert (cost.lists - 1) * KEYS_PER_LIST < cost.keys <= cost.lists * KEYS_PER_LIST


def test_a_pass_reads_one_rendition_per_photo() -> None:
    assert (
        survey_cost(YEAR_AT_TODAYS_RATE, renditions_per_photo=4, prices=PRICES).heads == YEAR_AT_TODAYS_RATE
    )


def test_the_price_is_lists_at_the_put_price_and_heads_at_the_get_price() -> None:
    cost = survey_cost(10_000, renditions_per_photo=2, prices=PRICES)

    assert cost.usd == pytest.approx(
        cost.lists * PRICES["s3_put_per_request"] + cost.heads * PRICES["s3_get_per_request"]
    )


def test_the_listing_limit_is_the_most_photos_listed_within_the_budget() -> None:
    limit = listing_limit(renditions_per_photo=2)

    assert survey_cost(limit, 2, PRICES).list_seconds <= LISTING_BUDGET_SECONDS
    assert not survey_cost(limit + KEYS_PER_LIST, 2, PRICES).listing_fits


def test_years_of_photos_at_todays_rate_fit_the_listing_budget() -> None:
    assert survey_cost(3 * YEAR_AT_TODAYS_RATE, 2, PRICES).listing_fits
