"""The function runs the handler with every setting it reads, and no setting it ignores."""

from __future__ import annotations

from typing import Any

from handler.constants import HANDLER_ENTRY, METRICS_NAMESPACE, EnvVar

from .cfn import resources_of_type


def _function(template: dict[str, Any]) -> dict[str, Any]:
    functions = resources_of_type(template, "AWS::Lambda::Function")
    assert set(functions) == {"ProcessingFunction"}
    return functions["ProcessingFunction"]["Properties"]  # type: ignore[no-any-return]


def test_the_environment_is_exactly_what_the_handler_reads(template: dict[str, Any]) -> None:
    variables = _function(template)["Environment"]["Variables"]
    assert set(variables) == {str(var) for var in EnvVar}


def test_the_service_is_the_stack_and_the_namespace_is_the_handlers(template: dict[str, Any]) -> None:
    variables = _function(template)["Environment"]["Variables"]
    assert variables[EnvVar.POWERTOOLS_SERVICE_NAME] == {"Ref": "AWS::StackName"}
    assert variables[EnvVar.POWERTOOLS_METRICS_NAMESPACE] == METRICS_NAMESPACE


def test_settings_come_from_their_parameters_as_strings(template: dict[str, Any]) -> None:
    variables = _function(template)["Environment"]["Variables"]
    from_parameters = {
        EnvVar.OUTPUT_QUALITY: "OutputQuality",
        EnvVar.MAX_INPUT_BYTES: "MaxInputBytes",
        EnvVar.MAX_PIXELS: "MaxPixels",
        EnvVar.MAX_RECEIVE_COUNT: "MaxReceiveCount",
    }
    for var, parameter in from_parameters.items():
        assert variables[var] == {"Fn::Sub": f"${{{parameter}}}"}, var
    assert variables[EnvVar.RENDITIONS] == {"Ref": "Renditions"}
    assert variables[EnvVar.OUTPUT_FORMATS] == {"Ref": "OutputFormats"}
    assert variables[EnvVar.PROCESSED_BUCKET] == {"Ref": "ProcessedBucket"}
    assert variables[EnvVar.ERROR_TOPIC_ARN] == {"Ref": "ErrorTopic"}


def test_the_function_runs_the_handler_entry_with_the_chosen_runtime(template: dict[str, Any]) -> None:
    function = _function(template)
    assert function["Handler"] == HANDLER_ENTRY
    assert function["Runtime"] == {"Ref": "Runtime"}
    assert function["Architectures"] == [{"Ref": "Architecture"}]
    assert function["MemorySize"] == {"Ref": "MemorySize"}
    assert function["Code"]["S3Bucket"] == {"Ref": "CodeS3Bucket"}
    assert function["Code"]["S3Key"] == {"Ref": "CodeS3Key"}


def test_the_function_stops_recursive_loops_and_reserves_concurrency_when_asked(
    template: dict[str, Any],
) -> None:
    function = _function(template)
    assert function["RecursiveLoop"] == "Terminate"
    condition, reserved, otherwise = function["ReservedConcurrentExecutions"]["Fn::If"]
    assert template["Conditions"][condition] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "ReservedConcurrency"}, "0"]}]
    }
    assert reserved == {"Ref": "ReservedConcurrency"}
    assert otherwise == {"Ref": "AWS::NoValue"}


def test_the_function_logs_json_to_its_own_log_group_with_retention(template: dict[str, Any]) -> None:
    function = _function(template)
    log_group = template["Resources"]["FunctionLogGroup"]["Properties"]
    assert function["LoggingConfig"]["LogFormat"] == "JSON"
    assert function["LoggingConfig"]["LogGroup"] == {"Ref": "FunctionLogGroup"}
    assert log_group["RetentionInDays"] == {"Ref": "LogRetentionDays"}
    assert log_group["KmsKeyId"] == {"Fn::GetAtt": ["PipelineKey", "Arn"]}


def test_no_concurrency_is_reserved_by_default(template: dict[str, Any]) -> None:
    """A reservation fails the stack in an account whose quota leaves under 100 units unreserved (new
    accounts have 10); the event source mapping's MaximumConcurrency caps the function instead."""
    assert str(template["Parameters"]["ReservedConcurrency"]["Default"]) == "0"


def _equals_operands(node: Any) -> list[list[Any]]:
    if isinstance(node, dict):
        found = [node["Fn::Equals"]] if "Fn::Equals" in node else []
        return found + [pair for value in node.values() for pair in _equals_operands(value)]
    if isinstance(node, list):
        return [pair for value in node for pair in _equals_operands(value)]
    return []


def test_conditions_compare_parameters_with_strings(template: dict[str, Any]) -> None:
    """A Ref to a Number parameter resolves to a string: Fn::Equals must compare it with "0", not 0."""
    operands = _equals_operands(template)
    assert operands, "the template has no Fn::Equals to check"
    for pair in operands:
        for operand in pair:
            assert isinstance(operand, (str, dict)), f"Fn::Equals {pair}: {operand!r} is not a string"
