"""The run's report: JSON (everything), Markdown (what a reader wants first), PNG (rates and p95 over time).

The one writer of the run's report files: pure rendering of the dict the coordinator assembles (and of the
machine's figures run.py adds to it), so it can be tested without a run.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from loadtests.memory import rss_line

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
        "| uploads | processed | rejected (notified) | DLQ | deleted before seen | lost | PUT failed "
        "| valid photos failed |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
        f"| {counts['uploads']} | {counts['processed']} | {counts['rejected']} | {counts['dlq']} | "
        f"{counts['deleted']} | {counts['lost']} | {counts['not-uploaded']} | {len(acc['valid_failed'])} |",
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
    lines += _lifecycle_markdown(data.get("lifecycle"))
    lines += _drift_markdown(data.get("drift"))
    lines += [f"\nNote: {note}" for note in data.get("notes") or []]
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
    if data.get("machine"):
        lines += machine_markdown(data["machine"])
    return "\n".join(lines) + "\n"


def _lifecycle_markdown(lifecycle: Mapping[str, Any] | None) -> list[str]:
    if not lifecycle:
        return []
    counts = lifecycle["counts"]
    lines = [
        "",
        f"After the upload: {counts['deleted']} photos deleted, {counts['leftovers']} of them with "
        f"renditions left; {counts['reuploaded']} uploaded again, {counts['stale']} of them with renditions "
        f"not from the newest upload; {counts['failed']} deletes or second uploads refused by S3.",
    ]
    for label, keys in (("Leftovers", lifecycle["leftovers"]), ("Stale", lifecycle["stale"])):
        if keys:
            lines += ["", f"{label} (first 20): " + ", ".join(f"`{k}`" for k in keys[:20])]
    return lines


def drift_line(drift: Mapping[str, Any]) -> str:
    """One line of `photopipe reconcile`'s counts, as the summary and the report show them."""
    if drift.get("error"):
        return f"reconcile after the run could not finish: {drift['error']}"
    counts = drift["counts"]
    shown = ", ".join(f"{counts[name]:,} {name}" for name in counts if name != "uploads")
    return f"reconcile after the run: {counts['uploads']:,} uploads: {shown}"


def _drift_markdown(drift: Mapping[str, Any] | None) -> list[str]:
    if not drift:
        return []
    examples = {kind: keys for kind, keys in drift["examples"].items() if keys}
    return [
        "",
        "## Uploads against renditions after the run",
        "",
        drift_line(drift) + ".",
        *[f"- {kind}: {', '.join(f'`{key}`' for key in keys)}" for kind, keys in examples.items()],
    ]


def machine_markdown(machine: Mapping[str, Any]) -> list[str]:
    """This machine's limit against what the run sustained, and where the CPU went."""
    cores = machine["cores"]
    cpu_ms = machine["cpu_ms_per_photo_mix"]
    limit = machine["limit_photos_per_s"]
    sustained = machine["sustained_photos_per_s"]
    share = machine["share_of_limit"]
    cpu: Mapping[str, float] = machine["cpu_seconds_by_part"]
    total_cpu = sum(cpu.values())
    elapsed = machine["wall_seconds"]
    imaging = machine["imaging_cpu_seconds"]
    lines = [
        "",
        "## This machine",
        "",
        f"{cores} cores; the mix costs {cpu_ms:.1f} ms CPU per photo in the handler's imaging, "
        f"so the limit is {'-' if limit is None else f'{limit:.1f}'} photos/s. Sustained: "
        f"{'-' if sustained is None else f'{sustained:.2f}'} photos/s"
        + (f" ({share:.0%} of the limit)." if share is not None else "."),
        "",
        "| part | CPU s | share |",
        "|---|---:|---:|",
        *[f"| {k} | {v:,.1f} | {v / total_cpu:.0%} |" for k, v in cpu.items() if total_cpu],
    ]
    if elapsed and machine["cpu_utilisation_of_machine"] is not None:
        lines += [
            "",
            f"Machine CPU use over the run: {machine['cpu_utilisation_of_machine']:.0%} of {cores} cores "
            f"for {elapsed:,.0f} s; the imaging itself (photos x {cpu_ms:.1f} ms) is {imaging:,.1f} s, "
            f"{imaging / total_cpu if total_cpu else 0:.0%} of the CPU the run used.",
        ]
    busiest: Mapping[str, float] = machine["busiest_minute_cores"]
    lines += [
        "",
        "Cores used in the run's busiest minute: "
        + ", ".join(f"{k} {v:.2f}" for k, v in busiest.items())
        + f" (of {cores}).",
    ]
    rows = machine["cpu_ms_per_photo_by_part"]
    if rows:
        lines += [
            "",
            f"CPU per photo ({machine['photos']:,} photos; process and thread CPU clocks, the server by "
            "operation):",
            "",
            "| part | ms per photo | |",
            "|---|---:|---|",
            *[f"| {row['part']} | {row['ms']:.2f} | {row['note']} |" for row in rows],
        ]
    if machine["function_worker_rss"]:
        lines += ["", rss_line(machine["function_worker_rss"])]
    return lines


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
    lifecycle = data.get("lifecycle")
    if lifecycle:
        life = lifecycle["counts"]
        lines.append(
            f"after the upload: {life['deleted']} deleted ({life['leftovers']} with renditions left), "
            f"{life['reuploaded']} uploaded again ({life['stale']} stale)"
        )
    if data.get("drift"):
        lines.append(drift_line(data["drift"]))
    lines += [f"note: {note}" for note in data.get("notes") or []]
    machine = data.get("machine")
    if machine:
        limit, sustained = machine["limit_photos_per_s"], machine["sustained_photos_per_s"]
        lines.append(
            f"this machine: {machine['cores']} cores, limit {_num(limit)} photos/s, sustained "
            f"{_num(sustained)} photos/s, CPU {_num(machine['cpu_ms_per_photo_mix'])} ms per photo"
        )
    if data.get("break"):
        lines.append(f"break: highest rate held {_num(data['break']['highest_held_rate'])} photos/s")
    lines += [f"  {'ok  ' if ok else 'FAIL'} {name}" for name, ok in acc["verdicts"].items()]
    lines += [f"  {kind}: {path}" for kind, path in paths.items()]
    return "\n".join(lines)
