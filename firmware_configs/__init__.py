"""Sensor family profiles (one TOML file per family) shipped with hipscope.

Not code: this marker only lets the TOML files install alongside the ``acquisition``
package, where ``acquisition.profiles.PROFILE_DIR`` finds them.
"""
