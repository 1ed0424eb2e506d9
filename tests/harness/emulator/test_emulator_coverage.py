"""Every resource and top-level property of the template has a decision: honoured by moto, wired, run by the
local runtime, or listed as not emulated with a reason."""

from __future__ import annotations

import copy

from harness.emulator.coverage import NOT_EMULATED, PROPERTIES, RESOURCES, rows, undecided
from harness.params import load_template


def test_every_resource_and_property_of_the_template_is_decided() -> None:
    assert undecided(load_template()) == []


def test_a_property_added_to_the_template_without_a_decision_is_reported() -> None:
    template = copy.deepcopy(load_template())
    template["Resources"]["ProcessingQueue"]["Properties"]["DelaySeconds"] = 5
    assert undecided(template) == ["ProcessingQueue (AWS::SQS::Queue).DelaySeconds"]


def test_a_resource_type_added_without_a_decision_is_reported() -> None:
    template = copy.deepcopy(load_template())
    template["Resources"]["Extra"] = {"Type": "AWS::Lambda::EventInvokeConfig", "Properties": {}}
    assert undecided(template) == ["Extra (AWS::Lambda::EventInvokeConfig)"]


def test_what_is_not_emulated_says_why() -> None:
    not_emulated = [row for row in rows(load_template()) if row.decision and row.decision.how == NOT_EMULATED]
    assert not_emulated
    assert all(len(row.decision.detail) > 20 for row in not_emulated if row.decision)


def test_every_decided_property_belongs_to_a_decided_resource_type() -> None:
    assert set(PROPERTIES) <= set(RESOURCES)
