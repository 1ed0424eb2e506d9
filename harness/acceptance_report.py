"""What an acceptance run found, as JUnit XML (for CI), JSON (for machines) and Markdown (for people).

Every check has one of five outcomes. `not-run-locally` is a check the local stack cannot prove (moto does
not run alarm actions, say): it is reported as skipped, never as passed, so a green local run does not claim
what only an account can show. `not-applicable` is a check of a feature the deployed stack does not have
(deletion propagation without ObjectRemoved notifications). `not-run` is a check that never started because
an earlier one failed.
"""

from __future__ import annotations

import json
import math
import xml.etree.ElementTree as ET
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Final, Literal

from harness.measures.bill import PriceList

Outcome = Literal["passed", "failed", "not-run-locally", "not-applicable", "not-run"]
PASSED: Final = "passed"
FAILED: Final = "failed"
NOT_RUN_LOCALLY: Final = "not-run-locally"
NOT_RUN: Final = "not-run"
NOT_APPLICABLE: Final = "not-applicable"
SKIPPED_OR_PASSED: Final = (PASSED, NOT_RUN_LOCALLY, NOT_APPLICABLE)
HOURS_PER_MONTH: Final = 730.0


@dataclass(slots=True)
class Check:
    name: str
    description: str
    outcome: Outcome = NOT_RUN
    seconds: float = 0.0
    detail: str = ""


@dataclass(frozen=True, slots=True)
class RunUsage:
    """What the run used, as counted by the run and read back from CloudWatch."""

    hours: float
    photos: int
    renditions_written: int
    invocations: int
    billed_duration_ms: float
    memory_mb: int
    architecture: str
    alarms: int
    sns_messages: int


@dataclass(frozen=True, slots=True)
class CostItem:
    item: str
    usd: float
    basis: str


def run_cost(usage: RunUsage, prices: PriceList | None = None) -> list[CostItem]:
    """The run's estimated AWS bill: its requests and compute, and the fixed monthly charges for the hours
    the stack existed (AWS prorates KMS keys, alarms and dashboards by the hour)."""
    prices = prices or PriceList.load()
    per_photo = prices.lambda_prices()
    share = usage.hours / HOURS_PER_MONTH
    gb_seconds = usage.memory_mb / 1024 * usage.billed_duration_ms / 1000
    gb_second_price = per_photo.gb_second.get(usage.architecture, max(per_photo.gb_second.values()))
    s3_puts = usage.photos + usage.renditions_written
    kms, alarm, dashboard = prices["kms_key_month"], prices["alarm_standard_month"], prices["dashboard_month"]
    return [
        CostItem(
            "Lambda",
            gb_seconds * gb_second_price + usage.invocations * per_photo.per_request,
            f"{usage.invocations} invocations, {gb_seconds:.2f} GB-s ({usage.architecture})",
        ),
        CostItem(
            "S3 requests",
            s3_puts * per_photo.s3_put_per_request + usage.photos * per_photo.s3_get_per_request,
            f"{s3_puts} PUTs, {usage.photos} GETs",
        ),
        CostItem(
            "SQS requests", 3 * usage.photos * per_photo.sqs_per_request, f"3 x {usage.photos} requests"
        ),
        CostItem("SNS", usage.sns_messages * prices["sns_per_publish"], f"{usage.sns_messages} messages"),
        CostItem("KMS key", kms * share, f"{usage.hours:.2f} h of ${kms:.2f}/month"),
        CostItem(
            "CloudWatch alarms",
            usage.alarms * alarm * share,
            f"{usage.alarms} alarms for {usage.hours:.2f} h",
        ),
        CostItem("Dashboard", dashboard * share, f"{usage.hours:.2f} h of ${dashboard:.2f}/month"),
    ]


@dataclass(slots=True)
class AcceptanceReport:
    stack_name: str
    region: str
    endpoint: str
    """`aws` or the local endpoint URL."""
    started: str
    checks: list[Check] = field(default_factory=list)
    seconds: float = 0.0
    interrupted: bool = False
    cost: list[CostItem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        """Every check passed or could only be proven on an account, and the run was not interrupted."""
        return not self.interrupted and all(c.outcome in SKIPPED_OR_PASSED for c in self.checks)

    @property
    def cost_usd(self) -> float:
        return math.fsum(item.usd for item in self.cost)

    def counts(self) -> dict[str, int]:
        return {
            outcome: sum(c.outcome == outcome for c in self.checks)
            for outcome in (PASSED, FAILED, NOT_RUN_LOCALLY, NOT_APPLICABLE, NOT_RUN)
        }

    def to_json(self) -> dict[str, Any]:
        return {
            "stack_name": self.stack_name,
            "region": self.region,
            "endpoint": self.endpoint,
            "started": self.started,
            "seconds": round(self.seconds, 1),
            "passed": self.passed,
            "interrupted": self.interrupted,
            "counts": self.counts(),
            "checks": [{**asdict(check), "seconds": round(check.seconds, 2)} for check in self.checks],
            "estimated_cost_usd": round(self.cost_usd, 6),
            "cost": [asdict(item) for item in self.cost],
            "notes": self.notes,
        }

    def to_markdown(self) -> str:
        verdict = "PASSED" if self.passed else ("INTERRUPTED" if self.interrupted else "FAILED")
        lines = [
            f"# photopipe acceptance: {verdict}",
            "",
            f"Stack `{self.stack_name}` in {self.region} ({self.endpoint}), started {self.started}, "
            f"{self.seconds:.1f} s in all.",
            "",
            "| check | outcome | seconds | detail |",
            "|---|---|---:|---|",
        ]
        for check in self.checks:
            detail = check.detail.replace("|", "\\|").replace("\n", " ")
            lines.append(f"| {check.name} | {check.outcome} | {check.seconds:.1f} | {detail} |")
        lines += ["", f"Estimated AWS cost of this run: **${self.cost_usd:.4f}**", ""]
        if self.cost:
            lines += ["| item | USD | basis |", "|---|---:|---|"]
            lines += [f"| {item.item} | {item.usd:.6f} | {item.basis} |" for item in self.cost]
        if self.notes:
            lines += ["", *[f"- {note}" for note in self.notes]]
        return "\n".join(lines) + "\n"

    def to_junit(self) -> str:
        counts = self.counts()
        suite = ET.Element(
            "testsuite",
            name="photopipe.acceptance",
            tests=str(len(self.checks)),
            failures=str(counts[FAILED]),
            errors="0",
            skipped=str(counts[NOT_RUN_LOCALLY] + counts[NOT_APPLICABLE] + counts[NOT_RUN]),
            time=f"{self.seconds:.3f}",
            timestamp=self.started,
        )
        for check in self.checks:
            case = ET.SubElement(
                suite,
                "testcase",
                classname=f"acceptance.{self.endpoint_kind}",
                name=check.name,
                time=f"{check.seconds:.3f}",
            )
            if check.outcome == FAILED:
                ET.SubElement(case, "failure", message=check.detail[:500]).text = check.detail
            elif check.outcome in (NOT_RUN_LOCALLY, NOT_APPLICABLE, NOT_RUN):
                ET.SubElement(case, "skipped", message=f"{check.outcome}: {check.detail}"[:500])
            elif check.detail:
                ET.SubElement(case, "system-out").text = check.detail
        ET.indent(suite)
        return ET.tostring(suite, encoding="unicode", xml_declaration=True) + "\n"

    @property
    def endpoint_kind(self) -> str:
        return "aws" if self.endpoint == "aws" else "local"

    def write(self, out_dir: Path) -> dict[str, Path]:
        out_dir.mkdir(parents=True, exist_ok=True)
        paths = {
            "junit": out_dir / "acceptance-junit.xml",
            "json": out_dir / "acceptance.json",
            "markdown": out_dir / "acceptance.md",
        }
        paths["junit"].write_text(self.to_junit(), encoding="utf-8")
        paths["json"].write_text(json.dumps(self.to_json(), indent=2) + "\n", encoding="utf-8")
        paths["markdown"].write_text(self.to_markdown(), encoding="utf-8")
        return paths
