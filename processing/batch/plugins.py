"""Dask worker plugins of the local batch cluster (imported only where Dask runs)."""

from __future__ import annotations

import signal
import threading
from typing import Any

from distributed import WorkerPlugin


class IgnoreInterrupts(WorkerPlugin):
    """Local workers ignore SIGINT.

    They share the terminal's process group, so Ctrl-C reaches them too and each would
    print a KeyboardInterrupt traceback; the interrupted client shuts them down instead.
    """

    name = "hipscope-ignore-sigint"

    def setup(self, worker: Any) -> None:
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGINT, signal.SIG_IGN)
