"""Movella (formerly Xsens) DOT: one sample per medium-payload notification, a plain table
(payload mode 20), so the declarative layout decoder and encoder serve it. The family adds
what a table cannot say: live streaming is capped at 60 Hz (the specification: "120 is only
available for recording"), and the devices are recognised by Xsens' company ID in the
manufacturer data as well as by their tag name (see docs/SENSORS.md)."""

from __future__ import annotations

from hipscope.acquisition.families import register
from hipscope.acquisition.families.layout import LayoutFamily
from hipscope.acquisition.profiles import SensorProfile

LIVE_RATE_CAP_HZ = 60.0
XSENS_COMPANY_ID = 0x0886


@register
class MovellaDotFamily(LayoutFamily):
    name = "movella_dot"
    sample_needs = ("time", "acc", "gyr")

    def check(self, profile: SensorProfile) -> None:
        super().check(profile)
        too_fast = [f"{r:g}" for r in profile.rates_hz if r > LIVE_RATE_CAP_HZ]
        if too_fast:
            raise self.fail(
                profile,
                "rates_hz",
                f"{', '.join(too_fast)} Hz exceed the DOT's live-streaming cap of "
                f"{LIVE_RATE_CAP_HZ:g} Hz (higher rates are for on-device recording only)",
            )
