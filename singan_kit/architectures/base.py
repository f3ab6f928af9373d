"""What SinGAN's and ConSinGAN's frozen training configs share: the JSON round trip of config.json
and the one-line validation error (Shaham et al. 2019; Hinz et al. 2021)."""

from __future__ import annotations

import dataclasses
import math
from typing import Any, Sequence, TypeVar

from ganbase.errors import UserError

ConfigT = TypeVar("ConfigT", bound="RunConfig")


class RunConfig:
    """Mixin for frozen config dataclasses (no fields of its own)."""

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls: type[ConfigT], data: dict) -> ConfigT:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise UserError(f"config has unknown settings {unknown}; was it written by a newer version?")
        return cls(**data)

    def numbers_are_finite(self) -> bool:
        return all(math.isfinite(v) for v in dataclasses.astuple(self) if isinstance(v, float))

    def check(self: ConfigT, checks: Sequence[tuple[Any, str]]) -> ConfigT:
        """``checks``: (condition, message) pairs; the first false one is a one-line UserError."""
        for ok, message in checks:
            if not ok:
                raise UserError(f"invalid setting: {message}")
        return self


__all__ = ["RunConfig"]
