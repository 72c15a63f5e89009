"""The algorithm base class: parameters from __init__, clone, one action returning self."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import hipscope.processing.config  # noqa: F401  (imports every algorithm the pipeline uses)
from hipscope.processing.algorithm import Algorithm, AlgorithmDefinitionError, all_algorithms
from hipscope.processing.events.final_contacts import PelvisFinalContacts
from hipscope.processing.events.gait import (
    GaitEventDetector,
    GaitEvents,
    PelvisContacts,
    ThighTurningPoints,
)
from hipscope.processing.events.refine import GaitRefinement
from hipscope.processing.events.repetitions import RepetitionSegmenter
from hipscope.processing.events.sides import PelvisSides, ThighSides
from hipscope.processing.events.stance import StanceHold
from hipscope.processing.events.turns import StraightWalking
from hipscope.processing.metrics.gait_symmetry import GaitSymmetry
from hipscope.processing.metrics.hip_drive import HipDrive
from hipscope.processing.metrics.pelvic_stability import PelvicStability
from hipscope.processing.metrics.step_asymmetry import StepTimeAsymmetry
from hipscope.processing.metrics.walking_pelvis import WalkingPelvis
from hipscope.processing.task_detection import TaskDetector

RATE_HZ = 100.0
T = np.arange(0.0, 30.0, 1.0 / RATE_HZ)
STRIDE_S = 1.1
CONTACTS_S = 2.0 + 0.55 * np.arange(45)
SIDES = np.array(["right", "left"] * 23)[:45]


def _walk_acc() -> np.ndarray:
    """Vertical specific force with a dip-and-jolt per contact (a crude walk)."""
    acc = np.full_like(T, 9.81)
    for c in CONTACTS_S:
        acc += 3.0 * np.exp(-0.5 * ((T - c - 0.05) / 0.06) ** 2)
        acc -= 2.0 * np.exp(-0.5 * ((T - c + 0.15) / 0.08) ** 2)
    return acc + 0.05 * np.random.default_rng(3).normal(size=T.shape)


def _thigh(phase_s: float) -> np.ndarray:
    return np.radians(20.0 * np.cos(2 * np.pi * (T - phase_s) / STRIDE_S) + 5.0)


def _hinge() -> tuple[np.ndarray, np.ndarray]:
    cycle = 0.5 - 0.5 * np.cos(2 * np.pi * T / 4.0)
    return np.radians(50.0 * cycle), np.radians(20.0 * np.roll(cycle, 8))


HIP, LUMBAR = _hinge()
FREE_THIGH = np.radians(np.where((T > 5.0) & (T < 20.0), 40.0, 0.0))
OBLIQUITY = np.radians(4.0 + 0.3 * np.sin(T))
ACC3 = np.column_stack([0.1 * np.sin(3 * T), 0.1 * np.cos(2 * T), np.full_like(T, 9.81)])
Q_PELVIS = np.tile([1.0, 0.0, 0.0, 0.0], (T.shape[0], 1))
TURN = np.clip((T - 10.0) / 2.0, 0.0, 1.0) * np.pi  # a 180° turn between 10 and 12 s
Q_TURNING = np.column_stack([np.cos(TURN / 2), 0 * T, 0 * T, np.sin(TURN / 2)])

RUNS: dict[type[Algorithm], Callable[[Any], Any]] = {
    RepetitionSegmenter: lambda a: a.detect(T, HIP + LUMBAR, start_s=1.0, end_s=28.0),
    HipDrive: lambda a: a.compute(
        T, hip_flexion_rad=HIP, lumbar_flexion_rad=LUMBAR, start_s=1.0, end_s=28.0
    ),
    StanceHold: lambda a: a.detect(T, FREE_THIGH, start_s=3.0, end_s=22.0),
    PelvicStability: lambda a: a.compute(
        T,
        stance_side="left",
        start_s=3.0,
        end_s=22.0,
        pelvis_obliquity_rad=OBLIQUITY,
        free_thigh_sagittal_rad=FREE_THIGH,
        acc_world_pelvis_m_s2=ACC3,
        q_world_pelvis=Q_PELVIS,
    ),
    PelvisContacts: lambda a: a.detect(T, _walk_acc(), start_s=1.5, end_s=27.0),
    ThighTurningPoints: lambda a: a.detect(T, _thigh(2.0), start_s=1.5, end_s=27.0),
    GaitEventDetector: lambda a: a.detect(
        T,
        acc_vertical_m_s2=_walk_acc(),
        thigh_sagittal_left_rad=_thigh(2.55),
        thigh_sagittal_right_rad=_thigh(2.0),
        start_s=1.5,
        end_s=27.0,
    ),
    StraightWalking: lambda a: a.detect(Q_TURNING, RATE_HZ),
    GaitSymmetry: lambda a: a.compute(
        T,
        GaitEvents(CONTACTS_S, SIDES),
        start_s=1.5,
        end_s=27.0,
        acc_vertical_m_s2=_walk_acc(),
        thigh_sagittal_left_rad=_thigh(2.55),
        thigh_sagittal_right_rad=_thigh(2.0),
        acc_ap_m_s2=ACC3[:, 0],
        acc_ml_m_s2=ACC3[:, 1],
    ),
    WalkingPelvis: lambda a: a.compute(
        T,
        GaitEvents(CONTACTS_S, SIDES),
        start_s=1.5,
        end_s=27.0,
        pelvis_obliquity_rad=OBLIQUITY,
        hip_flexion_left_rad=_thigh(2.55),
        hip_flexion_right_rad=_thigh(2.0),
    ),
    ThighSides: lambda a: a.assign(
        T, CONTACTS_S, _thigh(2.55), _thigh(2.0), start_s=1.5, end_s=27.0
    ),
    PelvisSides: lambda a: a.assign(
        T, CONTACTS_S, gyr_roll_rad_s=0.3 * np.sin(2 * np.pi * (T - 2.0) / STRIDE_S)
    ),
    PelvisFinalContacts: lambda a: a.detect(T, _walk_acc(), CONTACTS_S, SIDES),
    GaitRefinement: lambda a: a.refine(
        T,
        GaitEvents(CONTACTS_S, np.full(CONTACTS_S.shape, "", dtype="<U5")),
        acc_vertical_m_s2=_walk_acc(),
        thigh_sagittal_left_rad=_thigh(2.55),
        thigh_sagittal_right_rad=_thigh(2.0),
        start_s=1.5,
        end_s=27.0,
    ),
    StepTimeAsymmetry: lambda a: a.compute(CONTACTS_S, SIDES),
    TaskDetector: lambda a: a.detect(
        T,
        RATE_HZ,
        angles_rad={"hip_flexion_left": HIP, "hip_flexion_right": HIP, "pelvis_tilt": 0.7 * HIP},
        gyr_segment_rad_s={"pelvis": np.column_stack([0 * T, 0 * T, np.gradient(HIP) * RATE_HZ])},
        acc_world_pelvis_m_s2=ACC3,
    ),
}
"""One realistic call of each algorithm's action method."""

ALGORITHMS = [cls for cls in all_algorithms() if cls.__module__.startswith("hipscope.")]


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        x, y = np.asarray(a), np.asarray(b)
        return np.array_equal(x, y, equal_nan=x.dtype.kind == "f" and y.dtype.kind == "f")
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if hasattr(a, "__dataclass_fields__"):
        return type(a) is type(b) and _same(vars(a), vars(b))
    return bool(a == b) or (a != a and b != b)  # NaN equals NaN here


def test_every_pipeline_algorithm_is_registered_and_exercised() -> None:
    assert set(RUNS) <= set(ALGORITHMS)
    assert set(ALGORITHMS) == set(RUNS), "add an action call for the new algorithm to RUNS"
    # the calls find something, so comparing their results compares real work
    assert len(RUNS[RepetitionSegmenter](RepetitionSegmenter()).repetitions_) >= 5
    assert RUNS[HipDrive](HipDrive()).metrics_["hip_lead_ms_median"] is not None
    assert RUNS[StanceHold](StanceHold()).found_
    assert RUNS[PelvicStability](PelvicStability()).metrics_["pelvic_drop_mean_deg"] > 3.0
    assert RUNS[PelvisContacts](PelvisContacts()).ic_time_s_.shape[0] > 30
    assert RUNS[ThighTurningPoints](ThighTurningPoints()).peak_flexion_s_.shape[0] > 20
    events = RUNS[GaitEventDetector](GaitEventDetector()).events_
    assert events.source == "pelvis contacts, thigh sides" and events.ic_time_s.shape[0] > 30
    straight = RUNS[StraightWalking](StraightWalking()).straight_
    assert straight[(T < 9.0) | (T > 13.0)].all() and not straight[(T > 10.2) & (T < 11.8)].any()
    gait = RUNS[GaitSymmetry](GaitSymmetry()).metrics_
    assert gait["step_time_left_s"] == pytest.approx(0.55) and gait["harmonic_ratio_ap"]
    pelvis = RUNS[WalkingPelvis](WalkingPelvis()).metrics_
    assert pelvis["hip_sagittal_range_left_deg"] is not None
    assert (RUNS[ThighSides](ThighSides()).side_ == SIDES).all()
    assert (RUNS[PelvisSides](PelvisSides()).side_ != "").all()
    assert RUNS[PelvisFinalContacts](PelvisFinalContacts()).fc_time_s_.shape[0] > 30
    refined = RUNS[GaitRefinement](GaitRefinement()).events_
    assert refined.source.startswith("pelvis contacts, thigh sides")
    assert (refined.ic_side == SIDES).all()
    asymmetry = RUNS[StepTimeAsymmetry](StepTimeAsymmetry()).metrics_
    assert asymmetry["step_time_si_pct"] == pytest.approx(0.0, abs=1e-6)


@pytest.mark.parametrize("cls", ALGORITHMS, ids=lambda c: c.__name__)
def test_parameters_are_documented_with_defaults(cls: type[Algorithm]) -> None:
    doc = inspect.getdoc(cls) or ""
    assert "Parameters\n----------" in doc
    for name in cls.param_names():
        assert f"\n{name}\n" in doc, f"{cls.__name__}: parameter {name!r} is not documented"
    assert callable(getattr(cls, cls._action_method))


@pytest.mark.parametrize("cls", ALGORITHMS, ids=lambda c: c.__name__)
def test_get_params_round_trip(cls: type[Algorithm]) -> None:
    algo = cls()
    params = algo.get_params(deep=False)
    assert list(params) == list(cls.param_names())
    assert cls(**params).params_json() == algo.params_json()
    assert cls().set_params(**params).params_json() == algo.params_json()
    deep = algo.get_params(deep=True)
    for name, value in params.items():
        assert deep[name] is value
        if isinstance(value, Algorithm):
            for sub, sub_value in value.get_params().items():
                assert deep[f"{name}__{sub}"] is sub_value


def test_set_params_reaches_nested_and_refuses_unknown_names() -> None:
    drive = HipDrive().set_params(lowpass_hz=4.0, segmenter__min_range_deg=9.0)
    assert drive.lowpass_hz == 4.0 and drive.segmenter.min_range_deg == 9.0
    assert HipDrive().segmenter.min_range_deg == 15.0  # the default was not touched
    with pytest.raises(ValueError, match="no parameter 'lowpas_hz'"):
        HipDrive().set_params(lowpas_hz=1.0)
    with pytest.raises(ValueError, match="not an algorithm"):
        HipDrive().set_params(lowpass_hz__x=1.0)


@pytest.mark.parametrize("cls", ALGORITHMS, ids=lambda c: c.__name__)
def test_clone_has_equal_parameters_no_results_and_is_independent(cls: type[Algorithm]) -> None:
    algo = RUNS[cls](cls())
    assert algo.results(), "the action stores results ending in _"
    copy = algo.clone()
    assert type(copy) is cls and copy is not algo
    assert copy.params_json() == algo.params_json()
    assert copy.results() == {}
    before = algo.params_json()
    for name, value in algo.get_params(deep=False).items():
        if isinstance(value, Algorithm):
            assert getattr(copy, name) is not value
            inner = getattr(copy, name).set_params(**{value.param_names()[0]: 0.123})
            assert inner.params_json() != value.params_json()
    assert algo.params_json() == before  # changing the copy's nested algorithms did not leak


def test_algorithm_defaults_are_never_shared() -> None:
    assert HipDrive().segmenter is not HipDrive().segmenter
    assert GaitEventDetector().pelvis is not GaitEventDetector().pelvis
    mine = RepetitionSegmenter(min_range_deg=3.0)
    assert HipDrive(segmenter=mine).segmenter is mine  # a given one is stored as given


@pytest.mark.parametrize("cls", ALGORITHMS, ids=lambda c: c.__name__)
def test_action_twice_gives_the_same_results_and_leaves_parameters(cls: type[Algorithm]) -> None:
    algo = cls()
    before = algo.params_json()
    first = {k: v for k, v in RUNS[cls](algo).results().items()}
    assert RUNS[cls](algo) is algo
    assert _same(first, algo.results())
    assert _same(first, RUNS[cls](cls()).results())
    assert algo.params_json() == before
    for value in algo.get_params(deep=False).values():
        if isinstance(value, Algorithm):  # nested algorithms run on a clone
            assert value.results() == {}


def test_params_json_is_plain_data() -> None:
    data = GaitEventDetector().params_json()
    assert data["pelvis"]["band_hz"] == [0.15, 3.14]
    assert data["thighs"] == ThighTurningPoints().params_json()
    assert data["thigh_contact_delay_s"] == 0.0


# --- subclasses that break the contract are refused -------------------------------------


def _define(body: Callable[[], type]) -> None:
    with pytest.raises(AlgorithmDefinitionError) as caught:
        body()
    assert "\n" not in str(caught.value)


def test_init_that_computes_or_stores_more_is_caught() -> None:
    class Derives(Algorithm):
        _action_method = "run"

        def __init__(self, *, cutoff_hz: float = 2.0) -> None:
            self.cutoff_hz = cutoff_hz
            self.nyquist_ratio = cutoff_hz / 50.0

        def run(self) -> Derives:
            return self

    with pytest.raises(AlgorithmDefinitionError, match="also set"):
        Derives()

    class Converts(Algorithm):
        _action_method = "run"

        def __init__(self, *, band_hz: tuple[float, float] = (1.0, 2.0)) -> None:
            self.band_hz = tuple(sorted(band_hz))  # type: ignore[assignment]

        def run(self) -> Converts:
            return self

    with pytest.raises(AlgorithmDefinitionError, match="unchanged"):
        Converts(band_hz=(2.0, 1.0))

    class Renames(Algorithm):
        _action_method = "run"

        def __init__(self, *, window_s: float = 1.0) -> None:
            self.window = window_s

        def run(self) -> Renames:
            return self

    with pytest.raises(AlgorithmDefinitionError):
        Renames()


def test_signatures_that_break_the_contract_are_caught() -> None:
    def var_args() -> type:
        class A(Algorithm):
            _action_method = "run"

            def __init__(self, *args: float) -> None:
                pass

            def run(self) -> A:
                return self

        return A

    def no_default() -> type:
        class B(Algorithm):
            _action_method = "run"

            def __init__(self, *, window_s: float) -> None:
                self.window_s = window_s

            def run(self) -> B:
                return self

        return B

    def mutable_default() -> type:
        class C(Algorithm):
            _action_method = "run"

            def __init__(self, *, weights: list[float] = []) -> None:  # noqa: B006
                self.weights = weights

            def run(self) -> C:
                return self

        return C

    def result_like_name() -> type:
        class D(Algorithm):
            _action_method = "run"

            def __init__(self, *, peaks_: int = 1) -> None:
                self.peaks_ = peaks_

            def run(self) -> D:
                return self

        return D

    def no_action() -> type:
        class E(Algorithm):
            def __init__(self, *, n: int = 1) -> None:
                self.n = n

        return E

    for body in (var_args, no_default, mutable_default, result_like_name, no_action):
        _define(body)


def test_action_must_return_self_and_keep_its_parameters() -> None:
    class ReturnsResult(Algorithm):
        _action_method = "run"

        def __init__(self, *, gain: float = 2.0) -> None:
            self.gain = gain

        def run(self, x: float) -> Any:
            self.y_ = self.gain * x
            return self.y_

    with pytest.raises(AlgorithmDefinitionError, match="must return self"):
        ReturnsResult().run(1.0)

    class Tunes(Algorithm):
        _action_method = "run"

        def __init__(self, *, gain: float = 2.0) -> None:
            self.gain = gain

        def run(self, x: float) -> Tunes:
            self.gain = x  # a result stored in a parameter
            return self

    with pytest.raises(AlgorithmDefinitionError, match="changed a parameter"):
        Tunes().run(1.0)


def test_subclass_of_an_algorithm_is_checked_once_at_its_own_init() -> None:
    class Base(Algorithm):
        _action_method = "run"

        def __init__(self, *, a_s: float = 1.0) -> None:
            self.a_s = a_s

        def run(self) -> Base:
            self.out_ = self.a_s
            return self

    class Child(Base):
        def __init__(self, *, a_s: float = 1.0, b_hz: float = 2.0) -> None:
            super().__init__(a_s=a_s)
            self.b_hz = b_hz

    child = Child(b_hz=3.0).run()
    assert child.get_params() == {"a_s": 1.0, "b_hz": 3.0} and child.out_ == 1.0
    assert child.clone().params_json() == {"a_s": 1.0, "b_hz": 3.0}

    class Inherits(Base):
        pass

    assert Inherits(a_s=2.0).clone().a_s == 2.0
