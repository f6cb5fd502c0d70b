"""Application Auto Scaling: tags on scalable targets.

moto 5.2.5 ignores `Tags` on RegisterScalableTarget and lacks ListTagsForResource,
TagResource and UntagResource. The provider calls ListTagsForResource after every
create/read of `aws_appautoscaling_target`, so the target fails and then blocks
plan and destroy.
"""

import json
from typing import Any

from moto.applicationautoscaling.models import ApplicationAutoscalingBackend, FakeScalableTarget
from moto.applicationautoscaling.responses import ApplicationAutoScalingResponse
from moto.core.exceptions import JsonRESTError

from emulator.fills._patch import add_method, wrap_method


class ResourceNotFoundException(JsonRESTError):
    def __init__(self, arn: str):
        super().__init__("ResourceNotFoundException", f"No scalable target found for ARN {arn}")


def _find_target(backend: ApplicationAutoscalingBackend, arn: str) -> FakeScalableTarget:
    for by_resource in backend.targets.values():
        for target in by_resource.values():
            if target.arn == arn:
                return target
    raise ResourceNotFoundException(arn)


def _tags(target: FakeScalableTarget) -> dict[str, str]:
    if not hasattr(target, "emulator_tags"):
        target.emulator_tags = {}  # type: ignore[attr-defined]
    return target.emulator_tags  # type: ignore[attr-defined,no-any-return]


def list_tags_for_resource(self: ApplicationAutoscalingBackend, arn: str) -> dict[str, str]:
    return dict(_tags(_find_target(self, arn)))


def tag_resource(self: ApplicationAutoscalingBackend, arn: str, tags: dict[str, str]) -> None:
    _tags(_find_target(self, arn)).update(tags)


def untag_resource(self: ApplicationAutoscalingBackend, arn: str, keys: list[str]) -> None:
    tags = _tags(_find_target(self, arn))
    for key in keys:
        tags.pop(key, None)


def r_list_tags_for_resource(self: ApplicationAutoScalingResponse) -> str:
    tags = self.applicationautoscaling_backend.list_tags_for_resource(self._get_param("ResourceARN"))
    return json.dumps({"Tags": tags})


def r_tag_resource(self: ApplicationAutoScalingResponse) -> str:
    self.applicationautoscaling_backend.tag_resource(self._get_param("ResourceARN"), self._get_param("Tags") or {})
    return json.dumps({})


def r_untag_resource(self: ApplicationAutoScalingResponse) -> str:
    self.applicationautoscaling_backend.untag_resource(
        self._get_param("ResourceARN"), self._get_param("TagKeys") or []
    )
    return json.dumps({})


def _register_wrapper(original: Any, self: ApplicationAutoScalingResponse) -> str:
    # Store the Tags that moto's handler ignores (they apply only on first registration, as on AWS).
    body: str = original(self)
    tags = self._get_param("Tags")
    if tags:
        arn = json.loads(body)["ScalableTargetARN"]
        target = _find_target(self.applicationautoscaling_backend, arn)
        if not _tags(target):
            _tags(target).update(tags)
    return body


def apply() -> None:
    add_method(ApplicationAutoscalingBackend, "list_tags_for_resource", list_tags_for_resource)
    add_method(ApplicationAutoscalingBackend, "tag_resource", tag_resource)
    add_method(ApplicationAutoscalingBackend, "untag_resource", untag_resource)
    add_method(ApplicationAutoScalingResponse, "list_tags_for_resource", r_list_tags_for_resource)
    add_method(ApplicationAutoScalingResponse, "tag_resource", r_tag_resource)
    add_method(ApplicationAutoScalingResponse, "untag_resource", r_untag_resource)
    wrap_method(ApplicationAutoScalingResponse, "register_scalable_target", _register_wrapper)
