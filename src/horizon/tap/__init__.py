"""`horizon-ibkr tap`: a transparent recording proxy for the TWS API socket protocol, with
replay and a shape check.

    from horizon.tap import Recorder, RecordingWriter, TapProxy
    recorder = Recorder(writer=RecordingWriter("session.jsonl", redacted=True))
    async with TapProxy("127.0.0.1", 4002, port=4012, tap=recorder.connection):
        ...                     # clients connect to 4012; the gateway is 4002

    from horizon.tap import ReplayGateway
    with ReplayGateway("session.jsonl") as gw:     # serves the recording as a gateway
        ...                     # connect to gw.port

See docs/tap.md.
"""

from horizon.tap.errors import LivePortRefused, RecordingError, TapError, UpstreamUnavailable
from horizon.tap.proxy import LIVE_PORTS, TapProxy
from horizon.tap.recorder import Recorder
from horizon.tap.recording import RecordedFrame, Recording, RecordingWriter, read_recording
from horizon.tap.redact import Redactor

__all__ = [
    "LIVE_PORTS", "LivePortRefused", "RecordedFrame", "Recorder", "Recording", "RecordingError",
    "RecordingWriter", "Redactor", "TapError", "TapProxy", "UpstreamUnavailable",
    "read_recording",
]  # fmt: skip
