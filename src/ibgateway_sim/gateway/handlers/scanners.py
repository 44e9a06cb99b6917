"""Market scanners: reqScannerParameters (a small document in the layout TWS sends) and
reqScannerSubscription over the engine's universe: the instruments of the asked instrument
type, ranked by the scan code, answered at once and again on `refresh` (TWS re-sends a
subscribed scan as it changes) until cancelScannerSubscription."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Final

from ibgateway_sim.engine import ContractQuery, ContractSpec, Engine, Quote
from ibgateway_sim.gateway.handlers.base import Handler
from ibgateway_sim.gateway.session import Session
from ibgateway_sim.wire import messages as m

SCAN_PARAMETERS_NOT_FOUND: Final = 162  # TWS: "Historical Market Data Service error message:"
TEXT_SCAN_NOT_FOUND: Final = "Historical Market Data Service error message:Scanner type not found"
MAX_ROWS: Final = 50
_ZERO = Decimal(0)


def _change(q: Quote) -> Decimal:
    return (q.last - q.close) / q.close if q.close else _ZERO


# scan code -> (sort key on a quote, descending?)
SCANS: Final[Mapping[str, tuple[Callable[[Quote], Decimal], bool]]] = {
    "TOP_PERC_GAIN": (_change, True),
    "TOP_PERC_LOSE": (_change, False),
    "MOST_ACTIVE": (lambda q: q.volume, True),
    "HOT_BY_VOLUME": (lambda q: q.volume, True),
    "HIGH_LAST": (lambda q: q.last, True),
    "LOW_LAST": (lambda q: q.last, False),
}
INSTRUMENTS: Final = {"STK": "STK", "ETF.EQ.US": "STK", "FUT.US": "FUT", "CASH": "CASH"}
LOCATIONS: Final = {"STK.US.MAJOR", "STK.US", "STK.NASDAQ", "STK.NYSE", "STK.ARCA",
                    "FUT.US", "FUT.CME", "CASH.IDEALPRO"}  # fmt: skip


def parameters_xml() -> str:
    """The scanner-parameters document: its top-level layout as TWS sends it (instrument
    list, location tree, scan types), cut down to what the simulator can scan."""
    scans = "".join(
        f"<ScanType><displayName>{code.replace('_', ' ').title()}</displayName>"
        f"<scanCode>{code}</scanCode><instruments>STK,ETF.EQ.US,FUT.US,CASH</instruments>"
        "</ScanType>"
        for code in SCANS
    )
    instruments = "".join(
        f"<Instrument><name>{name}</name><type>{name}</type><secType>{sec}</secType>"
        "</Instrument>"
        for name, sec in INSTRUMENTS.items()
    )
    locations = "".join(
        f"<Location><displayName>{code}</displayName><locationCode>{code}</locationCode>"
        "</Location>"
        for code in sorted(LOCATIONS)
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><ScanParameterResponse>'
        f"<InstrumentList>{instruments}</InstrumentList>"
        f"<LocationTree>{locations}</LocationTree>"
        f"<ScanTypeList>{scans}</ScanTypeList></ScanParameterResponse>"
    )


@dataclass(frozen=True, slots=True)
class _Scan:
    sec_type: str
    scan_code: str
    rows: int
    above_price: Decimal | None
    below_price: Decimal | None


class ScannerHandlers:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._subs: dict[Session, dict[int, tuple[_Scan, m.ScannerData | None]]] = {}

    @property
    def handlers(self) -> Mapping[type, Handler]:
        return {
            m.ReqScannerParameters: self._on_parameters,
            m.ReqScannerSubscription: self._on_subscription,
            m.CancelScannerSubscription: self._on_cancel,
        }

    def forget(self, session: Session) -> None:
        self._subs.pop(session, None)

    def _on_parameters(self, s: Session, msg: m.ReqScannerParameters) -> None:
        s.send(m.ScannerParameters(xml=parameters_xml()))

    def _on_subscription(self, s: Session, msg: m.ReqScannerSubscription) -> None:
        sec_type = INSTRUMENTS.get(msg.instrument)
        if sec_type is None or msg.scan_code not in SCANS:
            s.send_error(msg.req_id, SCAN_PARAMETERS_NOT_FOUND, TEXT_SCAN_NOT_FOUND)
            return
        rows = msg.number_of_rows if msg.number_of_rows and msg.number_of_rows > 0 else MAX_ROWS
        scan = _Scan(sec_type, msg.scan_code, min(rows, MAX_ROWS), msg.above_price,
                     msg.below_price)  # fmt: skip
        subs = self._subs.setdefault(s, {})
        subs[msg.req_id] = (scan, None)
        self._send(s, msg.req_id)

    def _on_cancel(self, s: Session, msg: m.CancelScannerSubscription) -> None:
        self._subs.get(s, {}).pop(msg.req_id, None)

    def refresh(self) -> None:
        """Re-send every subscribed scan whose result changed."""
        for s, subs in self._subs.items():
            for req_id in list(subs):
                self._send(s, req_id)

    def _send(self, s: Session, req_id: int) -> None:
        subs = self._subs[s]
        scan, last = subs[req_id]
        data = m.ScannerData(req_id=req_id, items=self._rank(scan))
        if data != last:
            subs[req_id] = (scan, data)
            s.send(data)

    def _rank(self, scan: _Scan) -> tuple[m.ScanDataItem, ...]:
        engine = self._engine
        key, descending = SCANS[scan.scan_code]
        quoted: list[tuple[ContractSpec, Quote]] = []
        for spec in engine.match_contracts(ContractQuery(sec_type=scan.sec_type)):
            q = engine.quote(spec.con_id)
            if scan.above_price is not None and q.last <= scan.above_price:
                continue
            if scan.below_price is not None and q.last >= scan.below_price:
                continue
            quoted.append((spec, q))
        quoted.sort(key=lambda sq: (key(sq[1]), -sq[0].con_id), reverse=descending)
        return tuple(
            m.ScanDataItem(
                rank=rank, con_id=sp.con_id, symbol=sp.symbol, sec_type=sp.sec_type,
                last_trade_date=sp.last_trade_date, strike=sp.strike, right=sp.right,
                exchange=sp.exchange, currency=sp.currency, local_symbol=sp.local_symbol,
                market_name=sp.trading_class, trading_class=sp.trading_class,
            )
            for rank, (sp, _) in enumerate(quoted[: scan.rows])
        )  # fmt: skip
