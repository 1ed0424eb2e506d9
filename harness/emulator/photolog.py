"""One line per photo for the person watching `photopipe local`, read from the function's own log lines.

The handler logs one structured line per outcome (Powertools JSON with the upload's `key` appended); the
console shows those and nothing else, so a photo's fate is visible without reading CloudWatch Logs. Every
other line (START/END/REPORT, EMF documents, debug output) is not a photo's outcome and yields nothing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Final

from handler.constants import SkipReason

PROCESSED: Final = "processed"
REJECTED: Final = "rejected"
DELETED: Final = "deleted"
SKIPPED: Final = "skipped"
RETRIED: Final = "transient failure; the record is retried"

STYLES: Final = {PROCESSED: "green", REJECTED: "red", DELETED: "cyan", SKIPPED: "dim", RETRIED: "yellow"}


@dataclass(frozen=True, slots=True)
class PhotoLine:
    """What happened to one photo, and the console style that says it at a glance."""

    text: str
    style: str


def photo_line(message: str) -> PhotoLine | None:
    """The console line for one of the function's log lines, or None when it is not a photo's outcome."""
    if not message.startswith("{"):
        return None
    try:
        document = json.loads(message)
    except ValueError:
        return None
    if not isinstance(document, dict):
        return None
    outcome = document.get("message")
    if outcome not in STYLES or (outcome == SKIPPED and document.get("reason") == SkipReason.TEST_EVENT):
        return None  # S3's test event at start-up names no photo
    key = document.get("key") or "(no key)"
    return PhotoLine(f"{_verb(outcome)} {key}{_detail(outcome, document)}", STYLES[outcome])


def _verb(outcome: str) -> str:
    return "retrying" if outcome == RETRIED else outcome


def _detail(outcome: str, document: dict[str, Any]) -> str:
    if outcome == PROCESSED:
        renditions = document.get("renditions") or {}
        sizes = [
            f"{str(name).split('/', 1)[0]} {size[0]}x{size[1]}"
            for name, size in renditions.items()
            if isinstance(size, list) and len(size) >= 2
        ]
        return f": {', '.join(sizes)}" if sizes else ""
    if outcome == REJECTED:
        return f": {document.get('error_type', '?')} ({document.get('reason', '')})"
    if outcome == DELETED:
        return f": {len(document.get('renditions') or [])} rendition(s) deleted"
    if outcome == SKIPPED:
        return f": {document.get('reason', '?')} ({document.get('detail', '')})"
    return f": {document.get('error', '')} (attempt {document.get('receive_count', '?')})"
