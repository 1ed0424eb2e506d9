"""Make moto's CloudFormation change sets report stack outputs, as CloudFormation does.

moto (5.2) applies a change set to the stack's resources but never rebuilds the stack's output map, so a stack
created or updated through a change set describes no Outputs at all. The harness deploys only through change
sets (locally and on AWS), so the local stack and the deploy tests install this patch into the moto process.
"""

from __future__ import annotations

from typing import Any

_PATCHED_FLAG = "_photopipe_outputs_patch"


def patch_change_set_outputs() -> None:
    """Idempotent: after ChangeSet.apply, re-parse the stack's template and rebuild its outputs."""
    from moto.cloudformation import models

    change_set_class: Any = models.ChangeSet
    if getattr(change_set_class, _PATCHED_FLAG, False):
        return
    original = change_set_class.apply

    def apply(self: Any) -> None:
        original(self)
        stack = self.stack
        stack.template = self.template
        stack._parse_template()
        stack.output_map = stack._create_output_map()

    change_set_class.apply = apply
    setattr(change_set_class, _PATCHED_FLAG, True)
