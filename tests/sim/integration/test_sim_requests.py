"""Requests the IB libraries send rarely or hide, checked on the wire with the raw client."""

from __future__ import annotations

import struct
from collections.abc import Callable
from decimal import Decimal

import pytest

from ibgateway_sim import GatewaySimulator
from ibgateway_sim.wire import messages as m
from ibgateway_sim.wire.codec import UnknownMessage, decode_payload, frame
from ibgateway_sim.wire.messages import Direction
from tests.sim.clients import RawClient

AAPL = m.RequestContract(symbol="AAPL", sec_type="STK", exchange="SMART", currency="USD")
RawFactory = Callable[[int], RawClient]


async def started(sim: GatewaySimulator, raw_factory: RawFactory, client_id: int = 1) -> RawClient:
    raw = raw_factory(sim.port)
    await raw.start(client_id)
    return raw


async def test_start_api_answers_accounts_id_and_farm_notices_in_order(
    sim: GatewaySimulator, raw_factory: RawFactory
) -> None:
    raw = await started(sim, raw_factory)
    await raw.expect(m.ErrorMsg, lambda e: e.code == 2158)
    first = raw.received[:5]
    assert [type(e) for e in first] == [
        m.ManagedAccounts,
        m.NextValidId,
        m.ErrorMsg,
        m.ErrorMsg,
        m.ErrorMsg,
    ]
    assert [e.code for e in raw.of(m.ErrorMsg)] == [2104, 2106, 2158]
    assert all(e.req_id == -1 for e in raw.of(m.ErrorMsg))


async def test_managed_accounts_and_ids_on_request(
    sim: GatewaySimulator, raw_factory: RawFactory
) -> None:
    raw = await started(sim, raw_factory)
    raw.send(m.ReqManagedAccts())
    raw.send(m.ReqIds(num_ids=1))
    accounts = await raw.expect(m.ManagedAccounts, count=2)
    ids = await raw.expect(m.NextValidId, count=2)
    assert accounts[-1].accounts == "DU1234567" and ids[-1].order_id >= 1
    raw.send(
        m.PlaceOrder(
            order_id=41,
            contract=AAPL,
            action="BUY",
            total_quantity=Decimal(1),
            order_type="LMT",
            lmt_price=Decimal("100"),
            tif="DAY",
        )
    )
    await raw.expect(m.OrderStatus, lambda s: s.order_id == 41)
    raw.send(m.ReqIds(num_ids=1))
    ids = await raw.expect(m.NextValidId, count=3)
    assert ids[-1].order_id == 42


async def test_frozen_market_data_is_sent_once(
    sim: GatewaySimulator, raw_factory: RawFactory
) -> None:
    raw = await started(sim, raw_factory)
    raw.send(m.ReqMarketDataType(market_data_type=2))
    raw.send(m.ReqMktData(req_id=5, contract=AAPL))
    (kind,) = await raw.expect(m.MarketDataType)
    assert kind.market_data_type == 2
    await raw.expect(m.TickPrice, lambda t: t.tick_type == 4)
    count = len(raw.of(m.TickPrice))
    sim.set_price("AAPL", Decimal("199.00"))
    raw.send(m.ReqCurrentTime())
    await raw.expect(m.CurrentTime)
    assert len(raw.of(m.TickPrice)) == count


async def test_streaming_ticks_stop_after_cancel(
    sim: GatewaySimulator, raw_factory: RawFactory
) -> None:
    raw = await started(sim, raw_factory)
    raw.send(m.ReqMktData(req_id=6, contract=AAPL))
    (params,) = await raw.expect(m.TickReqParams)
    assert params.min_tick == Decimal("0.01")
    sim.set_price("AAPL", Decimal("188.00"))
    await raw.expect(m.TickPrice, lambda t: t.tick_type == 4 and t.price == Decimal("188.00"))
    raw.send(m.CancelMktData(req_id=6))
    raw.send(m.ReqCurrentTime())
    await raw.expect(m.CurrentTime)
    count = len(raw.of(m.TickPrice))
    sim.set_price("AAPL", Decimal("189.00"))
    raw.send(m.ReqCurrentTime())
    await raw.expect(m.CurrentTime, count=2)
    assert len(raw.of(m.TickPrice)) == count


async def test_unknown_market_data_contract_is_200(
    sim: GatewaySimulator, raw_factory: RawFactory
) -> None:
    raw = await started(sim, raw_factory)
    unknown = m.RequestContract(symbol="ZZZZ", sec_type="STK", exchange="SMART", currency="USD")
    raw.send(m.ReqMktData(req_id=7, contract=unknown))
    (error,) = await raw.expect(m.ErrorMsg, lambda e: e.code == 200)
    assert error.req_id == 7


async def test_positions_multi_and_account_updates_follow_fills(
    sim: GatewaySimulator, raw_factory: RawFactory
) -> None:
    raw = await started(sim, raw_factory)
    raw.send(m.ReqPositions())
    raw.send(m.ReqAccountUpdates(subscribe=True, acct_code="DU1234567"))
    await raw.expect(m.AccountDownloadEnd)
    raw.send(
        m.PlaceOrder(
            order_id=1,
            contract=AAPL,
            action="BUY",
            total_quantity=Decimal(7),
            order_type="MKT",
            tif="DAY",
        )
    )
    (position,) = await raw.expect(m.Position, lambda p: p.position == 7)
    assert position.contract.con_id == 265598
    (portfolio,) = await raw.expect(m.UpdatePortfolio, lambda p: p.position == 7)
    assert portfolio.account == "DU1234567"
    assert portfolio.market_value is not None and portfolio.market_value > 0
    cash = [v for v in raw.of(m.UpdateAccountValue) if v.key == "TotalCashValue"]
    assert len(cash) >= 2 and cash[-1].value != cash[0].value  # the fill moved the cash

    raw.send(m.ReqPositionsMulti(req_id=9, account="DU1234567"))
    (multi,) = await raw.expect(m.PositionMulti)
    await raw.expect(m.PositionMultiEnd)
    assert (multi.req_id, multi.position) == (9, 7)


@pytest.mark.parametrize("version", [178, 226])  # text; protobuf placeOrder and reqIds
async def test_requests_are_what_arrived_decoded_in_order(
    sim: GatewaySimulator, raw_factory: RawFactory, version: int
) -> None:
    raw = raw_factory(sim.port)
    await raw.start(5, hi=version)
    assert raw.conn is not None and raw.conn.version == version
    order = m.PlaceOrder(
        order_id=77, contract=AAPL, action="BUY", total_quantity=Decimal(3), order_type="LMT",
        lmt_price=Decimal("101.5"), tif="DAY", order_ref="kept",
    )  # fmt: skip
    placed = raw.conn.send(order)
    raw.send_bytes(placed)
    # a message id nothing answers, as text in either form
    raw.send_bytes(frame(b"150\0" if version < 201 else struct.pack(">I", 150)))
    raw.send(m.ReqIds(num_ids=1))
    await raw.expect(m.NextValidId, count=2)
    got = sim.requests()
    assert [type(r) for r in got] == [m.StartApi, m.PlaceOrder, UnknownMessage, m.ReqIds]
    assert got[0] == m.StartApi(client_id=5)
    assert got[1] == decode_payload(Direction.IN, placed[4:], version)
    assert (got[1].order_id, got[1].lmt_price, got[1].order_ref) == (77, Decimal("101.5"), "kept")
    assert got[2].msg_id == 150 and got[3] == m.ReqIds(num_ids=1)
    assert sim.requests(kind=m.PlaceOrder) == [got[1]]
    assert sim.requests(kind=m.Message) == [got[0], got[1], got[3]]
    assert sim.requests(kind=UnknownMessage) == [got[2]]
    assert sim.requests(client_id=5) == got[1:]  # startApi was sent before the id was known
    assert sim.requests(client_id=5, kind=m.ReqIds) == [got[3]]
