"""Make moto's CloudFormation behave as CloudFormation does where the harness depends on it.

- Change sets: moto (5.2) applies a change set to the stack's resources but never rebuilds the stack's output
  map, so a stack created or updated through a change set describes no Outputs at all. The harness deploys
  only through change sets (locally and on AWS).
- Fn::FindInMap: moto turns `Number` parameters into Python ints, so a map keyed by a parameter's value
  ("60") is looked up with 60 and fails; CloudFormation passes every parameter value as a string.
- Fn::Equals: for the same reason moto compares a `Number` parameter (an int) with the template's string "0"
  and finds them different; CloudFormation compares the strings.
- Resource types moto's CloudFormation does not know (alarms, queue/bucket/topic policies, subscriptions):
  moto drops them, so any Ref, GetAtt or Sub that names one fails the whole stack. A stand-in records each
  (logical id, type, resolved properties, a physical id and an Arn) and applies nothing; what the local
  stack applies from them is its own business (see its coverage table).

- S3 event records: moto (5.2) writes no `versionId` or `sequencer`, and in a versioned bucket it sends no
  `ObjectRemoved:DeleteMarkerCreated` for a delete marker and no `ObjectRemoved:Delete` for a version deleted
  while others remain. S3 sends all of these, and the handler orders a key's events by their sequencer.

`patch_moto()` installs them all into the moto process (the deploy tests' and the local stack's).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

_PATCHED_FLAG = "_photopipe_patched"
_NOVALUE_FLAG = "_photopipe_novalue_patched"


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


def _map_key(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, int | float):
        return str(value)
    return value


def patch_find_in_map_keys() -> None:
    """Idempotent: look Fn::FindInMap keys up as strings, as CloudFormation does."""
    from moto.cloudformation import parsing

    if getattr(parsing.clean_json, _PATCHED_FLAG, False):
        return
    original = parsing.clean_json

    def clean_json(resource_json: Any, resources_map: Any) -> Any:
        if isinstance(resource_json, dict) and "Fn::FindInMap" in resource_json:
            map_name, *path = resource_json["Fn::FindInMap"]
            result = resources_map[original(map_name, resources_map)]
            for key in path:
                result = result[_map_key(clean_json(key, resources_map))]
            return result
        return original(resource_json, resources_map)

    setattr(clean_json, _PATCHED_FLAG, True)
    parsing.clean_json = clean_json


def _conditional(node: Any) -> bool:
    return isinstance(node, dict) and ("Fn::If" in node or node.get("Ref") == "AWS::NoValue")


def patch_novalue_in_lists() -> None:
    """Idempotent: a list item that resolves to AWS::NoValue (directly or through Fn::If) is left out, as
    CloudFormation does; moto 5.2 keeps it as None (a role statement then makes the policy malformed)."""
    from moto.cloudformation import parsing

    if getattr(parsing.clean_json, _NOVALUE_FLAG, False):
        return
    original = parsing.clean_json

    def clean_json(resource_json: Any, resources_map: Any) -> Any:
        if isinstance(resource_json, list):
            cleaned = [clean_json(item, resources_map) for item in resource_json]
            return [
                value
                for value, item in zip(cleaned, resource_json, strict=True)
                if value is not None or not _conditional(item)
            ]
        return original(resource_json, resources_map)

    setattr(clean_json, _NOVALUE_FLAG, True)
    if getattr(original, _PATCHED_FLAG, False):  # the FindInMap patch underneath stays visible
        setattr(clean_json, _PATCHED_FLAG, True)
    parsing.clean_json = clean_json


def patch_condition_equals() -> None:
    """Idempotent: Fn::Equals in a condition compares its operands as strings, as CloudFormation does."""
    from moto.cloudformation import parsing

    if getattr(parsing.parse_condition, _PATCHED_FLAG, False):
        return
    original = parsing.parse_condition

    def parse_condition(condition: Any, resources_map: Any, condition_map: Any) -> Any:
        if isinstance(condition, dict) and "Fn::Equals" in condition:
            left, right = (
                _map_key(parsing.clean_json(value, resources_map)) for value in condition["Fn::Equals"]
            )
            return (
                str(left).lower() == str(right).lower()
                if isinstance(left, bool) or isinstance(right, bool)
                else left == right
            )
        return original(condition, resources_map, condition_map)

    setattr(parse_condition, _PATCHED_FLAG, True)
    parsing.parse_condition = parse_condition


# Types moto 5.2's CloudFormation drops, and the ARN service/kind for the ones the template may GetAtt.
STAND_IN_TYPES: Final[Mapping[str, str]] = {
    "AWS::CloudWatch::Alarm": "cloudwatch:alarm:",
    "AWS::SNS::Subscription": "",
    "AWS::SNS::TopicPolicy": "",
    "AWS::SQS::QueuePolicy": "",
    "AWS::S3::BucketPolicy": "",
    "AWS::Lambda::EventInvokeConfig": "",
}


def _stand_in_class() -> Any:
    from moto.core.common_models import CloudFormationModel

    class StandIn(CloudFormationModel):
        """A resource moto cannot model: remembered, resolvable, never applied."""

        __module__ = "moto.photopipe_stand_in"  # moto's model registry derives a service name from it

        def __init__(
            self, name: str, properties: dict[str, Any], resource_type: str, account: str, region: str
        ):
            self.name = name
            self.properties = properties
            self.resource_type = resource_type
            self.account = account
            self.region = region

        @staticmethod
        def cloudformation_type() -> str:
            return "Photopipe::Moto::StandIn"

        @classmethod
        def has_cfn_attr(cls, attr: str) -> bool:
            return True

        @classmethod
        def create_from_cloudformation_json(
            cls,
            resource_name: str,
            cloudformation_json: dict[str, Any],
            account_id: str,
            region_name: str,
            **kwargs: Any,
        ) -> Any:
            properties = cloudformation_json.get("Properties", {})
            resource_type = str(cloudformation_json.get("Type", kwargs.get("ResourceType", "")))
            name = str(properties.get("AlarmName") or resource_name)
            if resource_type == "AWS::SNS::Subscription" and properties.get("TopicArn"):
                name = f"{properties['TopicArn']}:{resource_name}"
            return cls(name, properties, resource_type, account_id, region_name)

        @classmethod
        def update_from_cloudformation_json(
            cls,
            original_resource: Any,
            new_resource_name: str,
            cloudformation_json: dict[str, Any],
            account_id: str,
            region_name: str,
        ) -> Any:
            return cls.create_from_cloudformation_json(
                original_resource.name, cloudformation_json, account_id, region_name
            )

        @classmethod
        def delete_from_cloudformation_json(
            cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str
        ) -> None:
            return None

        def delete(self, account_id: str, region_name: str) -> None:
            return None

        @property
        def physical_resource_id(self) -> str:
            return self.name

        def get_cfn_attribute(self, attribute_name: str) -> str:
            kind = STAND_IN_TYPES.get(self.resource_type, "")
            if attribute_name == "Arn" and kind:
                service, resource = kind.split(":", 1)
                return f"arn:aws:{service}:{self.region}:{self.account}:{resource}{self.name}"
            return self.name

    return StandIn


def patch_stand_in_resources() -> None:
    """Idempotent: the types in STAND_IN_TYPES that moto has no model for resolve to a StandIn."""
    from moto.cloudformation import parsing

    if getattr(parsing.resource_class_from_type, _PATCHED_FLAG, False):
        return
    original = parsing.resource_class_from_type
    stand_in = _stand_in_class()

    def resource_class_from_type(resource_type: str) -> Any:
        found = original(resource_type)
        if found is None and resource_type in STAND_IN_TYPES:
            return stand_in
        return found

    setattr(resource_class_from_type, _PATCHED_FLAG, True)
    parsing.resource_class_from_type = resource_class_from_type


class _Sequencer:
    """S3's sequencer: hex, growing with each event of a key (here: of the whole server, which implies it)."""

    def __init__(self) -> None:
        self._last = 0

    def next(self) -> str:
        import time

        self._last = max(time.time_ns(), self._last + 1)
        return f"{self._last:016X}"


_SEQUENCER: Final = _Sequencer()


class _MarkerRecordSource:
    """What moto's record builder reads from a key, for a delete marker (which has no size or ETag)."""

    def __init__(self, marker: Any) -> None:
        self.name = marker.name
        self.etag = ""
        self.size = 0


def patch_s3_event_records() -> None:
    """Idempotent: records carry versionId (versioned buckets) and a sequencer; removals in a versioned
    bucket are notified as S3 notifies them."""
    from moto.s3 import models, notifications

    if getattr(notifications._get_s3_event, _PATCHED_FLAG, False):
        return
    original_record = notifications._get_s3_event
    marker_class: Any = models.FakeDeleteMarker

    def get_s3_event(event_name: str, bucket: Any, key: Any, notification_id: str) -> dict[str, Any]:
        marker = isinstance(key, marker_class)
        source = _MarkerRecordSource(key) if marker else key
        event = original_record(event_name, bucket, source, notification_id)
        obj = event["Records"][0]["s3"]["object"]
        if marker:
            del obj["size"], obj["eTag"]
        if bucket.is_versioned and key.version_id and key.version_id != "null":
            obj["versionId"] = str(key.version_id)
        obj["sequencer"] = _SEQUENCER.next()
        return event

    setattr(get_s3_event, _PATCHED_FLAG, True)
    notifications._get_s3_event = get_s3_event

    backend_class: Any = models.S3Backend
    original_delete = backend_class.delete_object

    def delete_object(
        self: Any, bucket_name: str, key_name: str, version_id: str | None = None, bypass: bool = False
    ) -> Any:
        bucket = self.get_bucket(bucket_name)
        versions = list(bucket.keys.getlist(key_name, []) or [])
        target = next((k for k in versions if str(k.version_id) == str(version_id)), None)
        result = original_delete(self, bucket_name, key_name, version_id=version_id, bypass=bypass)
        if not bucket.is_versioned:
            return result
        if version_id is None:
            marker = bucket.keys.get(key_name)
            if isinstance(marker, marker_class):
                notifications.send_event(
                    self.account_id,
                    notifications.S3NotificationEvent.OBJECT_REMOVED_DELETE_MARKER_CREATED_EVENT,
                    bucket,
                    marker,
                )
        elif target is not None and bucket.keys.getlist(key_name):  # moto notified only the last version
            notifications.send_event(
                self.account_id, notifications.S3NotificationEvent.OBJECT_REMOVED_DELETE_EVENT, bucket, target
            )
        return result

    backend_class.delete_object = delete_object


def patch_moto() -> None:
    patch_s3_event_records()
    patch_change_set_outputs()
    patch_find_in_map_keys()
    patch_novalue_in_lists()
    patch_condition_equals()
    patch_stand_in_resources()
