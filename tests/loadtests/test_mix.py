"""The fixture mix: presets, parsing and the refusals that name what to fix."""

from __future__ import annotations

import random

import pytest

from loadtests.mix import PRESETS, MixError, parse, validate


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_every_preset_sums_to_one_and_names_known_fixtures(preset: str) -> None:
    mix = parse(preset)
    assert sum(mix.shares.values()) == pytest.approx(1.0)


def test_the_default_mix_spans_03_to_24_megapixels_jpeg_png_heic_and_a_small_bad_share() -> None:
    mix = parse("default")
    assert {"jpeg-0.3mp", "jpeg-24mp", "png-rgb", "heic"} <= set(mix.names)
    assert 0 < mix.bad_share() <= 0.1


def test_a_mix_is_parsed_from_name_share_pairs() -> None:
    assert dict(parse("jpeg-0.3mp=0.75, text-png=0.25").shares) == {"jpeg-0.3mp": 0.75, "text-png": 0.25}


def test_a_mix_that_does_not_sum_to_one_is_refused_with_its_sum() -> None:
    with pytest.raises(MixError, match=r"sum to 0\.9, not 1"):
        parse("jpeg-0.3mp=0.5,heic=0.4")


def test_an_unknown_fixture_is_refused_by_name() -> None:
    with pytest.raises(MixError, match=r"unknown fixture.*jpeg-9000mp"):
        parse("jpeg-9000mp=1")


def test_a_negative_share_is_refused() -> None:
    with pytest.raises(MixError, match=">= 0"):
        validate({"jpeg-0.3mp": 1.5, "heic": -0.5})


def test_a_share_that_is_not_a_number_is_refused() -> None:
    with pytest.raises(MixError, match="not a number"):
        parse("jpeg-0.3mp=most")


def test_choices_follow_the_shares() -> None:
    mix = parse("jpeg-0.3mp=0.8,text-png=0.2")
    rng = random.Random(7)
    draws = [mix.choose(rng) for _ in range(5000)]
    assert draws.count("text-png") / len(draws) == pytest.approx(0.2, abs=0.03)
