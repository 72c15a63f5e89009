"""Sensor family profiles (one TOML file per family) shipped with hipscope.

Not code: this marker makes the TOML files package data of ``hipscope.firmware_configs``,
which ``hipscope.acquisition.profiles`` reads through ``importlib.resources``.
"""
