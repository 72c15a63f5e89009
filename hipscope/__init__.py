"""hipscope: wearable IMU movement screening."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("hipscope")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0+unknown"
