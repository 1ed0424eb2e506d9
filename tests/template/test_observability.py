"""Alarms reach the alarm topic and stay quiet without data; the dashboard is valid and shows every metric."""

from __future__ import annotations

import json
from typing import Any

import pytest

from handler.constants import ERROR_TYPE_DIMENSION, METRICS_NAMESPACE, SERVICE_DIMENSION, MetricName
from harness.params import load_template
from tests.support.cfn import PSEUDO_PARAMETERS, fake_resolver

from .cfn import resources_of_type, strings

ALARMS = sorted(resources_of_type(load_template(), "AWS::CloudWatch::Alarm"))


def test_the_issued_alarms_exist(template: dict[str, Any]) -> None:
    alarms = resources_of_type(template, "AWS::CloudWatch::Alarm")
    watched = {spec["Properties"].get("MetricName") for spec in alarms.values()}

    assert all(name.endswith("Alarm") for name in alarms)
    assert {"Errors", "Throttles", "Duration", "ApproximateNumberOfMessagesVisible"} <= watched
    assert "ApproximateAgeOfOldestMessage" in watched
    assert "ProcessingErrorsAlarm" in alarms


@pytest.mark.parametrize("alarm", ALARMS)
def test_every_alarm_notifies_the_alarm_topic_and_treats_missing_data_as_fine(
    resources: dict[str, Any], alarm: str
) -> None:
    properties = resources[alarm]["Properties"]
    assert properties["AlarmActions"] == [{"Ref": "AlarmTopic"}]
    assert properties["TreatMissingData"] == "notBreaching"


@pytest.mark.parametrize("alarm", ALARMS)
def test_every_alarm_name_falls_under_what_the_topic_and_key_let_publish(
    resources: dict[str, Any], alarm: str
) -> None:
    name = resources[alarm]["Properties"]["AlarmName"]["Fn::Sub"]
    assert name.startswith("${AWS::StackName}-")


def test_the_dead_letter_alarm_fires_on_the_first_message(resources: dict[str, Any]) -> None:
    alarm = resources["DeadLetterQueueAlarm"]["Properties"]
    assert alarm["Dimensions"] == [
        {"Name": "QueueName", "Value": {"Fn::GetAtt": ["DeadLetterQueue", "QueueName"]}}
    ]
    assert (alarm["Threshold"], alarm["ComparisonOperator"]) == (1, "GreaterThanOrEqualToThreshold")


@pytest.mark.parametrize("timeout", load_template()["Parameters"]["Timeout"]["AllowedValues"])
def test_the_duration_alarm_fires_before_the_timeout(template: dict[str, Any], timeout: str) -> None:
    lookup = template["Resources"]["FunctionDurationAlarm"]["Properties"]["Threshold"]["Fn::FindInMap"]
    threshold_ms = template["Mappings"]["TimeoutSettings"][timeout][lookup[2]]
    assert 0.5 * int(timeout) * 1000 <= threshold_ms < int(timeout) * 1000


def test_the_processing_errors_alarm_adds_up_every_error_type_of_this_stack(
    resources: dict[str, Any],
) -> None:
    (query,) = resources["ProcessingErrorsAlarm"]["Properties"]["Metrics"]
    expression = query["Expression"]["Fn::Sub"]

    assert query["ReturnData"] is True
    assert f"SUM({MetricName.PROCESSING_ERRORS})" in expression
    assert f'SCHEMA("{METRICS_NAMESPACE}", "{ERROR_TYPE_DIMENSION}", "{SERVICE_DIMENSION}")' in expression
    assert f"WHERE \"{SERVICE_DIMENSION}\" = '${{AWS::StackName}}'" in expression
    assert "GROUP BY" not in expression, "an alarm needs one time series"


def _dashboard(template: dict[str, Any]) -> dict[str, Any]:
    body = template["Resources"]["Dashboard"]["Properties"]["DashboardBody"]
    return json.loads(fake_resolver(template).resolve(body))  # type: ignore[no-any-return]


def test_the_dashboard_body_is_json_after_substitution(template: dict[str, Any]) -> None:
    dashboard = _dashboard(template)
    assert len(dashboard["widgets"]) >= 8
    for widget in dashboard["widgets"]:
        assert {"type", "x", "y", "width", "height", "properties"} <= set(widget)
        assert widget["x"] + widget["width"] <= 24


def test_the_dashboard_widgets_do_not_overlap(template: dict[str, Any]) -> None:
    cells: set[tuple[int, int]] = set()
    for widget in _dashboard(template)["widgets"]:
        area = {
            (x, y)
            for x in range(widget["x"], widget["x"] + widget["width"])
            for y in range(widget["y"], widget["y"] + widget["height"])
        }
        assert not cells & area, widget["properties"].get("title")
        cells |= area


def test_every_metric_widget_uses_the_stack_region(template: dict[str, Any]) -> None:
    region = PSEUDO_PARAMETERS["AWS::Region"]
    for widget in _dashboard(template)["widgets"]:
        if widget["type"] == "metric":
            assert widget["properties"]["region"] == region


def test_the_dashboard_shows_every_handler_metric(template: dict[str, Any]) -> None:
    text = json.dumps(_dashboard(template))
    missing = [str(name) for name in MetricName if str(name) not in text]
    assert missing == []


def test_the_dashboard_covers_queue_dead_letters_concurrency_and_duration(template: dict[str, Any]) -> None:
    text = json.dumps(_dashboard(template))
    for needed in (
        "ApproximateAgeOfOldestMessage",
        "DeadLetterQueue-QueueName",
        "ConcurrentExecutions",
        "p99",
    ):
        assert needed in text


def test_the_dashboard_is_written_with_region_placeholders_only(template: dict[str, Any]) -> None:
    body = template["Resources"]["Dashboard"]["Properties"]["DashboardBody"]
    assert any("${AWS::Region}" in text for text in strings(body))
