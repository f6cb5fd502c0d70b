"""KMS: the key rotation period.

moto 5.2.5 ignores `RotationPeriodInDays` on EnableKeyRotation and leaves it out of
GetKeyRotationStatus, so `rotation_period_in_days` on `aws_kms_key` reads back as 0
and every plan wants to change it.
"""

import datetime as dt
import json
from typing import Any

from moto.core.exceptions import JsonRESTError
from moto.kms.models import KmsBackend
from moto.kms.responses import KmsResponse

from emulator.fills._patch import wrap_method

DEFAULT_ROTATION_DAYS = 365  # what AWS uses when EnableKeyRotation names no period


class ValidationException(JsonRESTError):
    def __init__(self, msg: str):
        super().__init__("ValidationException", msg)


def _key(self: KmsResponse) -> Any:
    backend: KmsBackend = self.kms_backend
    return backend.keys[backend.get_key_id(self._get_param("KeyId"))]


def _enable_wrapper(original: Any, self: KmsResponse) -> str:
    days = self._get_param("RotationPeriodInDays")
    if days is not None and not 90 <= int(days) <= 2560:
        raise ValidationException("RotationPeriodInDays must be between 90 and 2560.")
    body: str = original(self)
    key = _key(self)
    key.emulator_rotation_days = int(days) if days is not None else DEFAULT_ROTATION_DAYS
    key.emulator_rotation_enabled_at = dt.datetime.now(dt.timezone.utc)
    return body


def _status_wrapper(original: Any, self: KmsResponse) -> str:
    data = json.loads(original(self))
    key = _key(self)
    data["KeyId"] = key.arn
    if data.get("KeyRotationEnabled"):
        days = getattr(key, "emulator_rotation_days", DEFAULT_ROTATION_DAYS)
        since = getattr(key, "emulator_rotation_enabled_at", dt.datetime.now(dt.timezone.utc))
        data["RotationPeriodInDays"] = days
        data["NextRotationDate"] = (since + dt.timedelta(days=days)).timestamp()
    return json.dumps(data)


def apply() -> None:
    wrap_method(KmsResponse, "enable_key_rotation", _enable_wrapper)
    wrap_method(KmsResponse, "get_key_rotation_status", _status_wrapper)
