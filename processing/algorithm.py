"""The base class of every analysis algorithm (the tpcp pattern of gaitmap and mobgap).

An algorithm is an object whose ``__init__`` only stores its parameters, keyword by
keyword, under their own names (units in the names: ``lowpass_hz``, ``window_s``). One
action method (named by the class attribute ``_action_method``, e.g. ``compute`` or
``detect``) takes the data, stores the results in attributes ending in ``_`` and returns
``self``; it never changes a parameter. ``get_params``, ``set_params``, ``clone`` and
``params_json`` come from this class, by reading the signature of ``__init__``.

The contract is checked, not only documented: defining a subclass checks its signature
(keyword parameters with defaults, no ``*args``), making an instance checks that
``__init__`` stored exactly its parameters, unchanged, and nothing else, and each call of
the action method checks that it returned ``self`` and left the parameters alone.

Parameters may be numbers, strings, bools, None, tuples of those, or other algorithms
(nested: ``HipDrive(segmenter=RepetitionSegmenter(...))``). An algorithm given as a default
value is cloned for each new instance, so two instances never share one (tpcp's
``CloneFactory``); an action runs a nested algorithm on a clone, so results never end up
in a parameter. See docs/DESIGN.md, "Patterns" and "How to add … a metric".
"""

from __future__ import annotations

import copy
import functools
import inspect
import typing
from collections.abc import Callable
from typing import Any, ClassVar, Self

PLAIN_TYPES = (bool, int, float, str, type(None))
"""Types a parameter value may have, besides tuples of them and nested algorithms."""


class AlgorithmDefinitionError(TypeError):
    """A subclass breaks the algorithm contract (a programming error, not bad input)."""


def _plain(value: Any) -> bool:
    if isinstance(value, tuple):
        return all(_plain(v) for v in value)
    return isinstance(value, PLAIN_TYPES)


def _parameters(init: Callable[..., None], owner: str) -> tuple[inspect.Parameter, ...]:
    """The parameters of an ``__init__`` after ``self``, checked against the contract."""
    params = tuple(inspect.signature(init).parameters.values())[1:]
    for p in params:
        where = f"{owner}.__init__ parameter {p.name!r}"
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            raise AlgorithmDefinitionError(f"{owner}.__init__ takes *args/**kwargs; name each one")
        if p.kind is p.POSITIONAL_ONLY:
            raise AlgorithmDefinitionError(f"{where} is positional-only")
        if p.name.endswith("_") or p.name.startswith("_"):
            raise AlgorithmDefinitionError(
                f"{where}: a leading or trailing _ is kept for internals and results"
            )
        if p.default is p.empty:
            raise AlgorithmDefinitionError(f"{where} has no default")
        if not (_plain(p.default) or isinstance(p.default, Algorithm)):
            raise AlgorithmDefinitionError(
                f"{where}: default {p.default!r} is not a number, string, bool, None, tuple "
                "or algorithm (mutable defaults are shared between instances)"
            )
    return params


class Algorithm:
    """Base of the analysis algorithms: parameters in ``__init__``, one action, results ``_``.

    Subclasses set ``_action_method`` to the name of their action method and document
    every parameter (with its unit) in the class docstring's "Parameters" section.
    """

    _action_method: ClassVar[str]
    _init_parameters: ClassVar[tuple[inspect.Parameter, ...]] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        action = getattr(cls, "_action_method", None)
        if not isinstance(action, str) or not callable(getattr(cls, action, None)):
            raise AlgorithmDefinitionError(
                f"{cls.__name__}: _action_method must name one of its methods, got {action!r}"
            )
        init = cls.__dict__.get("__init__")
        if init is not None:
            cls._init_parameters = _parameters(init, cls.__name__)
            cls.__init__ = _checked_init(init, cls._init_parameters)  # type: ignore[method-assign]
        method = cls.__dict__.get(action)
        if method is not None:
            setattr(cls, action, _checked_action(method, f"{cls.__name__}.{action}"))

    @classmethod
    def param_names(cls) -> tuple[str, ...]:
        """The names of the parameters, in the order of ``__init__``."""
        return tuple(p.name for p in cls._init_parameters)

    @classmethod
    def param_defaults(cls) -> dict[str, Any]:
        return {p.name: p.default for p in cls._init_parameters}

    @classmethod
    def param_types(cls) -> dict[str, Any]:
        """name -> the annotated type of each parameter (evaluated)."""
        return _type_hints(cls)

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """The parameters by name; with ``deep`` also those of nested algorithms, as
        ``<name>__<parameter>`` (the sklearn / tpcp convention)."""
        params = {name: getattr(self, name) for name in self.param_names()}
        if deep:
            for name, value in list(params.items()):
                if isinstance(value, Algorithm):
                    for sub, sub_value in value.get_params(deep=True).items():
                        params[f"{name}__{sub}"] = sub_value
        return params

    def set_params(self, **params: Any) -> Self:
        """Set parameters by name (``<name>__<parameter>`` reaches into a nested algorithm)."""
        names = self.param_names()
        nested: dict[str, dict[str, Any]] = {}
        for key, value in params.items():
            name, _, sub = key.partition("__")
            if name not in names:
                raise ValueError(f"{type(self).__name__} has no parameter {name!r}")
            if sub:
                nested.setdefault(name, {})[sub] = value
            else:
                setattr(self, name, value)
        for name, sub_params in nested.items():
            inner = getattr(self, name)
            if not isinstance(inner, Algorithm):
                raise ValueError(f"{type(self).__name__}.{name} is not an algorithm")
            inner.set_params(**sub_params)
        return self

    def clone(self) -> Self:
        """A new instance with equal (copied) parameters and no results."""
        params = {
            name: value.clone() if isinstance(value, Algorithm) else copy.deepcopy(value)
            for name, value in self.get_params(deep=False).items()
        }
        return type(self)(**params)

    def params_json(self) -> dict[str, Any]:
        """The parameters as plain data: nested algorithms as dicts, tuples as lists (the
        form of the metrics JSON's ``parameters`` and of the analysis configuration)."""
        return {name: _json_value(v) for name, v in self.get_params(deep=False).items()}

    def results(self) -> dict[str, Any]:
        """The results of the last action: every attribute whose name ends in ``_``."""
        return {k: v for k, v in vars(self).items() if k.endswith("_") and not k.startswith("_")}

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in self.get_params(deep=False).items())
        return f"{type(self).__name__}({params})"


def _json_value(value: Any) -> Any:
    if isinstance(value, Algorithm):
        return value.params_json()
    if isinstance(value, tuple):
        return [_json_value(v) for v in value]
    return value


_TYPE_HINTS: dict[type, dict[str, Any]] = {}


def _type_hints(cls: type[Algorithm]) -> dict[str, Any]:
    """The evaluated annotations of the ``__init__`` that defines the parameters (cached:
    evaluated on first use, once every annotated class exists)."""
    if cls not in _TYPE_HINTS:
        init = next(
            (k.__dict__["__init__"] for k in cls.__mro__ if "__init__" in k.__dict__),
            None,
        )
        hints = typing.get_type_hints(init) if init is not None and cls is not Algorithm else {}
        _TYPE_HINTS[cls] = {name: hints.get(name, Any) for name in cls.param_names()}
    return _TYPE_HINTS[cls]


def _checked_init(
    init: Callable[..., None], params: tuple[inspect.Parameter, ...]
) -> Callable[..., None]:
    signature = inspect.signature(init)
    names = frozenset(p.name for p in params)

    @functools.wraps(init)
    def __init__(self: Algorithm, *args: Any, **kwargs: Any) -> None:
        init(self, *args, **kwargs)
        if type(self).__init__ is not __init__:  # a subclass's __init__ checks (outermost only)
            return
        bound = signature.bind(self, *args, **kwargs)
        bound.apply_defaults()
        owner = type(self).__name__
        extra = sorted(set(vars(self)) - names)
        if extra:
            raise AlgorithmDefinitionError(
                f"{owner}.__init__ may only store its parameters, but also set {extra}"
            )
        for p in params:
            if p.name not in vars(self) or vars(self)[p.name] is not bound.arguments[p.name]:
                raise AlgorithmDefinitionError(
                    f"{owner}.__init__ must store parameter {p.name!r} unchanged as self.{p.name}"
                )
            if isinstance(p.default, Algorithm) and vars(self)[p.name] is p.default:
                vars(self)[p.name] = p.default.clone()

    return __init__


def _checked_action(method: Callable[..., Any], where: str) -> Callable[..., Any]:
    @functools.wraps(method)
    def action(self: Algorithm, *args: Any, **kwargs: Any) -> Any:
        before = self.params_json()
        result = method(self, *args, **kwargs)
        if result is not self:
            raise AlgorithmDefinitionError(f"{where} must return self")
        if self.params_json() != before:
            raise AlgorithmDefinitionError(f"{where} changed a parameter; results end in _")
        return result

    return action


def all_algorithms() -> list[type[Algorithm]]:
    """Every algorithm class defined so far (subclasses of subclasses included)."""
    found: list[type[Algorithm]] = []
    todo = list(Algorithm.__subclasses__())
    while todo:
        cls = todo.pop(0)
        found.append(cls)
        todo.extend(cls.__subclasses__())
    return found
