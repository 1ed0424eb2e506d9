"""Checks on the template that cfn-lint does not make: canonical formatting and a cfn-flip round trip.

The template is hand-kept JSON. Formatting drift (tabs, 4-space indents, pasted compact blocks) makes reviews
noisy, so the file must be byte-for-byte what `json.dumps(indent=2)` writes. Users often read or convert the
template as YAML; the cfn-flip round trip (JSON -> YAML -> JSON) proves that conversion loses nothing, and the
YAML rendering is written out for them.

`python -m harness.template_check template/template.json --yaml-out build/template.yaml`
"""

from __future__ import annotations

import argparse
import difflib
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cfn_flip


@dataclass
class CheckResult:
    problems: list[str] = field(default_factory=list)
    yaml: str | None = None

    @property
    def ok(self) -> bool:
        return not self.problems


def canonical_json(document: Any) -> str:
    """The one accepted spelling of the template: 2-space indent, ASCII, a final newline."""
    return json.dumps(document, indent=2) + "\n"


def formatting_problem(text: str, document: Any) -> str | None:
    """A message naming the first line that differs from the canonical form, or None."""
    expected = canonical_json(document)
    if text == expected:
        return None
    diff = difflib.unified_diff(
        text.splitlines(), expected.splitlines(), "as written", "canonical", n=0, lineterm=""
    )
    excerpt = "\n".join(list(diff)[:12])
    return (
        "the file is not canonical JSON (json.dumps(indent=2) plus a final newline); "
        f"first differences:\n{excerpt}"
    )


def first_difference(left: Any, right: Any, path: str = "$") -> str | None:
    """The JSON path of the first place two documents differ, or None when they are equal."""
    if type(left) is not type(right):
        return f"{path}: {type(left).__name__} {left!r:.80} became {type(right).__name__} {right!r:.80}"
    if isinstance(left, dict):
        for key in left.keys() | right.keys():
            if key not in right:
                return f"{path}.{key}: lost"
            if key not in left:
                return f"{path}.{key}: added"
        if list(left) != list(right):
            return f"{path}: key order changed"
        for key in left:
            found = first_difference(left[key], right[key], f"{path}.{key}")
            if found:
                return found
        return None
    if isinstance(left, list):
        if len(left) != len(right):
            return f"{path}: {len(left)} items became {len(right)}"
        for index, (a, b) in enumerate(zip(left, right, strict=True)):
            found = first_difference(a, b, f"{path}[{index}]")
            if found:
                return found
        return None
    return None if left == right else f"{path}: {left!r:.80} became {right!r:.80}"


def round_trip_problem(document: Any, yaml_text: str) -> str | None:
    back = json.loads(cfn_flip.to_json(yaml_text))
    found = first_difference(document, back)
    return None if found is None else f"the cfn-flip round trip (JSON -> YAML -> JSON) changed {found}"


def check_template(text: str) -> CheckResult:
    result = CheckResult()
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        result.problems.append(f"not valid JSON: {exc}")
        return result
    if not isinstance(document, dict) or "Resources" not in document:
        result.problems.append("not a CloudFormation template: no top-level Resources")
        return result
    problem = formatting_problem(text, document)
    if problem:
        result.problems.append(problem)
    result.yaml = str(cfn_flip.to_yaml(text))
    problem = round_trip_problem(document, result.yaml)
    if problem:
        result.problems.append(problem)
    return result


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m harness.template_check",
        description="Check the template is canonical JSON and survives a cfn-flip round trip.",
    )
    parser.add_argument("template", type=Path)
    parser.add_argument("--yaml-out", type=Path, help="write the YAML rendering here")
    args = parser.parse_args(argv)
    template: Path = args.template
    try:
        text = template.read_text(encoding="utf-8")
    except OSError as exc:
        print(f"{template}: cannot read: {exc}", file=sys.stderr)
        return 1
    result = check_template(text)
    if result.yaml is not None and args.yaml_out is not None:
        yaml_out: Path = args.yaml_out
        yaml_out.parent.mkdir(parents=True, exist_ok=True)
        yaml_out.write_text(result.yaml, encoding="utf-8")
    for problem in result.problems:
        print(f"{template}: {problem}", file=sys.stderr)
    if result.ok:
        written = f"; YAML written to {args.yaml_out}" if args.yaml_out is not None else ""
        print(f"{template}: canonical JSON, cfn-flip round trip exact{written}")
    return 0 if result.ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
