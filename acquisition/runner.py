"""Live acquisition on its own thread: one asyncio loop owns every BLE client.

Qt-free, so the command line, the demo and the GUI drive acquisition the same way. The
sensors come from a ``SensorSource`` (``acquisition/sources.py``): a real kit or a virtual
one; the runner knows nothing about either::

    live = LiveAcquisition(KitSource(Path("kit.toml")), out_path=Path("x.h5"))
    live.add_consumer(lambda placement, batch: ...)   # called on the acquisition thread
    live.start()
    live.wait_connected(10.0)
    ...
    live.stop()

Every public method is safe to call from any thread. ``status()`` returns a snapshot that
the acquisition loop refreshes ten times a second.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from hipscope.acquisition.link import SensorStatus
from hipscope.acquisition.samples import SampleBatch, Task
from hipscope.acquisition.session import Session
from hipscope.acquisition.sources import SensorSource, SourceSetup
from hipscope.base.cues import CueEvent, CueRule, parse_rule
from hipscope.base.errors import HipscopeError

logger = logging.getLogger(__name__)

Consumer = Callable[[str, SampleBatch], None]
PROTOCOLS: tuple[str, ...] = ("screen",)
STATUS_INTERVAL_S = 0.1
MAX_QUEUED_CUES = 10_000
END_GRACE_S = 0.25


class LiveAcquisition:
    """Connect a kit (real or virtual), stream, record, mark tasks — on a background thread.

    Parameters
    ----------
    source:
        Where the sensors come from (``KitSource``, ``VirtualSource``).
    out_path:
        Record from the moment the sensors are connected (None: no recording until
        ``start_recording``).
    athlete:
        Stored in the recording.
    protocol:
        ``"screen"``: a source with a scripted protocol (the virtual kit) writes the task
        rows as its timeline passes each task's end and the session ends with the protocol
        (unless ``duration_s`` is given). With real sensors the caller marks tasks.
    duration_s:
        Stop after this many session seconds of recording (None: run until ``stop``).
    scan_timeout_s:
        How long to look for the kit's sensors (default 10 s).
    cue_rules:
        The live cue rules in force from the start (``hipscope.base.cues``); every recording
        stores them. ``set_cue_rules`` adds rules set later, ``record_cue`` writes a cue.
    """

    def __init__(
        self,
        source: SensorSource,
        *,
        out_path: Path | None = None,
        athlete: str = "",
        protocol: str | None = None,
        duration_s: float | None = None,
        scan_timeout_s: float = 10.0,
        cue_rules: Sequence[CueRule | str] = (),
    ) -> None:
        if not isinstance(source, SensorSource):
            raise HipscopeError("LiveAcquisition needs a sensor source (a kit or a virtual kit)")
        if protocol is not None and protocol not in PROTOCOLS:
            raise HipscopeError(f"unknown protocol {protocol!r}; expected one of {PROTOCOLS}")
        if duration_s is not None and not duration_s > 0:
            raise HipscopeError(f"duration must be positive, got {duration_s}")
        self.source = source
        self.out_path = out_path
        self.athlete = athlete
        self.protocol = protocol
        self.duration_s = duration_s
        self.scan_timeout_s = scan_timeout_s
        self.error: BaseException | None = None
        self.recording_paths: list[Path] = []
        self.tasks: list[Task] = []
        self.planned_tasks: tuple[Task, ...] = ()
        """The source's scripted tasks on the session clock (empty without a script)."""
        self._consumers: list[Consumer] = []
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._session: Session | None = None
        self._stop: asyncio.Event | None = None
        self._connected = threading.Event()
        self._stop_requested = threading.Event()
        self._done = threading.Event()
        self._lock = threading.Lock()
        self._status: dict[str, SensorStatus] = {}
        self._created_s = time.monotonic()
        self._cue_rules: tuple[str, ...] = _rule_texts(cue_rules)
        self._cues: deque[CueEvent] = deque(maxlen=MAX_QUEUED_CUES)
        self.cues_recorded = 0
        """Cues written into a recording (counted on the acquisition thread)."""

    # -- thread lifecycle ------------------------------------------------------------------
    def start(self) -> None:
        """Start the acquisition thread and return at once."""
        if self._thread is not None:
            raise HipscopeError("this acquisition was already started")
        self._thread = threading.Thread(target=self._run, name="hipscope-acquisition", daemon=True)
        self._thread.start()

    @property
    def finished(self) -> bool:
        return self._done.is_set()

    @property
    def running(self) -> bool:
        return self._thread is not None and not self._done.is_set()

    def wait_connected(self, timeout_s: float) -> bool:
        """True once every sensor streams; False on timeout or when the thread ended."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self._connected.wait(timeout=0.05):
                return True
            if self._done.is_set():
                return False
        return self._connected.is_set()

    def wait_finished(self, timeout_s: float | None = None) -> bool:
        return self._done.wait(timeout_s)

    def stop(self, timeout_s: float = 10.0) -> bool:
        """Stop streaming, close the recording cleanly and end the thread."""
        self._stop_requested.set()
        loop, stop = self._loop, self._stop
        if loop is not None and stop is not None and not self._done.is_set():
            try:
                loop.call_soon_threadsafe(stop.set)
            except RuntimeError:  # the loop closed meanwhile
                pass
        if self._thread is not None:
            self._thread.join(timeout_s)
        return self._done.is_set() or self._thread is None

    # -- data and status -------------------------------------------------------------------
    def add_consumer(self, consumer: Consumer) -> None:
        """``consumer(placement, batch)`` for every batch, called on the acquisition thread."""
        with self._lock:
            self._consumers = [*self._consumers, consumer]

    def remove_consumer(self, consumer: Consumer) -> None:
        with self._lock:
            self._consumers = [c for c in self._consumers if c is not consumer]

    def status(self) -> dict[str, SensorStatus]:
        with self._lock:
            return dict(self._status)

    def session_time_s(self) -> float:
        session = self._session
        if session is not None:
            return session.session_time_s()
        return time.monotonic() - self._created_s

    @property
    def recording(self) -> bool:
        session = self._session
        return session is not None and session.recorder is not None

    # -- commands (any thread) -------------------------------------------------------------
    def _call(self, fn: Callable[[], Any], timeout_s: float = 5.0) -> Any:
        loop = self._loop
        if loop is None or self._done.is_set() or self._session is None:
            raise HipscopeError("acquisition is not running")

        async def run() -> Any:
            return fn()

        return asyncio.run_coroutine_threadsafe(run(), loop).result(timeout_s)

    def start_task(self, kind: str, side: str = "") -> None:
        Task(kind, side, 0.0, 0.0)  # validate in the caller's thread
        self._call(lambda: self._require_session().start_task(kind, side))

    def end_task(self) -> Task | None:
        task = self._call(lambda: self._require_session().end_task())
        if task is not None:
            self.tasks.append(task)
        return task

    def start_recording(self, path: Path) -> None:
        def begin() -> None:
            self._require_session().start_recording(path, athlete=self.athlete)
            self.recording_paths.append(Path(path))

        self._call(begin)

    def stop_recording(self) -> Path | None:
        return self._call(lambda: self._require_session().stop_recording(), timeout_s=30.0)

    # -- live cues (any thread; never blocks) ---------------------------------------------
    @property
    def cue_rules(self) -> tuple[str, ...]:
        return self._cue_rules

    def record_cue(self, event: CueEvent) -> None:
        """Write a cue into the recording, if one is being made; returns at once.

        The cue goes into a queue the acquisition loop empties at every wake-up (at least
        every ``STATUS_INTERVAL_S``); the recorder writes it with its next flush. Without a
        recording, or before the loop starts or after it ended, the cue is dropped silently
        (the live window counts it all the same). A plain ``deque.append``: unlike waking
        the loop through its socket, it never gives up the GIL, so the caller cannot be
        held up by the acquisition thread's HDF5 writes (measured: up to 100 ms on a loaded
        machine with ``call_soon_threadsafe``).
        """
        if self._loop is None or self._done.is_set():
            return
        self._cues.append(event)

    def set_cue_rules(self, rules: Sequence[CueRule | str]) -> None:
        """Add rules set during the session: they are stored with the current recording
        (as rules in force during part of it) and with every later one."""
        texts = _rule_texts(rules)
        self._cue_rules = tuple(dict.fromkeys([*self._cue_rules, *texts]))
        self._soon(self._apply_cue_rules)

    def _soon(self, fn: Callable[..., None], *args: Any) -> None:
        loop = self._loop
        if loop is None or self._done.is_set():
            return
        try:
            loop.call_soon_threadsafe(fn, *args)
        except RuntimeError:  # the loop closed meanwhile
            pass

    def _drain_cues(self, session: Session) -> None:
        while self._cues:
            if session.add_cue(self._cues.popleft()):
                self.cues_recorded += 1

    def _apply_cue_rules(self) -> None:
        session = self._session
        if session is None:
            return
        session.cue_rules = self._cue_rules
        if session.recorder is not None:
            session.recorder.set_cue_rules(self._cue_rules)

    def _require_session(self) -> Session:
        if self._session is None:
            raise HipscopeError("acquisition is not running")
        return self._session

    # -- the acquisition loop --------------------------------------------------------------
    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as error:  # the thread must record, not raise
            self.error = error
            logger.debug("acquisition stopped by %r", error)
        finally:
            self._done.set()

    async def _main(self) -> None:
        self._stop = asyncio.Event()
        self._loop = asyncio.get_running_loop()
        if self._stop_requested.is_set():  # stop() came before the loop existed
            self._stop.set()
        # A scripted session ends with its script; otherwise the script replays.
        repeat = self.protocol != "screen" or self.duration_s is not None
        async with self.source.open(on_close=self._close_session, repeat=repeat) as setup:
            session = Session(
                setup.devices,
                scanner_backend=setup.scanner_backend,
                client_backend=setup.client_backend,
                scan_timeout_s=self.scan_timeout_s,
                rate_hz=setup.rates_hz,
                time_scale=setup.time_scale,
                t0_monotonic_s=setup.t0_monotonic_s,
            )
            await self._drive(session, setup)

    async def _drive(self, session: Session, setup: SourceSetup) -> None:
        assert self._stop is not None
        self._session = session
        session.cue_rules = self._cue_rules
        session.add_consumer(self._dispatch)
        try:
            if not await self._connect_unless_stopped(session):
                return
            if self.out_path is not None:
                session.start_recording(self.out_path, athlete=self.athlete)
                self.recording_paths.append(Path(self.out_path))
            start_s = max(session.session_time_s(), 0.0)  # virtual kits start sampling at 0
            self._refresh_status()
            self._connected.set()
            planned = list(setup.planned_tasks) if self.protocol == "screen" else []
            self.planned_tasks = tuple(planned)
            protocol_end_s = setup.protocol_end_s if planned else None
            end_s = math.inf
            if self.duration_s is not None:
                end_s = start_s + self.duration_s
            elif protocol_end_s is not None:
                end_s = protocol_end_s
            if self.duration_s is not None:
                session.recording_end_s = end_s  # nothing after the end reaches the file
            # Samples up to the end are still on their way when the clock passes it.
            stop_s = end_s + END_GRACE_S * session.time_scale
            while not self._stop.is_set():
                if session.recording_error is not None:
                    raise session.recording_error  # full disk: the file is closed and readable
                now_s = session.session_time_s()
                while planned and planned[0].end_s <= now_s:
                    self._write_planned(session, planned.pop(0), start_s)
                self._drain_cues(session)
                if now_s >= stop_s:
                    break
                self._refresh_status()
                # Wake for the status refresh, or sooner for the next task row or the end
                # (a fast virtual kit covers several session seconds per status interval).
                next_s = min(stop_s, planned[0].end_s if planned else math.inf)
                wait_s = min(STATUS_INTERVAL_S, (next_s - now_s) / session.time_scale)
                try:
                    await asyncio.wait_for(self._stop.wait(), timeout=max(wait_s, 0.001))
                except TimeoutError:
                    pass

        finally:
            self._drain_cues(session)  # cues given up to the stop reach the recording
            await session.close()
            self._refresh_status()

    async def _connect_unless_stopped(self, session: Session) -> bool:
        """Connect, unless ``stop()`` comes first (then False; a scan can take seconds)."""
        assert self._stop is not None
        connect = asyncio.ensure_future(session.connect())
        stopped = asyncio.ensure_future(self._stop.wait())
        await asyncio.wait({connect, stopped}, return_when=asyncio.FIRST_COMPLETED)
        if connect.done():
            stopped.cancel()
            connect.result()  # raises the connection error, if any
            return True
        connect.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await connect
        return False

    async def _close_session(self) -> None:
        if self._session is not None:
            await self._session.close()

    def _write_planned(self, session: Session, task: Task, recording_start_s: float) -> None:
        start_s = max(task.start_s, recording_start_s)
        if task.end_s <= start_s:
            return
        row = Task(task.kind, task.side, start_s, task.end_s)
        session.add_task(row)
        self.tasks.append(row)

    def _dispatch(self, placement: str, batch: SampleBatch) -> None:
        for consumer in self._consumers:
            consumer(placement, batch)

    def _refresh_status(self) -> None:
        session = self._session
        if session is None:
            return
        snapshot = session.status()
        with self._lock:
            self._status = snapshot


def _rule_texts(rules: Sequence[CueRule | str]) -> tuple[str, ...]:
    """Canonical rule texts, each once (a text is parsed: a bad rule raises CueRuleError)."""
    texts = [r.text if isinstance(r, CueRule) else parse_rule(r).text for r in rules]
    return tuple(dict.fromkeys(texts))
