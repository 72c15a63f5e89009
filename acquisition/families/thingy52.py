"""Nordic Thingy:52 motion service, raw data characteristic: one fixed-point sample per
notification, a plain table served by the declarative layout decoder and encoder. The
device advertises its configuration service (ef680100), not the motion service it streams
on (ef680400); the profile lists both (``advertised_services``)."""

from __future__ import annotations

from hipscope.acquisition.families import register
from hipscope.acquisition.families.layout import LayoutFamily


@register
class Thingy52Family(LayoutFamily):
    name = "thingy52"
