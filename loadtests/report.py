"""The run's report: JSON (everything), Markdown (what a reader wants first), PNG (rates and p95 over time).

Pure rendering of the dict the coordinator assembles, so it can be tested without a run.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

LAMBDA_FIGURES = (
    "Lambda Invocations Sum",
    "Lambda Errors Sum",
    "Lambda Throttles Sum",
    "Lambda Duration Average",
    "Lambda Duration p50",
    "Lambda Duration p95",
    "Lambda Duration p99",
    "Lambda Duration Maximum",
    "Lambda ConcurrentExecutions Maximum",
    "queue ApproximateNumberOfMessagesVisible",
    "queue ApproximateAgeOfOldestMessage",
    "dlq ApproximateNumberOfMessagesVisible",
)


def locust_stats(stats: Any) -> list[dict[str, Any]]:
    """Locust's figures per (request type, name), as its own report shows them."""
    rows = []
    for entry in sorted(stats.entries.values(), key=lambda e: (e.method, e.name)):
        rows.append(
            {
                "type": entry.method,
                "name": entry.name,
                "requests": entry.num_requests,
                "failures": entry.num_failures,
                "median_ms": entry.get_response_time_percentile(0.5) if entry.num_requests else None,
                "p95_ms": entry.get_response_time_percentile(0.95) if entry.num_requests else None,
                "p99_ms": entry.get_response_time_percentile(0.99) if entry.num_requests else None,
                "max_ms": entry.max_response_time if entry.num_requests else None,
                "rps": round(entry.total_rps, 3),
            }
        )
    return rows


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f} ms"


def _num(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"


def to_markdown(data: Mapping[str, Any]) -> str:
    acc = data["accounting"]
    counts = acc["counts"]
    e2e = acc["e2e_ms"]
    shape = data["shape"]
    lines = [
        f"# Load run {data['run_id']}",
        "",
        f"Target: {data['target']}. Shape: **{shape['name']}** ({shape['load_seconds']:,.0f} s of load, "
        f"{shape['expected_photos']:,.0f} photos expected). {data['started']} .. {data['finished']}.",
        "",
        "## Verdicts",
        "",
        *[f"- {'PASS' if ok else '**FAIL**'}: {name}" for name, ok in acc["verdicts"].items()],
        "",
        "## Accounting",
        "",
        "| uploads | processed | rejected (notified) | DLQ | lost | PUT failed | valid photos failed |",
        "|---:|---:|---:|---:|---:|---:|---:|",
        f"| {counts['uploads']} | {counts['processed']} | {counts['rejected']} | {counts['dlq']} | "
        f"{counts['lost']} | {counts['not-uploaded']} | {len(acc['valid_failed'])} |",
        "",
        f"End-to-end (upload start -> last rendition written, or rejection notice): p50 {_ms(e2e['p50'])}, "
        f"p95 {_ms(e2e['p95'])}, p99 {_ms(e2e['p99'])}, max {_ms(e2e['max'])} "
        f"(threshold p95 {data['p95_threshold_ms']:,.0f} ms, timeout {data['e2e_timeout_s']:,.0f} s).",
    ]
    watcher = data.get("watcher")
    if watcher:
        processed = counts["processed"]
        stamped = processed - watcher["processed_at_look"]
        lines += [
            "",
            f"Completion times: {stamped:,} of {processed:,} processed photos from the time the handler "
            "stamped "
            f"on the rendition (to the millisecond), {watcher['processed_at_look']:,} from when the watcher "
            f"looked; rejections from the notice's time. {watcher['rendition_heads']:,} rendition HEADs "
            f"({_num(watcher['heads_per_upload'])} per upload).",
        ]
    if acc["lost"]:
        lines += ["", "Lost (first 20): " + ", ".join(f"`{k}`" for k in acc["lost"][:20])]
    if acc["valid_failed"]:
        lines += [
            "",
            "Valid photos failed (first 20): " + ", ".join(f"`{k}`" for k in acc["valid_failed"][:20]),
        ]
    throughput = data.get("throughput") or {}
    lines += [
        "",
        f"Throughput: {_num(throughput.get('busiest_minute_per_s'))} photos/s in the busiest minute, "
        f"{_num(throughput.get('overall_per_s'))} photos/s over the run.",
    ]
    if data.get("break"):
        brk = data["break"]
        lines += [
            "",
            "## Break",
            "",
            f"Highest rate held: **{_num(brk['highest_held_rate'])} photos/s**"
            + (f" (load stopped at {data['stopped_early_at_s']} s)" if data.get("stopped_early_at_s") else "")
            + (
                " - every step held: the pipeline did not break; raise --break-steps or --break-start"
                if brk["steps"] and all(s["held"] for s in brk["steps"] if s["uploads"])
                else ""
            ),
            "",
            "| step | rate/s | uploads | resolved | p95 | held |",
            "|---:|---:|---:|---:|---:|:-:|",
            *[
                f"| {s['step']} | {s['rate']:.1f} | {s['uploads']} | {s['resolved']} | {_ms(s['p95_ms'])} | "
                f"{'yes' if s['held'] else 'no'} |"
                for s in brk["steps"]
                if s["uploads"]
            ],
        ]
    lines += ["", "## Locust", "", "| type | name | requests | failures | median | p95 | p99 | max |"]
    lines += ["|---|---|---:|---:|---:|---:|---:|---:|"]
    for row in data["locust"]:
        lines.append(
            f"| {row['type']} | {row['name']} | {row['requests']} | {row['failures']} | "
            f"{_ms(row['median_ms'])} | {_ms(row['p95_ms'])} | {_ms(row['p99_ms'])} | {_ms(row['max_ms'])} |"
        )
    lines += ["", "## CloudWatch (read back after the run)", "", "| metric | value |", "|---|---:|"]
    cloudwatch = data.get("cloudwatch") or {}
    shown = [k for k in LAMBDA_FIGURES if k in cloudwatch] + sorted(
        k for k in cloudwatch if k not in LAMBDA_FIGURES and not k.startswith(("queue ", "dlq "))
    )
    for label in shown:
        lines.append(f"| {label} | {_num(cloudwatch[label])} |")
    for note in data.get("cloudwatch_notes") or []:
        lines.append(f"\nNote: {note}")
    return "\n".join(lines) + "\n"


def write_chart(data: Mapping[str, Any], path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    buckets = data.get("timeline") or []
    fig, rates = plt.subplots(figsize=(10, 4.5))
    t = [b["t"] for b in buckets]
    rates.step(t, [b["upload_rate"] for b in buckets], where="post", label="uploads/s", color="tab:blue")
    rates.step(t, [b["processed_rate"] for b in buckets], where="post", label="resolved/s", color="tab:green")
    rates.set_xlabel("seconds into the run")
    rates.set_ylabel("photos per second")
    latency = rates.twinx()
    latency.plot(
        t,
        [b["e2e_p95_ms"] if b["e2e_p95_ms"] is not None else float("nan") for b in buckets],
        label="end-to-end p95",
        color="tab:red",
        linestyle="--",
    )
    latency.set_ylabel("end-to-end p95 (ms)", color="tab:red")
    handles = rates.get_legend_handles_labels()[0] + latency.get_legend_handles_labels()[0]
    labels = rates.get_legend_handles_labels()[1] + latency.get_legend_handles_labels()[1]
    rates.legend(handles, labels, loc="upper left")
    rates.set_title(f"photopipe load run {data['run_id']} ({data['shape']['name']})")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def write(out: Path, data: Mapping[str, Any]) -> dict[str, Path]:
    out.mkdir(parents=True, exist_ok=True)
    paths = {"json": out / "report.json", "markdown": out / "report.md", "png": out / "report.png"}
    paths["json"].write_text(json.dumps(data, indent=2, default=str) + "\n")
    paths["markdown"].write_text(to_markdown(data))
    write_chart(data, paths["png"])
    return paths


def summary(data: Mapping[str, Any], paths: Mapping[str, Path]) -> str:
    acc = data["accounting"]
    counts = acc["counts"]
    e2e = acc["e2e_ms"]
    verdict = "PASS" if acc["passed"] else "FAIL"
    lines = [
        f"photopipe load {data['shape']['name']} {verdict}: {counts['uploads']} uploads, "
        f"{counts['processed']} processed, {counts['rejected']} rejected, {counts['dlq']} DLQ, "
        f"{counts['lost']} lost; e2e p50 {_ms(e2e['p50'])} p95 {_ms(e2e['p95'])} p99 {_ms(e2e['p99'])}",
    ]
    if data.get("break"):
        lines.append(f"break: highest rate held {_num(data['break']['highest_held_rate'])} photos/s")
    lines += [f"  {'ok  ' if ok else 'FAIL'} {name}" for name, ok in acc["verdicts"].items()]
    lines += [f"  {kind}: {path}" for kind, path in paths.items()]
    return "\n".join(lines)
