"""The report's template engine: jinja2 with autoescaping, templates shipped as package data.

Every value a template prints is escaped unless it is ``Markup``; ``Markup`` is kept for
what hipscope generates itself (rendered fragments, SVG charts built by ``plots``, the
stylesheet). Rendering is deterministic: the same context gives the same bytes.
"""

from __future__ import annotations

from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

_ENV = Environment(
    loader=PackageLoader("hipscope.processing.report", "templates"),
    autoescape=True,
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)


def render(template: str, **context: Any) -> Markup:
    """A template rendered with its context, as markup ready to embed in another."""
    return Markup(_ENV.get_template(template).render(**context))
