"""Sessions: lint, tests, package, deploy, destroy, acceptance, local, load, soak, bench, fuzz, checkov.

`nox -s lint tests` is the test command CI runs. Heavy runs (load, soak, bench, fuzz) have their own sessions.
"""

from __future__ import annotations

import nox

nox.options.sessions = ["lint", "tests"]
nox.options.reuse_venv = "yes"
nox.options.error_on_missing_interpreters = True

PYTHON = "3.11"
DEFAULT_RUNTIME_PYTHON = "3.13"  # the template's default Runtime, python3.13 (a test pins the two)
TEMPLATE = "template/template.json"
CI_ROLE_TEMPLATE = "template/ci-role.json"


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    """ruff, mypy strict (handler/, harness/, loadtests/), cfn-lint, the cfn-flip round trip; then checkov."""
    session.install("-e", ".[lint]")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
    session.run("mypy")
    # Every region the README promises the stack deploys to: resource types and properties differ by region.
    regions = ("--regions", "ALL_REGIONS")
    session.run("cfn-lint", "--format", "parseable", *regions, "--", TEMPLATE, CI_ROLE_TEMPLATE)
    session.run("python", "-m", "harness.template_check", TEMPLATE, "--yaml-out", "build/template.yaml")
    session.notify("checkov")


@nox.session(python=PYTHON)
def checkov(session: nox.Session) -> None:
    """checkov in a venv of its own: it pins an old boto3 that the project cannot share."""
    session.install("checkov==3.3.30")
    # --skip-download: no calls to the Prisma Cloud API for guidelines (the checks themselves are bundled).
    session.run(
        "checkov",
        "--quiet",
        "--compact",
        "--skip-download",
        "--framework",
        "cloudformation",
        "--file",
        TEMPLATE,
        "--file",
        CI_ROLE_TEMPLATE,
    )


@nox.session(python=PYTHON)
def tests(session: nox.Session) -> None:
    """The whole pytest suite, including a short smoke of the local stack and of the load profile."""
    session.install("-e", ".[test]")
    session.run("pytest", *session.posargs)


@nox.session(name="tests-3.13", python=DEFAULT_RUNTIME_PYTHON)
def tests_on_the_default_runtime(session: nox.Session) -> None:
    """The same suite on the Python of the template's default Runtime (CI runs it as a job of its own, so
    that `nox -s lint tests` stays one suite long)."""
    tests(session)


@nox.session(python=PYTHON)
def package(session: nox.Session) -> None:
    """Build the Lambda zip (`-- --runtime python3.13 --architecture arm64`)."""
    session.install("-e", ".[harness]")
    session.run("python", "-m", "harness", "package", *session.posargs)


@nox.session(python=PYTHON)
def deploy(session: nox.Session) -> None:
    """Package and deploy a stack (`-- --stack-name NAME [--region R] [--email ...] [--param K=V]`)."""
    session.install("-e", ".[harness]")
    session.run("python", "-m", "harness", "deploy", *session.posargs)


@nox.session(python=PYTHON)
def destroy(session: nox.Session) -> None:
    """Empty the stack's buckets (all versions) and delete it (`-- --stack-name NAME --yes`)."""
    session.install("-e", ".[harness]")
    session.run("python", "-m", "harness", "destroy", *session.posargs)


@nox.session(python=PYTHON)
def acceptance(session: nox.Session) -> None:
    """Deploy a tagged test stack, prove it end to end, always destroy it; JUnit and reports in
    reports/acceptance/. Against an account: `-- --profile P --region R [--role-arn ARN]`; with no
    arguments, against the embedded local stack."""
    session.install("-e", ".[harness]")
    session.run("python", "-m", "harness", "acceptance", *(session.posargs or ["--local"]))


@nox.session(python=PYTHON)
def local(session: nox.Session) -> None:
    """Run the embedded local stack (moto server + local Lambda runtime) until Ctrl-C."""
    session.install("-e", ".[harness]")
    session.run("python", "-m", "harness", "local", *session.posargs)


@nox.session(python=PYTHON)
def load(session: nox.Session) -> None:
    """The main job: the `day` shape through the embedded local stack, then the report's summary."""
    session.install("-e", ".[load]")
    session.run("python", "-m", "loadtests.run", "--shape", "day", *session.posargs)


@nox.session(python=PYTHON)
def soak(session: nox.Session) -> None:
    """Burst (500 photos in 10 s) and a 10-minute soak at the day's peak rate on the local stack."""
    session.install("-e", ".[load]")
    session.run("python", "-m", "loadtests.run", "--shape", "burst", *session.posargs)
    session.run("python", "-m", "loadtests.run", "--shape", "soak", *session.posargs)


@nox.session(python=PYTHON)
def bench(session: nox.Session) -> None:
    """Handler benchmark (vs naive, floor and pyvips) and the Lambda cost model."""
    session.install("-e", ".[bench]")
    session.run("python", "-m", "harness.measures.bench", *session.posargs)
    session.run("python", "-m", "harness.measures.coldstart")
    session.run("python", "-m", "harness.worstcase")


@nox.session(python=PYTHON)
def fuzz(session: nox.Session) -> None:
    """The hypothesis properties with a large budget."""
    session.install("-e", ".[test]")
    session.run("pytest", "-m", "fuzz", "--hypothesis-profile", "fuzz", "tests", *session.posargs)
