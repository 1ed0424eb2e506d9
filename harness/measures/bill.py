"""`photopipe cost`: the monthly AWS bill of a deployed stack at a steady number of photos a day.

The per-photo part (Lambda, SQS, S3 requests) comes from harness.measures.costmodel at the template's default
memory and architecture; on top of it come what a stack costs by existing (the KMS key, the alarms, the
dashboard, the handler's custom metrics, the SQS poller's empty receives) and what grows with every upload (S3
storage of the originals and renditions, noncurrent versions, logs). Prices and their date are in prices.json
beside this module; the workload figures are parameters with defaults measured on the local stack (see
README).

    python -m harness cost --photos-per-day 4000 --months 12 [--out reports/cost]
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Final

from harness.contract import TEMPLATE_PATH, StackParameter
from harness.measures.costmodel import Prices, Workload, around_cost_per_photo, lambda_cost_per_photo
from harness.params import load_template

PRICES_PATH: Final = Path(__file__).with_name("prices.json")
DAYS_PER_MONTH: Final = 30.4375
GB: Final = 1024**3
ALARM_TYPE: Final = "AWS::CloudWatch::Alarm"


@dataclass(frozen=True, slots=True)
class PriceList:
    values: dict[str, Any]

    @classmethod
    def load(cls, path: Path = PRICES_PATH) -> PriceList:
        return cls(json.loads(path.read_text(encoding="utf-8")))

    def __getitem__(self, name: str) -> float:
        return float(self.values[name])

    @property
    def as_of(self) -> str:
        return str(self.values["as_of"])

    def lambda_prices(self) -> Prices:
        """The costmodel's per-photo prices, from this list (one price list for the bill)."""
        return Prices(
            region=str(self.values["region"]),
            as_of=self.as_of,
            gb_second=dict(self.values["lambda_gb_second"]),
            per_request=self["lambda_per_request"],
            sqs_per_request=self["sqs_per_request"],
            s3_put_per_request=self["s3_put_per_request"],
            s3_get_per_request=self["s3_get_per_request"],
        )


@dataclass(frozen=True, slots=True)
class Usage:
    """What one photo and one stack use. Defaults: CPU from `nox -s bench` (the 12 MP phone JPEG with
    full-band detail, median of three runs on 2026-12-01: 239-338 ms, at reference quality); log bytes
    and rendition bytes measured on the local stack with 12 MP JPEGs one per invocation (1,349 log bytes incl.
    CloudWatch's 26 per event; renditions 45.7 kB + 8.9 kB)."""

    photos_per_day: float
    cpu_ms: float = 251.0
    io_ms: float = 60.0
    upload_bytes: float = 2_000_000.0
    """A 12 MP phone JPEG (the fixture `jpeg-phone-12mp` is 1.98 MB)."""
    rendition_bytes: float = 55_000.0
    log_bytes_per_photo: float = 1_350.0
    reject_share: float = 0.01
    replaced_share: float = 0.02
    """Uploads overwritten or deleted: their old version stays as a noncurrent version until it expires."""
    custom_metric_series: int = 12
    """Handler metric series: 6 measured for valid photos, plus one per ErrorType seen (6 assumed)."""
    idle_pollers: int = 5
    """Lambda polls an SQS source with about five long-polling receives in flight, busy or not."""
    log_compression: float = 0.15
    """CloudWatch Logs bills stored bytes compressed; JSON logs compress to about a sixth."""


@dataclass(frozen=True, slots=True)
class StackShape:
    """What the template deploys by default: the bill follows the template, not a copy of it."""

    memory_mb: int
    architecture: str
    batch_size: int
    log_retention_days: int
    noncurrent_days: int
    standard_alarms: int
    metrics_insights_alarms: int

    @classmethod
    def from_template(cls, template: Mapping[str, Any]) -> StackShape:
        parameters = template["Parameters"]
        resources = template["Resources"]
        alarms = [r["Properties"] for r in resources.values() if r["Type"] == ALARM_TYPE]
        insights = sum(
            1
            for alarm in alarms
            if any("SELECT" in json.dumps(m.get("Expression", "")) for m in alarm.get("Metrics", []))
        )
        noncurrent = 0
        for rule in (
            resources["UploadBucket"]["Properties"].get("LifecycleConfiguration", {}).get("Rules", [])
        ):
            if isinstance(rule, dict) and "NoncurrentVersionExpiration" in rule:
                noncurrent = int(rule["NoncurrentVersionExpiration"]["NoncurrentDays"])
        return cls(
            memory_mb=int(parameters[StackParameter.MEMORY_SIZE]["Default"]),
            architecture=str(parameters[StackParameter.ARCHITECTURE]["Default"]),
            batch_size=int(parameters[StackParameter.BATCH_SIZE]["Default"]),
            log_retention_days=int(parameters[StackParameter.LOG_RETENTION_DAYS]["Default"]),
            noncurrent_days=noncurrent,
            standard_alarms=len(alarms) - insights,
            metrics_insights_alarms=insights,
        )


@dataclass(frozen=True, slots=True)
class Month:
    month: int
    photos: float
    items: dict[str, float]
    stored_gb: float

    @property
    def total(self) -> float:
        return math.fsum(self.items.values())


@dataclass(frozen=True, slots=True)
class Bill:
    usage: Usage
    shape: StackShape
    as_of: str
    region: str
    months: list[Month] = field(default_factory=list)
    assumptions: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "usage": asdict(self.usage),
            "stack": asdict(self.shape),
            "prices_as_of": self.as_of,
            "region": self.region,
            "months": [
                {
                    **asdict(month),
                    "total": round(month.total, 4),
                    "items": {k: round(v, 4) for k, v in month.items.items()},
                }
                for month in self.months
            ],
            "assumptions": self.assumptions,
        }


def monthly_bill(
    usage: Usage,
    months: int = 12,
    *,
    template: Mapping[str, Any] | None = None,
    prices: PriceList | None = None,
) -> Bill:
    """Month 1..`months` at a steady `photos_per_day`; storage grows with every month's uploads."""
    if usage.photos_per_day < 0:
        raise ValueError(f"photos per day must be 0 or more, got {usage.photos_per_day}")
    if not 1 <= months <= 120:
        raise ValueError(f"months must be 1 to 120, got {months}")
    prices = prices or PriceList.load()
    shape = StackShape.from_template(template or load_template(TEMPLATE_PATH))
    lambda_prices = prices.lambda_prices()
    workload = Workload(cpu_ms=usage.cpu_ms, io_ms=usage.io_ms, batch_size=1)
    photos = usage.photos_per_day * DAYS_PER_MONTH
    rejects = photos * usage.reject_share
    # At thousands of photos a day they arrive one by one: each invocation carries one record.
    per_photo_lambda = lambda_cost_per_photo(workload, shape.memory_mb, shape.architecture, lambda_prices)
    per_photo_requests = around_cost_per_photo(workload, lambda_prices)
    log_gb_month = photos * usage.log_bytes_per_photo / GB
    retained_log_gb = (
        log_gb_month * min(1.0, shape.log_retention_days / DAYS_PER_MONTH) * usage.log_compression
    )
    idle_receives = usage.idle_pollers * 3 * 60 * 24 * DAYS_PER_MONTH  # one 20-second long poll each
    result: list[Month] = []
    for month in range(1, months + 1):
        # Average storage over the month: everything before it, plus half of this month's uploads.
        uploaded = photos * (month - 0.5)
        originals_gb = uploaded * usage.upload_bytes / GB
        renditions_gb = uploaded * (1 - usage.reject_share) * usage.rendition_bytes / GB
        noncurrent_gb = (
            photos
            * usage.replaced_share
            * usage.upload_bytes
            / GB
            * min(1.0, shape.noncurrent_days / DAYS_PER_MONTH)
        )
        stored = originals_gb + renditions_gb + noncurrent_gb
        items = {
            "Lambda (compute and requests)": photos * per_photo_lambda,
            "S3 and SQS requests": photos * per_photo_requests + idle_receives * prices["sqs_per_request"],
            "S3 storage (originals, renditions, noncurrent)": stored * prices["s3_standard_gb_month"],
            "SNS (rejection notices)": rejects * prices["sns_per_publish"],
            "KMS key and requests": prices["kms_key_month"] + rejects * prices["kms_per_request"],
            "CloudWatch alarms": shape.standard_alarms * prices["alarm_standard_month"]
            + shape.metrics_insights_alarms
            * usage.custom_metric_series
            * prices["alarm_metrics_insights_per_metric_month"],
            "CloudWatch dashboard": prices["dashboard_month"],
            "CloudWatch custom metrics (EMF)": usage.custom_metric_series * prices["custom_metric_month"],
            "CloudWatch Logs (ingestion and storage)": log_gb_month * prices["logs_ingest_gb"]
            + retained_log_gb * prices["logs_storage_gb_month"],
        }
        result.append(Month(month=month, photos=photos, items=items, stored_gb=stored))
    assumptions = [
        f"{usage.photos_per_day:,.0f} photos a day, {usage.reject_share:.0%} rejected, "
        f"{usage.replaced_share:.0%} later replaced or deleted "
        f"(kept {shape.noncurrent_days} days as noncurrent)",
        f"function: {shape.memory_mb} MB {shape.architecture} (the template's defaults), "
        f"{usage.cpu_ms} ms CPU + "
        f"{usage.io_ms} ms I/O per photo, one photo per invocation",
        f"{usage.upload_bytes / 1e6:.1f} MB per upload, {usage.rendition_bytes / 1e3:.0f} kB of renditions, "
        f"{usage.log_bytes_per_photo:,.0f} log bytes per photo (kept {shape.log_retention_days} days)",
        f"{shape.standard_alarms} alarms and {shape.metrics_insights_alarms} Metrics Insights alarm over "
        f"{usage.custom_metric_series} series; one dashboard (beyond the 3 free)",
        f"{prices.values['region']} list prices as of {prices.as_of}; no free tier",
    ]
    return Bill(usage, shape, prices.as_of, str(prices.values["region"]), result, assumptions)


def to_markdown(bill: Bill) -> str:
    first, last = bill.months[0], bill.months[-1]
    lines = [
        f"# Monthly AWS bill: {bill.usage.photos_per_day:,.0f} photos a day "
        f"({bill.region}, prices {bill.as_of})",
        "",
        "| month | photos | stored GB | total USD |",
        "|---:|---:|---:|---:|",
        *[f"| {m.month} | {m.photos:,.0f} | {m.stored_gb:,.1f} | {m.total:,.2f} |" for m in bill.months],
        "",
        f"| item | month 1 USD | month {last.month} USD |",
        "|---|---:|---:|",
        *[f"| {item} | {first.items[item]:,.2f} | {last.items[item]:,.2f} |" for item in first.items],
        "",
        *[f"- {assumption}" for assumption in bill.assumptions],
    ]
    return "\n".join(lines) + "\n"


def write_chart(bill: Bill, path: Path) -> Path | None:
    """A stacked bar per month; None without matplotlib (it comes with the load and bench extras)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    figure, axes = plt.subplots(figsize=(9, 4.5))
    bottoms = [0.0] * len(bill.months)
    positions = [m.month for m in bill.months]
    for item in bill.months[0].items:
        heights = [m.items[item] for m in bill.months]
        axes.bar(positions, heights, bottom=bottoms, label=item)
        bottoms = [b + h for b, h in zip(bottoms, heights, strict=True)]
    axes.set_xlabel("month")
    axes.set_ylabel("USD")
    axes.set_title(
        f"photopipe at {bill.usage.photos_per_day:,.0f} photos/day ({bill.region}, {bill.as_of} prices)"
    )
    axes.legend(fontsize=7, loc="upper left")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


def write_reports(bill: Bill, out_dir: Path) -> dict[str, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {"json": out_dir / "bill.json", "markdown": out_dir / "bill.md"}
    paths["json"].write_text(json.dumps(bill.to_json(), indent=2) + "\n", encoding="utf-8")
    paths["markdown"].write_text(to_markdown(bill), encoding="utf-8")
    chart = write_chart(bill, out_dir / "bill.png")
    if chart is not None:
        paths["chart"] = chart
    return paths
