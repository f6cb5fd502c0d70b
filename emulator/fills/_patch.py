"""Tiny helper so every fill patches moto the same, visible way."""

from collections.abc import Callable
from typing import Any


def add_method(cls: type, name: str, func: Callable[..., Any]) -> None:
    """Attach func as cls.name; moto dispatches an action to the method of the same snake_case name."""
    func.__name__ = name
    func.__qualname__ = f"{cls.__name__}.{name}"
    setattr(cls, name, func)


def wrap_method(cls: type, name: str, wrapper: Callable[..., Any]) -> None:
    """Replace cls.name with wrapper(original, self, *args, **kwargs)."""
    original = getattr(cls, name)

    def patched(self: Any, *args: Any, **kwargs: Any) -> Any:
        return wrapper(original, self, *args, **kwargs)

    add_method(cls, name, patched)
