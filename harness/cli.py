"""`photopipe` / `python -m harness`: package, deploy, destroy, local, outputs, metrics, redrive, reprocess,
reconcile.

Bad arguments (including a stack name, region, parameter or email AWS would refuse) exit 2 through argparse
with what is wrong and what is allowed; failures of the work itself exit 1 with the cause. With `--json` the
result is the only thing on stdout and progress goes to stderr, so the output can be piped.
"""

from __future__ import annotations

import argparse
import importlib
import json
import math
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import boto3
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from harness.contract import TEMPLATE_PATH, StackParameter
from harness.deploy import DeployError
from harness.environments import CONFIG_FILE, Environment, load_environment
from harness.glibc import format_glibc
from harness.pacing import DEFAULT_RATE, MAX_RATE, Pacer
from harness.package import ARCHITECTURES, RUNTIMES, PackageError, PackageResult, build_package
from harness.params import (
    InvalidInputError,
    load_template,
    parse_assignments,
    validate_email,
    validate_region,
    validate_stack_name,
)
from harness.stack import StackError, is_local_endpoint
from harness.tags import (
    PROJECT_TAG,
    PURPOSE_ACCEPTANCE,
    PURPOSE_DEPLOY,
    PURPOSE_TAG,
    default_tags,
    merge_tags,
    parse_tags,
)

if TYPE_CHECKING:  # the drift commands import the handler's settings only when they run
    from harness.survey import Fingerprint

LOCAL_COMMAND_MODULE: Final = "harness.emulator.command"
DEFAULT_RUNTIME: Final = "python3.13"
DEFAULT_ARCHITECTURE: Final = "arm64"
# S3 delivers an event within seconds, sometimes a minute or more, and the queue may hold it behind a backlog:
# an upload younger than this is pending, not drift.
DEFAULT_GRACE_MINUTES: Final = 15.0


class UsageError(Exception):
    """An argument combination argparse cannot express; reported through parser.error (exit 2)."""


def _argument_type(check: Callable[[str], str]) -> Callable[[str], str]:
    def convert(value: str) -> str:
        try:
            return check(value)
        except InvalidInputError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    convert.__name__ = check.__name__.removeprefix("validate_").replace("_", " ")
    return convert


def _region(value: str) -> str:
    return validate_region(value, boto3.Session().get_available_regions("cloudformation"))


def _positive_minutes(value: str) -> float:
    try:
        minutes = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number of minutes") from None
    if not 0 < minutes <= 60 * 24 * 15:
        raise argparse.ArgumentTypeError(f"{value} minutes: allowed 0 < minutes <= 21600 (15 days)")
    return minutes


def _timestamp(value: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{value!r} is not an ISO 8601 time (2026-11-29T03:00:00Z)"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _add_output_options(parser: argparse.ArgumentParser) -> None:
    if "--json" in parser._option_string_actions:  # the local stack's own options may define it
        return
    parser.add_argument(
        "--json", action="store_true", default=argparse.SUPPRESS, help="print the result as JSON on stdout"
    )


def _add_aws_options(parser: argparse.ArgumentParser, *, stack: bool = True, env: bool = True) -> None:
    if stack:
        parser.add_argument(
            "--stack-name",
            type=_argument_type(validate_stack_name),
            help="CloudFormation stack name (letters, digits, hyphens; starts with a letter; <= 128); "
            "required unless --env names one",
        )
    if env:
        parser.add_argument(
            "--env",
            help=f"a named environment of {CONFIG_FILE} (stack name, region, profile, parameters, tags)",
        )
        parser.add_argument(
            "--config",
            type=Path,
            default=Path(CONFIG_FILE),
            help=f"environments file (default ./{CONFIG_FILE})",
        )
    parser.add_argument(
        "--region", type=_argument_type(_region), help="AWS region (default: AWS_REGION / profile)"
    )
    parser.add_argument("--profile", help="AWS profile (default: AWS_PROFILE)")
    parser.add_argument(
        "--endpoint-url", help="AWS endpoint, e.g. http://127.0.0.1:5000 (default: AWS_ENDPOINT_URL)"
    )


def _add_package_options(parser: argparse.ArgumentParser, *, defaults: bool) -> None:
    parser.add_argument(
        "--runtime",
        choices=sorted(RUNTIMES),
        default=DEFAULT_RUNTIME if defaults else None,
        help=f"Lambda runtime (default {DEFAULT_RUNTIME})",
    )
    parser.add_argument(
        "--architecture",
        choices=sorted(ARCHITECTURES),
        default=DEFAULT_ARCHITECTURE if defaults else None,
        help=f"Lambda architecture (default {DEFAULT_ARCHITECTURE})",
    )
    parser.add_argument(
        "--allow-python311",
        action="store_true",
        help="allow python3.11 (Amazon Linux 2): bundles Pillow <= 12.2 without the Pillow 13 security fixes",
    )
    parser.add_argument(
        "--out-dir", type=Path, default=Path("build"), help="build directory (default build/)"
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="photopipe", description="Package, deploy and inspect the photopipe image pipeline."
    )
    parser.add_argument("--json", action="store_true", default=False, help="print results as JSON on stdout")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    package = commands.add_parser("package", help="build the Lambda zip")
    _add_package_options(package, defaults=True)
    _add_output_options(package)

    deploy = commands.add_parser("deploy", help="package, upload and create/update the stack (change set)")
    _add_aws_options(deploy)
    _add_package_options(deploy, defaults=False)
    deploy.add_argument("--email", type=_argument_type(validate_email), help="alarm and error notifications")
    deploy.add_argument(
        "--param", action="append", default=[], metavar="KEY=VALUE", help="template parameter (repeatable)"
    )
    deploy.add_argument(
        "--package",
        type=Path,
        help="deploy this zip instead of building one (built for --runtime/--architecture)",
    )
    deploy.add_argument(
        "--artifact-bucket", help="bucket for the zip (default photopipe-artifacts-ACCOUNT-REGION)"
    )
    deploy.add_argument("--template", type=Path, default=TEMPLATE_PATH, help=argparse.SUPPRESS)
    _add_convention_options(deploy)
    deploy.add_argument(
        "--no-execute",
        action="store_true",
        help="create and show the change set, and leave it for review (nothing changes)",
    )
    _add_output_options(deploy)

    destroy = commands.add_parser("destroy", help="empty the stack's buckets (all versions) and delete it")
    _add_aws_options(destroy)
    destroy.add_argument("--yes", action="store_true", help="confirm (not needed for a local endpoint)")
    _add_output_options(destroy)

    local = commands.add_parser("local", help="run the embedded local stack (moto + local Lambda runtime)")
    _add_local_arguments(local)
    _add_output_options(local)

    outputs = commands.add_parser("outputs", help="print the stack outputs")
    _add_aws_options(outputs)
    _add_output_options(outputs)

    metrics = commands.add_parser("metrics", help="read the pipeline's CloudWatch metrics over a window")
    _add_aws_options(metrics)
    window = metrics.add_mutually_exclusive_group()
    window.add_argument(
        "--minutes", type=_positive_minutes, default=60.0, help="window ending now (default 60)"
    )
    window.add_argument("--since", type=_timestamp, help="window start (ISO 8601, UTC if no offset)")
    metrics.add_argument("--until", type=_timestamp, help="window end with --since (default now)")
    _add_output_options(metrics)

    redrive = commands.add_parser("redrive", help="move dead-letter messages back to the processing queue")
    _add_aws_options(redrive)
    redrive.add_argument(
        "--no-move-task", action="store_true", help="use the receive/send/delete loop even if SQS can move"
    )
    _add_output_options(redrive)

    reprocess = commands.add_parser(
        "reprocess", help="send uploads through the pipeline again (S3-shaped messages, rate limited)"
    )
    _add_aws_options(reprocess)
    reprocess.add_argument(
        "--prefix",
        help="only uploads whose key starts with this (default: all); rejected photos are sent too, each "
        "earning a new rejection notice",
    )
    reprocess.add_argument(
        "--since",
        type=_timestamp,
        help="only uploads last modified at or after this (ISO 8601, UTC if no offset)",
    )
    reprocess.add_argument(
        "--stale-only",
        action="store_true",
        help="only photos whose renditions are missing or were made from other settings or another version "
        "(never a photo the function rejected)",
    )
    reprocess.add_argument("--dry-run", action="store_true", help="list what would be sent; send nothing")
    _add_drift_options(reprocess)
    _add_output_options(reprocess)

    reconcile = commands.add_parser(
        "reconcile",
        help="compare uploads with renditions: missing, outdated, stale, orphans (exit 1: drift); photos the "
        "function rejected (tagged on the upload) are reported apart, and are no drift",
    )
    _add_aws_options(reconcile)
    reconcile.add_argument(
        "--fix",
        action="store_true",
        help="enqueue missing, outdated and stale photos (never a rejected one), delete orphans",
    )
    _add_drift_options(reconcile)
    _add_output_options(reconcile)

    acceptance = commands.add_parser(
        "acceptance", help="deploy a test stack, prove it end to end, always destroy it; JUnit + report"
    )
    _add_acceptance_arguments(acceptance)
    _add_output_options(acceptance)

    canary = commands.add_parser(
        "canary", help="upload one tiny photo and wait for its renditions (is the notification live?)"
    )
    _add_aws_options(canary)
    canary.add_argument(
        "--timeout", type=float, default=600.0, help="seconds to wait (default 600: S3 can take minutes)"
    )
    _add_output_options(canary)

    cost = commands.add_parser("cost", help="the monthly AWS bill at a number of photos a day (table, chart)")
    cost.add_argument("--photos-per-day", type=_non_negative, required=True, help="steady upload rate")
    cost.add_argument(
        "--months", type=int, default=12, choices=range(1, 121), metavar="1-120", help="default 12"
    )
    cost.add_argument("--cpu-ms", type=_non_negative, help="CPU per photo (default: the bench's 12 MP JPEG)")
    cost.add_argument("--upload-mb", type=_non_negative, help="average upload size in MB (default 2.0)")
    cost.add_argument("--out", type=Path, default=Path("reports/cost"), help="report directory")
    _add_output_options(cost)

    stacks = commands.add_parser("stacks", help="list photopipe stacks, or clean up old test stacks, by tag")
    stacks_commands = stacks.add_subparsers(dest="stacks_command", required=True, metavar="ACTION")
    listing = stacks_commands.add_parser("list", help="the stacks tagged photopipe:project=photopipe")
    _add_aws_options(listing, stack=False, env=False)
    _add_output_options(listing)
    cleaning = stacks_commands.add_parser("clean", help="destroy test stacks older than an age (asks first)")
    _add_aws_options(cleaning, stack=False, env=False)
    cleaning.add_argument(
        "--older-than", type=_argument_type(_age), required=True, help="age, like 30m, 24h or 7d"
    )
    cleaning.add_argument(
        "--purpose", default=PURPOSE_ACCEPTANCE, help=f"the {PURPOSE_TAG} tag to match (default acceptance)"
    )
    cleaning.add_argument("--yes", action="store_true", help="do not ask (for scheduled clean-ups)")
    _add_output_options(cleaning)
    return parser


def _non_negative(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number") from None
    if not math.isfinite(number) or number < 0:
        raise argparse.ArgumentTypeError(f"{value}: must be a number of 0 or more")
    return number


def _rate(value: str) -> float:
    rate = _non_negative(value)
    if not 0 < rate <= MAX_RATE:
        raise argparse.ArgumentTypeError(f"{value}: allowed 0 < messages per second <= {MAX_RATE:g}")
    return rate


def _add_drift_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--rate",
        type=_rate,
        default=DEFAULT_RATE,
        help=f"messages sent per second (default {DEFAULT_RATE:g}: below what the function drains)",
    )
    parser.add_argument(
        "--grace",
        type=_non_negative,
        default=DEFAULT_GRACE_MINUTES,
        help=f"minutes an upload's own event may still take before it counts as drift (default "
        f"{DEFAULT_GRACE_MINUTES:g})",
    )


def _age(value: str) -> str:
    from harness.stacks import parse_age

    parse_age(value)
    return value


def _add_convention_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--tags",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help=f"stack tag (repeatable), on top of {PROJECT_TAG} and {PURPOSE_TAG}",
    )
    parser.add_argument(
        "--role-arn", help="IAM role CloudFormation assumes to change the stack (service role)"
    )


def _add_acceptance_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--local", action="store_true", help="run against the embedded local stack instead of an account"
    )
    _add_aws_options(parser)
    _add_package_options(parser, defaults=False)
    _add_convention_options(parser)
    parser.add_argument(
        "--param", action="append", default=[], metavar="KEY=VALUE", help="template parameter (repeatable)"
    )
    parser.add_argument("--template", type=Path, default=TEMPLATE_PATH, help=argparse.SUPPRESS)
    parser.add_argument(
        "--report-dir",
        type=Path,
        default=Path("reports/acceptance"),
        help="where the JUnit XML, JSON and Markdown reports go (default reports/acceptance)",
    )
    parser.add_argument(
        "--canary-timeout",
        type=float,
        help="seconds to wait for the first upload to be processed (default 600 on AWS, 60 locally)",
    )


def _add_local_arguments(parser: argparse.ArgumentParser) -> None:
    """The local stack owns its options; imported lazily so the rest of the CLI never depends on it."""
    try:
        command = importlib.import_module(LOCAL_COMMAND_MODULE)
        command.add_arguments(parser)
    except Exception as exc:  # a broken local stack must not take package/deploy/destroy down with it
        parser.set_defaults(local_unavailable=f"{type(exc).__name__}: {exc}")


def _endpoint(args: argparse.Namespace) -> str | None:
    return getattr(args, "endpoint_url", None) or os.environ.get("AWS_ENDPOINT_URL")


def _session(args: argparse.Namespace) -> boto3.Session:
    if args.endpoint_url:
        os.environ["AWS_ENDPOINT_URL"] = args.endpoint_url
    # botocore reads AWS_DEFAULT_REGION but not AWS_REGION (which other SDKs and the docs use): honour both.
    region = args.region or os.environ.get("AWS_REGION") or None
    session = boto3.Session(profile_name=args.profile, region_name=region)
    if session.region_name is None:
        raise UsageError("no region: pass --region or set AWS_REGION (or AWS_DEFAULT_REGION, or a profile's)")
    return session


def _print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, sort_keys=True, default=str) + "\n")


def _package_table(result: PackageResult) -> Table:
    table = Table(title="Lambda package", title_justify="left", show_header=False)
    table.add_column("field")
    table.add_column("value", overflow="fold")
    table.add_row("zip", str(result.path))
    table.add_row("sha256", result.sha256)
    table.add_row("runtime / architecture", f"{result.runtime} / {result.architecture}")
    table.add_row("zipped", f"{result.zipped_bytes:,} bytes (limit 52,428,800)")
    table.add_row("unzipped", f"{result.unzipped_bytes:,} bytes (limit 262,144,000)")
    table.add_row(
        "glibc needed / runtime has", f"{format_glibc(result.max_glibc)} / {format_glibc(result.glibc_limit)}"
    )
    table.add_row("bundled", ", ".join(f"{name} {version}" for name, version in result.distributions.items()))
    cache = "hit" if result.wheel_cache_hit else "miss"
    table.add_row("build time", f"{result.build_seconds:.1f} s (wheel cache {cache})")
    return table


def _check_python311(args: argparse.Namespace, runtime: str) -> None:
    if runtime == "python3.11" and not args.allow_python311:
        raise UsageError(
            "--runtime python3.11 needs --allow-python311: Amazon Linux 2 (glibc 2.26) cannot load "
            "Pillow 13, "
            "so the zip would bundle Pillow <= 12.2 without its JPEG-decoder security fixes; "
            "allowed without the flag: python3.12, python3.13"
        )


def cmd_package(args: argparse.Namespace, console: Console) -> int:
    _check_python311(args, args.runtime)
    result = build_package(
        runtime=args.runtime,
        architecture=args.architecture,
        out_dir=args.out_dir,
        allow_python311=args.allow_python311,
        console=console,
    )
    if args.json:
        _print_json(result.to_json())
    else:
        console.print(_package_table(result))
    return 0


def _resolve_package_target(
    args: argparse.Namespace, parameters: dict[str, str], previous: Mapping[str, str]
) -> tuple[str, str]:
    """The zip and the stack must agree on runtime and architecture; --runtime and --param Runtime too.
    Unless told otherwise an update keeps the stack's runtime and architecture, as its other parameters."""
    template = load_template(args.template)
    declared = template.get("Parameters", {})
    chosen: list[str] = []
    for option, name, fallback in (
        ("runtime", StackParameter.RUNTIME, DEFAULT_RUNTIME),
        ("architecture", StackParameter.ARCHITECTURE, DEFAULT_ARCHITECTURE),
    ):
        flag = getattr(args, option)
        given = parameters.get(name)
        value = flag or given or previous.get(name) or str(declared.get(name, {}).get("Default", fallback))
        if name in declared:
            parameters[name] = value
        chosen.append(value)
    return chosen[0], chosen[1]


def _check_contradictions(args: argparse.Namespace, parameters: Mapping[str, str]) -> None:
    for option, name in (("runtime", StackParameter.RUNTIME), ("architecture", StackParameter.ARCHITECTURE)):
        flag, given = getattr(args, option), parameters.get(name)
        if flag and given and flag != given:
            raise UsageError(f"--{option} {flag} contradicts --param {name}={given}")


def _deployed_parameters(session: boto3.Session, args: argparse.Namespace) -> dict[str, str]:
    from harness.stack import describe_stack

    stack = describe_stack(session.client("cloudformation"), args.stack_name)
    items = stack.get("Parameters", []) if stack else []
    return {item["ParameterKey"]: item.get("ParameterValue", "") for item in items or []}


def _environment(args: argparse.Namespace, *, stack_name: bool = True) -> Environment | None:
    """Fill --stack-name, --region and --profile from --env where they were not given; None without --env.
    An acceptance run takes the environment's region, parameters and tags but never its stack name: it
    deploys and destroys a stack of its own."""
    name = getattr(args, "env", None)
    environment = load_environment(name, args.config) if name else None
    options = ("stack_name", "region", "profile") if stack_name else ("region", "profile")
    if environment is not None:
        for option in options:
            if getattr(args, option, None) is None and getattr(environment, option) is not None:
                setattr(args, option, getattr(environment, option))
    if stack_name and args.stack_name is None:
        raise UsageError(
            "--stack-name is required (or --env naming an environment of "
            f"{getattr(args, 'config', CONFIG_FILE)} that sets stack_name)"
        )
    return environment


def _parameters_and_tags(
    args: argparse.Namespace, environment: Environment | None, purpose: str
) -> tuple[dict[str, str], dict[str, str]]:
    """--param over the environment's parameters; default tags, then the environment's, then --tags."""
    given = parse_assignments(args.param)
    parameters = {**(environment.parameters if environment else {}), **given}
    tags = merge_tags(default_tags(purpose), environment.tags if environment else {}, parse_tags(args.tags))
    return parameters, tags


def cmd_deploy(args: argparse.Namespace, console: Console) -> int:
    from harness.deploy import deploy, validate_inputs, validate_role_arn

    environment = _environment(args)
    parameters, tags = _parameters_and_tags(args, environment, PURPOSE_DEPLOY)
    if args.role_arn:
        validate_role_arn(args.role_arn)
    if args.email is not None:
        email = StackParameter.NOTIFICATION_EMAIL
        if email in parameters and parameters[email] != args.email:
            raise UsageError(f"--email contradicts --param {email}")
        parameters[email] = args.email
    _check_contradictions(args, parameters)
    session = _session(args)
    runtime, architecture = _resolve_package_target(args, parameters, _deployed_parameters(session, args))
    _check_python311(args, runtime)
    # Refuse bad input before the (slow) build, not only before the upload.
    placeholder = args.package or Path(__file__)
    validate_inputs(
        session=session,
        stack_name=args.stack_name,
        package_path=placeholder,
        parameters=parameters,
        template=load_template(args.template),
        artifact_bucket=args.artifact_bucket,
    )
    package_path: Path = args.package
    if package_path is None:
        built = build_package(
            runtime=runtime,
            architecture=architecture,
            out_dir=args.out_dir,
            allow_python311=args.allow_python311,
            console=console,
        )
        console.print(_package_table(built))
        package_path = built.path
    result = deploy(
        session=session,
        stack_name=args.stack_name,
        package_path=package_path,
        parameters=parameters,
        artifact_bucket=args.artifact_bucket,
        console=console,
        template_path=args.template,
        tags=tags,
        role_arn=args.role_arn,
        execute=not args.no_execute,
    )
    if args.json:
        _print_json(result.to_json())
    return 0


def cmd_destroy(args: argparse.Namespace, console: Console) -> int:
    from harness.destroy import destroy

    _environment(args)
    if not args.yes and not is_local_endpoint(_endpoint(args)):
        raise UsageError(
            f"destroy deletes stack {args.stack_name} and every object version in its buckets: "
            "add --yes to confirm (not needed for a local endpoint on 127.0.0.1/localhost)"
        )
    result = destroy(
        session=_session(args),
        stack_name=args.stack_name,
        console=console,
    )
    if args.json:
        _print_json(result.to_json())
    return 0


def cmd_outputs(args: argparse.Namespace, console: Console) -> int:
    from harness.stack import outputs_table, read_outputs

    _environment(args)
    outputs = read_outputs(_session(args), args.stack_name, required=())
    if args.json:
        _print_json(outputs)
    else:
        console.print(outputs_table(outputs, title=f"{args.stack_name} outputs"))
    return 0


def cmd_metrics(args: argparse.Namespace, console: Console) -> int:
    from harness.metrics import metrics_table, read_metrics

    _environment(args)
    if args.until is not None and args.since is None:
        raise UsageError("--until needs --since")
    end = args.until
    if args.since is not None and args.since >= (end or datetime.now(UTC)):
        raise UsageError(f"--since {args.since.isoformat()} must be before the window end (--until or now)")
    report = read_metrics(
        _session(args),
        args.stack_name,
        minutes=args.minutes,
        start=args.since,
        end=end,
    )
    if args.json:
        _print_json(report.to_json())
    else:
        console.print(metrics_table(report))
        for note in report.notes:
            console.print(f"note: {note}")
    return 0


def cmd_redrive(args: argparse.Namespace, console: Console) -> int:
    from harness.redrive import redrive_stack

    _environment(args)
    result = redrive_stack(
        _session(args), args.stack_name, console=console, use_move_task=False if args.no_move_task else None
    )
    if args.json:
        _print_json(result.to_json())
    else:
        console.print(f"moved {result.moved} message(s) from the dead-letter queue ({result.method})")
    return 0


def _drift_progress() -> Progress:
    """Progress goes to stderr, so stdout carries only the result (the keys of a dry run, or --json)."""
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
    )


def _fingerprint_line(fingerprint: Fingerprint) -> str:
    seen = f"read from {fingerprint.seen_on}" if fingerprint.seen_on else "computed from its environment"
    return f"the function writes fingerprint {fingerprint.value} ({seen})"


def _pending_after(args: argparse.Namespace) -> datetime:
    return datetime.now(UTC) - timedelta(minutes=args.grace)


def cmd_reprocess(args: argparse.Namespace, console: Console) -> int:
    from harness.reprocess import reprocess
    from harness.survey import resolve

    _environment(args)
    if args.since is not None and args.since > datetime.now(UTC):
        raise UsageError(f"--since {args.since.isoformat()} is in the future: allowed a time up to now")
    session = _session(args)
    deployed = resolve(session, args.stack_name)
    with _drift_progress() as progress:
        result = reprocess(
            session.client("s3"),
            session.client("sqs"),
            deployed,
            region=str(session.region_name),
            prefix=args.prefix,
            since=args.since,
            stale_only=args.stale_only,
            dry_run=args.dry_run,
            pacer=Pacer(args.rate),
            pending_after=_pending_after(args),
            progress=progress,
        )
    if args.json:
        _print_json(result.to_json())
        return 0
    if args.dry_run:
        sys.stdout.writelines(f"{photo.upload.key}\n" for photo in result.chosen)
    verb = "would send" if args.dry_run else "sent"
    console.print(
        f"{verb} {len(result.chosen) if args.dry_run else result.sent} reprocess message(s) for "
        f"{len(result.drift.photos)} upload(s) in {result.seconds:.1f} s"
    )
    return 0


def cmd_reconcile(args: argparse.Namespace, console: Console) -> int:
    from harness.reconcile import drift_table, reconcile
    from harness.survey import resolve

    _environment(args)
    session = _session(args)
    deployed = resolve(session, args.stack_name)
    with _drift_progress() as progress:
        result = reconcile(
            session.client("s3"),
            session.client("sqs"),
            deployed,
            region=str(session.region_name),
            fix=args.fix,
            pacer=Pacer(args.rate),
            pending_after=_pending_after(args),
            progress=progress,
        )
    if args.json:
        _print_json(result.to_json())
    else:
        console.print(drift_table(result.drift, f"{args.stack_name}: uploads against renditions"))
        console.print(_fingerprint_line(result.stock.fingerprint))
        if rejections := result.drift.rejections():
            by_type = ", ".join(f"{error_type} {count:,}" for error_type, count in rejections.items())
            console.print(f"rejected by the function, not drift: {by_type}")
        if result.fixed:
            console.print(
                f"enqueued {result.enqueued} photo(s), deleted {result.deleted} orphan(s)"
                + (f", kept {len(result.kept)} changed since listed" if result.kept else "")
            )
        elif result.drift.found:
            console.print("[red]drift found[/red]: run again with --fix to mend it")
        else:
            console.print("[green]no drift[/green]")
    return result.exit_status


def cmd_local(args: argparse.Namespace, console: Console) -> int:
    unavailable = getattr(args, "local_unavailable", None)
    if unavailable:
        console.print(f"[red]the local stack is not available: {unavailable}[/red]")
        return 1
    command = importlib.import_module(LOCAL_COMMAND_MODULE)
    return int(command.run(args))


def cmd_acceptance(args: argparse.Namespace, console: Console) -> int:
    from harness.acceptance import (
        AccountTarget,
        LocalTarget,
        Target,
        Timeouts,
        run_acceptance,
        unique_stack_name,
    )

    environment = _environment(args, stack_name=False) if not args.local else None
    parameters, tags = _parameters_and_tags(args, environment, PURPOSE_ACCEPTANCE)
    if StackParameter.NOTIFICATION_EMAIL not in parse_assignments(args.param):
        # A test stack's subscription would mail the environment's people on every run; only --param asks.
        parameters.pop(StackParameter.NOTIFICATION_EMAIL, None)
    stack_name = args.stack_name or unique_stack_name()
    target: Target
    if args.local:
        if args.profile or args.region or args.role_arn:
            raise UsageError("--local runs on this machine: --profile, --region and --role-arn do not apply")
        target = LocalTarget(stack_name=stack_name, parameters=parameters, workdir=Path("build/acceptance"))
        timeouts = Timeouts.for_local()
    else:
        session = _session(args)
        runtime, architecture = _resolve_package_target(args, parameters, {})
        _check_python311(args, runtime)

        def package(progress: Console) -> Path:
            return build_package(
                runtime=runtime,
                architecture=architecture,
                out_dir=args.out_dir,
                allow_python311=args.allow_python311,
                console=progress,
            ).path

        target = AccountTarget(
            aws=session,
            stack_name=stack_name,
            parameters=parameters,
            package=package,
            tags=tags,
            role_arn=args.role_arn,
        )
        timeouts = Timeouts.for_account()
    if args.canary_timeout is not None:
        timeouts = replace(timeouts, canary=args.canary_timeout)
    template = load_template(args.template)
    report = run_acceptance(target, template=template, console=console, timeouts=timeouts)
    paths = report.write(args.report_dir)
    console.print(f"reports: {', '.join(str(path) for path in paths.values())}")
    counts = report.counts()
    summary = ", ".join(f"{count} {outcome}" for outcome, count in counts.items() if count)
    verdict = "[green]PASSED[/green]" if report.passed else "[red]FAILED[/red]"
    console.print(f"acceptance {verdict}: {summary}; {report.seconds:.1f} s; est. ${report.cost_usd:.4f}")
    if args.json:
        _print_json(report.to_json())
    if report.interrupted:
        return 130
    return 0 if report.passed else 1


def cmd_canary(args: argparse.Namespace, console: Console) -> int:
    from harness.canary import NotDeliveredError, canary_key, deployed_settings, wait_for_delivery
    from harness.stack import read_outputs

    _environment(args)
    session = _session(args)
    outputs = read_outputs(session, args.stack_name, required=("UploadBucketName", "ProcessedBucketName"))
    deployed = _deployed_parameters(session, args)
    key = canary_key(deployed.get(StackParameter.UPLOAD_KEY_PREFIX, ""))
    poll = 0.2 if is_local_endpoint(_endpoint(args)) else 5.0
    try:
        with console.status(f"waiting for the renditions of s3://{outputs['UploadBucketName']}/{key}"):
            settings = deployed_settings(deployed)
            seconds = wait_for_delivery(
                session, outputs, key=key, timeout=args.timeout, poll=poll, settings=settings
            )
    except NotDeliveredError as exc:
        console.print(f"[red]{exc}[/red]")
        return 1
    if args.json:
        _print_json({"delivered": True, "seconds": round(seconds, 1), "key": key})
    else:
        console.print(f"[green]the notification delivers:[/green] renditions after {seconds:.1f} s (removed)")
    return 0


def cmd_cost(args: argparse.Namespace, console: Console) -> int:
    from harness.measures.bill import Usage, monthly_bill, to_markdown, write_reports

    usage = Usage(photos_per_day=args.photos_per_day)
    if args.cpu_ms is not None:
        usage = replace(usage, cpu_ms=args.cpu_ms)
    if args.upload_mb is not None:
        usage = replace(usage, upload_bytes=args.upload_mb * 1e6)
    bill = monthly_bill(usage, args.months)
    paths = write_reports(bill, args.out)
    if args.json:
        _print_json(bill.to_json())
    else:
        console.print(to_markdown(bill), markup=False)
        console.print(f"reports: {', '.join(str(path) for path in paths.values())}")
    return 0


def cmd_stacks(args: argparse.Namespace, console: Console) -> int:
    from harness.stacks import clean, parse_age, project_stacks, stacks_table

    session = _session(args)
    now = datetime.now(UTC)
    if args.stacks_command == "list":
        stacks = project_stacks(session.client("cloudformation"))
        if args.json:
            _print_json([stack.to_json(now) for stack in stacks])
        else:
            console.print(stacks_table(stacks, now, f"photopipe stacks in {session.region_name}"))
        return 0

    def confirm(question: str) -> bool:
        if args.yes:
            return True
        if not sys.stdin.isatty():
            raise UsageError(f"{question} Add --yes to confirm when there is no terminal to ask on")
        return console.input(f"{question} [y/N] ").strip().lower() in ("y", "yes")

    destroyed = clean(
        session, purpose=args.purpose, older_than=parse_age(args.older_than), console=console, confirm=confirm
    )
    if args.json:
        _print_json({"destroyed": destroyed})
    else:
        console.print(f"destroyed {len(destroyed)} stack(s)")
    return 0


COMMANDS: Final[dict[str, Callable[[argparse.Namespace, Console], int]]] = {
    "package": cmd_package,
    "deploy": cmd_deploy,
    "destroy": cmd_destroy,
    "local": cmd_local,
    "outputs": cmd_outputs,
    "metrics": cmd_metrics,
    "redrive": cmd_redrive,
    "acceptance": cmd_acceptance,
    "stacks": cmd_stacks,
    "cost": cmd_cost,
    "canary": cmd_canary,
    "reprocess": cmd_reprocess,
    "reconcile": cmd_reconcile,
}


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    console = Console(stderr=bool(args.json))
    try:
        return COMMANDS[args.command](args, console)
    except (UsageError, InvalidInputError) as exc:
        parser.error(str(exc))  # exits 2
    except KeyboardInterrupt:
        console.print("[yellow]interrupted[/yellow]")
        return 130
    except NoCredentialsError:
        console.print(
            "[red]no AWS credentials: set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY[/red]"
        )
        return 1
    except (
        PackageError,
        StackError,
        DeployError,
        ClientError,
        BotoCoreError,
        RuntimeError,
        TimeoutError,
    ) as exc:
        console.print(f"[red]error:[/red] {exc}")
        return 1
