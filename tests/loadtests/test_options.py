"""The load options: what run.py passes on to Locust's processes, and the refusals that name what to fix."""

from __future__ import annotations

import argparse

import pytest

from loadtests import options as opts
from loadtests import run


def _parsed(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    opts.add_arguments(parser)
    return parser.parse_args(argv)


def test_the_forwarded_options_parse_back_to_the_same_values_in_locusts_processes() -> None:
    given = run.parse_args(
        ["--shape", "steady", "--rate", "3.5", "--mix", "smoke", "--delete-share", "0.2", "--run-id", "r1"]
    )
    given.stack_name = "photopipe-local"
    forwarded = opts.forwarded(given)
    received = _parsed(forwarded)
    for name in opts.load_defaults():
        if not name.startswith(opts.INTERNAL_PREFIX):
            assert getattr(received, name) == getattr(given, name), name


def test_every_option_the_load_defines_is_forwarded_when_set_but_not_the_runs_own() -> None:
    given = run.parse_args(["--album-size", "7", "--workers", "3", "--run-timeout", "9"])
    given.stack_name = None
    forwarded = opts.forwarded(given)
    assert forwarded == ["--album-size", "7"]  # --workers and --run-timeout are run.py's, not Locust's


def test_the_options_the_processes_pass_among_themselves_are_never_forwarded() -> None:
    given = run.parse_args([])
    given.stack_name = None
    given.pp_upload_bucket = "uploads"
    assert "--pp-upload-bucket" not in opts.forwarded(given)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--delete-share", "1.5"], "--delete-share=1.5"),
        (["--delete-share", "0.6", "--reupload-share", "0.6"], "together at most 1"),
        (["--lifecycle-delay", "-1"], "--lifecycle-delay=-1.0: expected seconds >= 0"),
    ],
)
def test_shares_and_delays_that_make_no_sense_are_refused_by_name(argv: list[str], message: str) -> None:
    with pytest.raises(opts.OptionError, match=message):
        opts.check_users(_parsed(argv))


def test_a_local_parameter_without_an_equals_sign_is_refused_before_anything_starts(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert run.main(["--local-param", "MaximumConcurrency", "--report-dir", "/nonexistent/r"]) == 2
    assert "parameter 'MaximumConcurrency' is not KEY=VALUE" in capsys.readouterr().err
