"""`EmbeddedStack`: the whole pipeline on this machine — moto server, the built zip deployed with the real
deploy code, the skipped properties wired, and the function run by the local Lambda runtime."""

from __future__ import annotations

import base64
import hashlib
import platform
import shutil
import time
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Final

import boto3
import psutil
from rich.console import Console

from harness.contract import DEFAULT_STACK_NAME, ROOT, TEMPLATE_PATH, StackParameter
from harness.deploy import deploy
from harness.emulator.interpreters import Interpreter, choose_interpreter, runtime_sdk_dir
from harness.emulator.runtime import FunctionSpec, LambdaRuntime, MappingSpec, configuration_fingerprint
from harness.emulator.server import ACCESS_KEY, DEFAULT_REGION, SECRET_KEY, LocalSession, MotoServer
from harness.emulator.telemetry import QueueGauge
from harness.emulator.wiring import WiringReport, describe_deployed, make_resolver, wire
from harness.outputs import StackOutput
from harness.package import build_package
from harness.params import (
    InvalidInputError,
    load_template,
    validate_parameters,
    validate_stack_name,
)

FUNCTION_LOGICAL_ID: Final = "ProcessingFunction"
MACHINE_ARCHITECTURES: Final = {"x86_64": "x86_64", "amd64": "x86_64", "aarch64": "arm64", "arm64": "arm64"}


def machine_architecture() -> str:
    machine = platform.machine().lower()
    if machine not in MACHINE_ARCHITECTURES:
        raise RuntimeError(
            f"no Lambda architecture for this machine ({machine}): Lambda has x86_64 and arm64"
        )
    return MACHINE_ARCHITECTURES[machine]


@dataclass
class StartupTimings:
    server_s: float = 0.0
    package_s: float = 0.0
    deploy_s: float = 0.0
    wiring_s: float = 0.0
    runtime_s: float = 0.0

    @property
    def total_s(self) -> float:
        return self.server_s + self.package_s + self.deploy_s + self.wiring_s + self.runtime_s


@dataclass
class StartupReport:
    interpreter: Interpreter | None = None
    package: Path | None = None
    wiring: WiringReport = field(default_factory=WiringReport)
    timings: StartupTimings = field(default_factory=StartupTimings)
    parameters: dict[str, str] = field(default_factory=dict)


def _extract(package: Path, target: Path) -> Path:
    """The worker's LAMBDA_TASK_ROOT (`workdir/function`), unzipped again only when the zip changed."""
    digest = hashlib.sha256(package.read_bytes()).hexdigest()
    marker = target / ".photopipe-sha256"
    if not marker.exists() or marker.read_text() != digest:
        shutil.rmtree(target, ignore_errors=True)
        with zipfile.ZipFile(package) as archive:
            archive.extractall(target)
        marker.write_text(digest)
    return target


class EmbeddedStack:
    """Context manager: everything started on enter, everything stopped on exit (no orphan processes)."""

    def __init__(
        self,
        *,
        port: int = 0,
        stack_name: str = DEFAULT_STACK_NAME,
        parameters: Mapping[str, str] | None = None,
        workdir: Path = Path("build/local"),
        region: str = DEFAULT_REGION,
        template_path: Path = TEMPLATE_PATH,
        console: Console | None = None,
        environment_overrides: Mapping[str, str] | None = None,
        on_log_line: Callable[[str], None] | None = None,
    ) -> None:
        self.port = port
        self.stack_name = stack_name
        self.requested_parameters = dict(parameters or {})
        self.workdir = workdir if workdir.is_absolute() else ROOT / workdir
        self.region = region
        self.template_path = template_path
        self.console = console or Console(stderr=True, quiet=True)
        self.environment_overrides = dict(environment_overrides or {})
        self.on_log_line = on_log_line  # each line the function prints (`photopipe local` shows outcomes)
        self.server = MotoServer(port, log_path=self.workdir / "moto-server.log")
        self.runtime: LambdaRuntime | None = None
        self.queue_gauge: QueueGauge | None = None
        self.outputs: dict[str, str] = {}
        self.report = StartupReport()
        self.endpoint_url = ""

    def session(self) -> boto3.Session:
        return LocalSession(self.endpoint_url, self.region)

    def __enter__(self) -> EmbeddedStack:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def start(self) -> None:
        timings = self.report.timings
        template = load_template(self.template_path)
        declared = template.get("Parameters", {})
        validate_stack_name(self.stack_name)
        validate_parameters(self.requested_parameters, template)  # refused before anything starts
        runtime = self.requested_parameters.get(StackParameter.RUNTIME) or str(
            declared[StackParameter.RUNTIME]["Default"]
        )
        architecture = machine_architecture()
        given_architecture = self.requested_parameters.get(StackParameter.ARCHITECTURE)
        if given_architecture and given_architecture != architecture:
            name = StackParameter.ARCHITECTURE
            raise InvalidInputError(
                f"{name}={given_architecture}: the local stack runs the function on this machine "
                f"({architecture}); leave {name} unset or pass {architecture}"
            )

        started = time.perf_counter()
        self.endpoint_url = self.server.start()
        timings.server_s = time.perf_counter() - started

        started = time.perf_counter()
        interpreter = choose_interpreter(runtime)
        self.report.interpreter = interpreter
        if interpreter.note:
            self.console.print(f"[yellow]{interpreter.note}[/yellow]")
        built = build_package(
            runtime=interpreter.runtime,
            architecture=architecture,
            out_dir=self.workdir / "package",
            allow_python311=interpreter.runtime == "python3.11",
            console=self.console,
            wheel_cache=ROOT / "build" / "wheels",
        )
        self.report.package = built.path
        sdk = runtime_sdk_dir(ROOT / "build" / "lambda-sdk", interpreter.runtime)  # shared by every workdir
        task_root = _extract(built.path, self.workdir / "function")
        timings.package_s = time.perf_counter() - started

        parameters = {
            **self.requested_parameters,
            StackParameter.RUNTIME: interpreter.runtime,
            StackParameter.ARCHITECTURE: architecture,
        }
        self.report.parameters = parameters
        started = time.perf_counter()
        session = self.session()
        result = deploy(
            session=session,
            stack_name=self.stack_name,
            package_path=built.path,
            parameters=parameters,
            console=self.console,
            template_path=self.template_path,
        )
        self.outputs = dict(result.outputs)
        timings.deploy_s = time.perf_counter() - started

        started = time.perf_counter()
        self.report.wiring = wire(session, self.stack_name, template)
        timings.wiring_s = time.perf_counter() - started

        started = time.perf_counter()
        function = self._function_spec(session, template, built.sha256)
        mappings = self._mapping_specs(session, function)
        self.runtime = LambdaRuntime(
            session,
            function,
            mappings,
            python=interpreter.path,
            base_environment={
                "AWS_ENDPOINT_URL": self.endpoint_url,
                "AWS_REGION": self.region,
                "AWS_DEFAULT_REGION": self.region,
                "AWS_ACCESS_KEY_ID": ACCESS_KEY,
                "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
                "AWS_SESSION_TOKEN": "testing",
                "LAMBDA_TASK_ROOT": str(task_root),
                "LAMBDA_RUNTIME_DIR": str(sdk),
                "LANG": "en_US.UTF-8",
                "TZ": ":UTC",
                "PATH": "/usr/local/bin:/usr/bin:/bin",
            },
            overrides=self.environment_overrides,
            on_log_line=self.on_log_line,
        )
        self.runtime.start()
        queue_urls = [
            self.outputs[key]
            for key in (StackOutput.PROCESSING_QUEUE_URL, StackOutput.DEAD_LETTER_QUEUE_URL)
            if self.outputs.get(key)
        ]
        self.queue_gauge = QueueGauge(session, queue_urls, self.runtime.shipper)
        self.queue_gauge.start()
        timings.runtime_s = time.perf_counter() - started

    def _function_spec(
        self, session: boto3.Session, template: Mapping[str, Any], sha256: str
    ) -> FunctionSpec:
        name = self.outputs.get(StackOutput.FUNCTION_NAME) or ""
        client = session.client("lambda")
        config = client.get_function_configuration(FunctionName=name)
        deployed_sha = base64.b64decode(config["CodeSha256"]).hex()
        if deployed_sha != sha256:
            raise RuntimeError(
                f"the function's code ({deployed_sha[:12]}) is not the zip built for it ({sha256[:12]})"
            )
        resolver = make_resolver(session, describe_deployed(session, self.stack_name, template), template)
        logging_config = resolver.properties(FUNCTION_LOGICAL_ID).get("LoggingConfig", {})
        reserved = client.get_function_concurrency(FunctionName=name).get("ReservedConcurrentExecutions")
        return FunctionSpec(
            name=name,
            arn=config["FunctionArn"],
            handler=config["Handler"],
            runtime=config["Runtime"],
            memory_mb=int(config["MemorySize"]),
            timeout_s=int(config["Timeout"]),
            environment=dict(config.get("Environment", {}).get("Variables", {})),
            reserved_concurrency=int(reserved) if reserved is not None else None,
            log_group=str(logging_config.get("LogGroup") or f"/aws/lambda/{name}"),
            log_format=str(logging_config.get("LogFormat") or "Text"),
            log_level=str(logging_config.get("ApplicationLogLevel") or ""),
            revision=configuration_fingerprint(config),
        )

    def _mapping_specs(self, session: boto3.Session, function: FunctionSpec) -> list[MappingSpec]:
        client = session.client("lambda")
        sqs = session.client("sqs")
        specs = []
        for item in client.list_event_source_mappings(FunctionName=function.name)["EventSourceMappings"]:
            arn = item["EventSourceArn"]
            if not arn.startswith("arn:aws:sqs:"):
                continue
            _, _, _, _region, account, queue_name = arn.split(":")
            url = sqs.get_queue_url(QueueName=queue_name, QueueOwnerAWSAccountId=account)["QueueUrl"]
            specs.append(
                MappingSpec(
                    uuid=item["UUID"],
                    queue_arn=arn,
                    queue_url=url,
                    batch_size=int(item.get("BatchSize", 10)),
                    batching_window_s=int(item.get("MaximumBatchingWindowInSeconds", 0)),
                    maximum_concurrency=int(item.get("ScalingConfig", {}).get("MaximumConcurrency", 1000)),
                    report_batch_item_failures="ReportBatchItemFailures"
                    in item.get("FunctionResponseTypes", []),
                    enabled=item.get("State", "Enabled") in ("Enabled", "Enabling", "Creating"),
                )
            )
        return specs

    def flush(self) -> None:
        """Wait until the logs and metrics of finished invocations are in CloudWatch."""
        if self.runtime is not None:
            self.runtime.shipper.flush()

    def worker_stats(self) -> list[dict[str, Any]]:
        if self.runtime is None:
            return []
        stats = []
        for worker in self.runtime.pool.workers():
            rss = 0
            if worker.pid is not None and worker.alive:
                try:
                    rss = psutil.Process(worker.pid).memory_info().rss
                except psutil.Error:
                    rss = 0
            stats.append(
                {
                    "pid": worker.pid,
                    "alive": worker.alive,
                    "rss_bytes": rss,
                    "invocations": worker.invocations,
                    "generation": worker.generation,
                    "log_stream": worker.log_stream,
                    "python": str(worker.python),
                }
            )
        return stats

    def stop(self) -> None:
        if self.queue_gauge is not None:
            self.queue_gauge.stop()
            self.queue_gauge = None
        if self.runtime is not None:
            self.runtime.stop()
            self.runtime = None
        self.server.stop()
