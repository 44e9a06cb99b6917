"""What the tap does with the bytes it forwarded: decode, redact, record, show.

A `Recorder` is one recording (one redaction table, one file, one trace); the proxy asks it
for a `ConnectionRecorder` per client connection and hands that every chunk it forwarded, in
each direction, after forwarding it. Decoding is `decode.py`'s, redaction `redact.py`'s,
the line format `recording.py`'s: this module only wires them in order.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import IO

from horizon.tap.decode import ConnectionDecoder, WireEvent
from horizon.tap.recording import RecordedFrame, RecordingWriter, frame_of, utc
from horizon.tap.redact import Redactor
from horizon.tap.wire import Direction

__all__ = ["ConnectionRecorder", "Recorder"]


class Recorder:
    """Decodes every tapped connection; writes each frame (redacted unless `redact=False`) to
    the recording file `record` (a path or an open text file; None records nothing) and passes
    it to `on_frame` (the live trace, or a test's list)."""

    def __init__(
        self,
        *,
        record: str | Path | IO[str] | None = None,
        redact: bool = True,
        upstream: str = "",
        on_frame: Callable[[RecordedFrame], None] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.clock = clock
        self.writer = None if record is None else RecordingWriter(
            record, redacted=redact, upstream=upstream, started=utc(clock()))
        self.redactor = Redactor() if redact else None
        self.on_frame = on_frame

    def connection(self, conn: int) -> ConnectionRecorder:
        """The recorder of connection number `conn` (the proxy's per-connection tap)."""
        if self.writer is not None:
            self.writer.opened(conn, utc(self.clock()))
        return ConnectionRecorder(self, conn)

    def emit(self, conn: int, events: list[WireEvent]) -> None:
        redactor = self.redactor
        for event in events:
            frame = frame_of(redactor.redact(event) if redactor is not None else event, conn)
            if self.writer is not None:
                self.writer.frame(frame)
            if self.on_frame is not None:
                self.on_frame(frame)

    def flush(self) -> None:
        """Push what was recorded to the file (the CLI does it a few times a second)."""
        if self.writer is not None:
            self.writer.flush()

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


class ConnectionRecorder:
    """One connection's decoder, feeding its recorder."""

    def __init__(self, recorder: Recorder, conn: int) -> None:
        self.recorder = recorder
        self.conn = conn
        self.decoder = ConnectionDecoder()

    def data(self, direction: Direction, data: bytes, at: float | None = None) -> None:
        """One chunk as it was read (`at`: when; the recorder's clock if not given)."""
        when = self.recorder.clock() if at is None else at
        self.recorder.emit(self.conn, self.decoder.feed(direction, data, when))

    def closed(self, by: str, at: float | None = None) -> None:
        when = self.recorder.clock() if at is None else at
        events = self.decoder.close(Direction.IN, when) + self.decoder.close(Direction.OUT, when)
        self.recorder.emit(self.conn, events)
        if self.recorder.writer is not None:
            self.recorder.writer.closed(self.conn, utc(when), by)
