"""The small typed containers that travel from sensors to recordings: sample batches and tasks."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from hipscope.base import tasks as task_registry
from hipscope.base.errors import HipscopeError

PLACEMENTS: tuple[str, ...] = (
    "pelvis",
    "trunk",
    "thigh_left",
    "thigh_right",
    "shank_left",
    "shank_right",
    "foot_left",
    "foot_right",
)
TASK_KINDS: tuple[str, ...] = task_registry.kind_names()
"""The built-in task kinds; validation asks the registry (``hipscope.base.tasks``)."""
SIDES: tuple[str, ...] = ("left", "right", "")
TASK_SOURCES: tuple[str, ...] = ("recorded", "detected", "detected_relabelled")
"""Where a task row came from: marked while recording, found by task detection and accepted
in review, or found and then given another kind or side (docs/RECORDING_FORMAT.md)."""
SOURCE_TEXT = {"detected": "detected", "detected_relabelled": "detected, relabelled"}
"""How a saved row's source reads after its title (recorded rows say nothing)."""


def _vectors(name: str, value: ArrayLike, n: int) -> NDArray[np.float32]:
    array = np.ascontiguousarray(value, dtype=np.float32)
    if array.shape != (n, 3):
        raise HipscopeError(f"{name} must have shape ({n}, 3), got {array.shape}")
    return array


@dataclass(frozen=True, eq=False)
class SampleBatch:
    """A batch of consecutive samples from one sensor.

    ``time_s`` is the session clock once a sample has passed clock mapping (decoders may
    fill it with the device clock; the name of the producer says which). Vectors are in the
    sensor frame: ``acc_m_s2`` is specific force (+9.81 up at rest), ``gyr_rad_s`` angular
    velocity, ``mag_ut`` the optional magnetic field, ``seq`` the optional device counter.
    """

    time_s: NDArray[np.float64]
    acc_m_s2: NDArray[np.float32]
    gyr_rad_s: NDArray[np.float32]
    mag_ut: NDArray[np.float32] | None = None
    seq: NDArray[np.uint32] | None = None

    def __post_init__(self) -> None:
        time_s = np.ascontiguousarray(self.time_s, dtype=np.float64)
        if time_s.ndim != 1:
            raise HipscopeError(f"time_s must be 1-D, got shape {time_s.shape}")
        n = time_s.shape[0]
        object.__setattr__(self, "time_s", time_s)
        object.__setattr__(self, "acc_m_s2", _vectors("acc_m_s2", self.acc_m_s2, n))
        object.__setattr__(self, "gyr_rad_s", _vectors("gyr_rad_s", self.gyr_rad_s, n))
        if self.mag_ut is not None:
            object.__setattr__(self, "mag_ut", _vectors("mag_ut", self.mag_ut, n))
        if self.seq is not None:
            seq = np.ascontiguousarray(self.seq, dtype=np.uint32)
            if seq.shape != (n,):
                raise HipscopeError(f"seq must have shape ({n},), got {seq.shape}")
            object.__setattr__(self, "seq", seq)

    def __len__(self) -> int:
        return int(self.time_s.shape[0])

    def take(self, index: slice | NDArray[np.bool_] | NDArray[np.intp]) -> SampleBatch:
        """The rows selected by a slice, boolean mask or index array."""
        return SampleBatch(
            time_s=self.time_s[index],
            acc_m_s2=self.acc_m_s2[index],
            gyr_rad_s=self.gyr_rad_s[index],
            mag_ut=None if self.mag_ut is None else self.mag_ut[index],
            seq=None if self.seq is None else self.seq[index],
        )

    def with_time(self, time_s: ArrayLike) -> SampleBatch:
        """The same samples on another clock."""
        time = np.asarray(time_s, dtype=np.float64)
        return SampleBatch(time, self.acc_m_s2, self.gyr_rad_s, self.mag_ut, self.seq)

    @staticmethod
    def concat(batches: Sequence[SampleBatch]) -> SampleBatch:
        """Join batches in order; mag and seq survive only when every batch has them."""
        if not batches:
            return SampleBatch.empty()
        has_mag = all(b.mag_ut is not None for b in batches)
        has_seq = all(b.seq is not None for b in batches)
        return SampleBatch(
            time_s=np.concatenate([b.time_s for b in batches]),
            acc_m_s2=np.concatenate([b.acc_m_s2 for b in batches]),
            gyr_rad_s=np.concatenate([b.gyr_rad_s for b in batches]),
            mag_ut=np.concatenate([b.mag_ut for b in batches]) if has_mag else None,  # type: ignore[misc]
            seq=np.concatenate([b.seq for b in batches]) if has_seq else None,  # type: ignore[misc]
        )

    @staticmethod
    def empty(*, with_mag: bool = False, with_seq: bool = False) -> SampleBatch:
        return SampleBatch(
            time_s=np.empty(0),
            acc_m_s2=np.empty((0, 3), dtype=np.float32),
            gyr_rad_s=np.empty((0, 3), dtype=np.float32),
            mag_ut=np.empty((0, 3), dtype=np.float32) if with_mag else None,
            seq=np.empty(0, dtype=np.uint32) if with_seq else None,
        )


@dataclass(frozen=True)
class Task:
    """One task performed during a session, on the session clock."""

    kind: str
    side: str
    start_s: float
    end_s: float
    source: str = "recorded"
    """One of ``TASK_SOURCES``."""

    def __post_init__(self) -> None:
        task_registry.get(self.kind)  # refuses unknown kinds, naming the known ones
        if self.side not in SIDES:
            raise HipscopeError(f"task side {self.side!r} must be 'left', 'right' or ''")
        if self.source not in TASK_SOURCES:
            raise HipscopeError(
                f"task source {self.source!r} must be one of {', '.join(TASK_SOURCES)}"
            )
        if not (np.isfinite(self.start_s) and np.isfinite(self.end_s)):
            raise HipscopeError(f"task {self.kind} has a non-finite start or end")
        if self.end_s < self.start_s:
            raise HipscopeError(
                f"task {self.kind} ends ({self.end_s:.3f} s) "
                f"before it starts ({self.start_s:.3f} s)"
            )

    @property
    def label(self) -> str:
        return f"{self.kind} ({self.side})" if self.side else self.kind
