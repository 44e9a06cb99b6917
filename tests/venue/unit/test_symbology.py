"""Market id <-> contract, both directions, and the round-trip law between them."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from ib_async import Contract, Forex, Future, Option, Stock

from horizon.core import OrderAction
from horizon.errors import InvalidMarketId, InvalidOrder
from horizon.venues.ibkr.mapping.orders import check_combo, to_ib_order
from horizon.venues.ibkr.mapping.symbology import (
    canonical_market_id,
    combo_contract,
    combo_legs,
    combo_market_id_of,
    market_id_of,
    parse_market_id,
)

# ------------------------------------------------------------------------------ the spec's table


def test_stock() -> None:
    c = parse_market_id("AAPL")
    assert c == Stock("AAPL", "SMART", "USD")
    assert type(c) is Stock


def test_option() -> None:
    c = parse_market_id("OPT:AAPL:20260619:180:C")
    assert c == Option(
        symbol="AAPL",
        lastTradeDateOrContractMonth="20260619",
        strike=180.0,
        right="C",
        exchange="SMART",
        currency="USD",
        multiplier="100",
    )
    assert type(c) is Option


def test_future() -> None:
    c = parse_market_id("FUT:ES:202503:CME")
    assert c == Future(
        symbol="ES", lastTradeDateOrContractMonth="202503", exchange="CME", currency="USD"
    )
    assert type(c) is Future


def test_forex() -> None:
    c = parse_market_id("FX:EUR.USD")
    assert c == Forex("EURUSD")
    assert (c.symbol, c.currency, c.exchange, c.secType) == ("EUR", "USD", "IDEALPRO", "CASH")


# ------------------------------------------------------------------------------ normalisation


@pytest.mark.parametrize(
    ("given_id", "canonical"),
    [
        ("AAPL", "AAPL"),
        ("aapl", "AAPL"),
        ("BRK B", "BRK B"),
        ("stk:aapl", "AAPL"),
        ("STK:AAPL:USD", "AAPL"),
        ("STK:sap:eur", "STK:SAP:EUR"),
        ("OPT:AAPL:20260619:180:C", "OPT:AAPL:20260619:180:C"),
        ("opt:aapl:20260619:180.0:call", "OPT:AAPL:20260619:180:C"),
        ("OPT:AAPL:20260619:182.50:put", "OPT:AAPL:20260619:182.5:P"),
        ("OPT:AAPL:20260619:1.8E+2:C", "OPT:AAPL:20260619:180:C"),
        ("OPT:AAPL:20260619:0.5:P", "OPT:AAPL:20260619:0.5:P"),
        ("OPT:SAP:20260619:180:C:EUR", "OPT:SAP:20260619:180:C:EUR"),
        ("OPT:AAPL:20260619:180:C:usd", "OPT:AAPL:20260619:180:C"),
        ("fut:es:202503:cme", "FUT:ES:202503:CME"),
        ("FUT:FGBL:202503:EUREX:EUR", "FUT:FGBL:202503:EUREX:EUR"),
        ("fx:eur.usd", "FX:EUR.USD"),
        ("FX:EURUSD", "FX:EUR.USD"),
        ("ind:SPX:416904", "IND:SPX:416904"),
    ],
)
def test_canonical_form(given_id: str, canonical: str) -> None:
    assert canonical_market_id(given_id) == canonical
    # canonical is a fixed point, and names the same contract
    assert canonical_market_id(canonical) == canonical
    assert parse_market_id(canonical) == parse_market_id(given_id)


def test_non_usd_variants() -> None:
    assert parse_market_id("STK:SAP:EUR") == Stock("SAP", "SMART", "EUR")
    assert parse_market_id("FUT:FGBL:202503:EUREX:EUR").currency == "EUR"
    assert parse_market_id("OPT:SAP:20260619:180:C:EUR").currency == "EUR"


def test_opaque_id_parses_to_a_conid_only_contract() -> None:
    c = parse_market_id("IND:SPX:416904")
    assert c == Contract(secType="IND", conId=416904)
    assert c.symbol == ""  # the label is for humans; IB resolves the conId


# ------------------------------------------------------------------------------ refusals


@pytest.mark.parametrize(
    ("bad", "part"),
    [
        ("", "market_id"),
        (" AAPL", "market_id"),
        ("AAPL ", "market_id"),
        ("AA$PL", "symbol"),
        ("TOOLONGSYMBOL", "symbol"),
        ("BRK  B", "symbol"),
        ("OPT:AAPL :20260619:180:C", "symbol"),
        ("STK: AAPL", "symbol"),
        ("BRK -", "symbol"),
        ("-AAPL", "symbol"),
        ("STK::USD", "symbol"),
        ("STK:AAPL:US", "currency"),
        ("BOND:X:Y", "kind"),
        ("XYZ:AAPL", "kind"),
        (":AAPL", "kind"),
        ("OPT:AAPL:20260619:180", "format"),
        ("OPT:AAPL:20260619", "format"),  # not read as conId 20260619
        ("OPT:AAPL:20260619:180:C:USD:X", "format"),
        ("OPT:AAPL:2026061:180:C", "expiry"),
        ("OPT:AAPL:20260231:180:C", "expiry"),
        ("OPT:AAPL:2026-06-19:180:C", "expiry"),
        ("OPT:AAPL:20261301:180:C", "expiry"),
        ("OPT:AAPL:20260619:abc:C", "strike"),
        ("OPT:AAPL:20260619:0:C", "strike"),
        ("OPT:AAPL:20260619:-5:C", "strike"),
        ("OPT:AAPL:20260619:NaN:C", "strike"),
        ("OPT:AAPL:20260619:Infinity:C", "strike"),
        ("OPT:AAPL:20260619:180.0000000000000001:C", "strike"),
        ("OPT:AAPL:20260619:180:X", "right"),
        ("OPT:AAPL:20260619:180:", "right"),
        ("OPT:AAPL:20260619:180:C:DOLLAR", "currency"),
        ("FUT:ES:202503", "format"),  # exchange forgotten: not read as conId 202503
        ("FUT:ES:2025:CME", "expiry"),
        ("FUT:ES:202513:CME", "expiry"),
        ("FUT:ES:202500:CME", "expiry"),
        ("FUT:ES:20250321:CME", "expiry"),
        ("FUT:ES:202503:", "exchange"),
        ("FUT:ES:202503:C M E", "exchange"),
        ("FUT:ES:202503:1CME", "exchange"),
        ("FX:EUR", "pair"),
        ("FX:EUR.US", "pair"),
        ("FX:EUR.EUR", "pair"),
        ("FX:EU1.USD", "pair"),
        ("FX:EUR.USD:X", "format"),
        ("IND:SPX:0", "conid"),
    ],
)
def test_malformed_ids_name_the_bad_part(bad: str, part: str) -> None:
    with pytest.raises(InvalidMarketId) as info:
        parse_market_id(bad)
    assert info.value.part == part
    assert info.value.market_id == bad
    assert part in str(info.value)
    with pytest.raises(InvalidMarketId):
        canonical_market_id(bad)


def test_non_string_refused() -> None:
    with pytest.raises(InvalidMarketId):
        parse_market_id(123)  # type: ignore[arg-type]


# ------------------------------------------------------------------------------ reverse direction


def test_market_id_of_qualified_contracts() -> None:
    stk = Stock("AAPL", "SMART", "USD", conId=265598, primaryExchange="NASDAQ")
    assert market_id_of(stk) == "AAPL"
    assert market_id_of(Stock("SAP", "IBIS", "EUR", conId=14204)) == "STK:SAP:EUR"
    opt = Option(
        "AAPL", "20260619", 182.5, "C", "SMART", "100", "USD",
        conId=1, localSymbol="AAPL  260619C00182500",
    )  # fmt: skip
    assert market_id_of(opt) == "OPT:AAPL:20260619:182.5:C"
    # IB reports rights as CALL/PUT in some messages
    opt_put = Option("AAPL", "20260619", 180.0, "PUT", "SMART", "100", "USD", conId=2)
    assert market_id_of(opt_put) == "OPT:AAPL:20260619:180:P"
    fut = Future("ES", "20250321", "CME", localSymbol="ESH5", currency="USD", conId=3)
    assert market_id_of(fut) == "FUT:ES:202503:CME"
    fut_primary = Future("ES", "202503", "", currency="USD", conId=3, primaryExchange="CME")
    assert market_id_of(fut_primary) == "FUT:ES:202503:CME"
    assert market_id_of(Forex("GBPJPY", conId=4)) == "FX:GBP.JPY"


def test_market_id_of_falls_back_to_the_opaque_form() -> None:
    ind = Contract(secType="IND", symbol="SPX", exchange="CBOE", currency="USD", conId=416904)
    assert market_id_of(ind) == "IND:SPX:416904"
    fop = Contract(secType="FOP", symbol="ES", localSymbol="ESH5 C5000", conId=77)
    assert market_id_of(fop) == "FOP:ESH5 C5000:77"
    # a future without an exchange (as in position reports) cannot get the readable form
    bare_fut = Future("ES", "202503", "", localSymbol="ESH5", currency="USD", conId=3)
    assert market_id_of(bare_fut) == "FUT:ESH5:3"


def test_opaque_id_round_trips_once_qualified() -> None:
    parsed = parse_market_id("IND:SPX:416904")
    qualified = Contract(
        secType=parsed.secType, conId=parsed.conId, symbol="SPX", localSymbol="SPX",
        exchange="CBOE", currency="USD",
    )  # fmt: skip
    assert market_id_of(qualified) == canonical_market_id("IND:SPX:416904")


# ------------------------------------------------------------------------------ the law

_letters = st.sampled_from("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
_alnum = st.sampled_from("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")


@st.composite
def symbols(draw: st.DrawFn) -> str:
    head = draw(_alnum)
    tail = draw(st.lists(st.one_of(_alnum, st.sampled_from(".-/")), max_size=6))
    sym = head + "".join(tail)
    if draw(st.booleans()) and len(sym) <= 9:
        sym += " " + draw(_alnum)  # "BRK B"
    return sym


def _case(draw: st.DrawFn, s: str) -> str:
    return s.lower() if draw(st.booleans()) else s


currencies = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=3, max_size=3)


@st.composite
def stock_ids(draw: st.DrawFn) -> str:
    sym = draw(symbols())
    form = draw(st.sampled_from(["plain", "stk", "stk_cur"]))
    if form == "plain":
        return _case(draw, sym)
    if form == "stk":
        return f"{_case(draw, 'STK')}:{sym}"
    return f"STK:{sym}:{_case(draw, draw(currencies))}"


@st.composite
def option_ids(draw: st.DrawFn) -> str:
    sym = draw(symbols())
    expiry = draw(st.dates(date(1990, 1, 1), date(2099, 12, 31))).strftime("%Y%m%d")
    strike = draw(st.decimals(min_value=Decimal("0.01"), max_value=Decimal("99999"), places=2))
    text = draw(st.sampled_from([str(strike), f"{strike:.4f}", format(strike.normalize(), "f")]))
    right = draw(st.sampled_from(["C", "P", "c", "p", "CALL", "put"]))
    cur = draw(st.sampled_from(["", ":USD", ":EUR", ":eur"]))
    return f"{_case(draw, 'OPT')}:{sym}:{expiry}:{text}:{right}{cur}"


@st.composite
def future_ids(draw: st.DrawFn) -> str:
    sym = draw(symbols())
    year = draw(st.integers(1990, 2099))
    month = draw(st.integers(1, 12))
    exch = draw(_letters) + "".join(draw(st.lists(_alnum, max_size=7)))
    cur = draw(st.sampled_from(["", ":USD", ":JPY"]))
    return f"{_case(draw, 'FUT')}:{sym}:{year:04d}{month:02d}:{_case(draw, exch)}{cur}"


@st.composite
def forex_ids(draw: st.DrawFn) -> str:
    base = draw(currencies)
    quote = draw(currencies.filter(lambda q: q != base))
    sep = draw(st.sampled_from([".", ""]))
    return f"{_case(draw, 'FX')}:{_case(draw, base)}{sep}{quote}"


readable_ids = st.one_of(stock_ids(), option_ids(), future_ids(), forex_ids())


@given(readable_ids)
def test_law_market_id_of_parse_is_canonical(market_id: str) -> None:
    assert market_id_of(parse_market_id(market_id)) == canonical_market_id(market_id)


@given(readable_ids)
def test_canonical_is_idempotent_and_names_the_same_contract(market_id: str) -> None:
    canonical = canonical_market_id(market_id)
    assert canonical_market_id(canonical) == canonical
    assert parse_market_id(canonical) == parse_market_id(market_id)


@given(st.text(max_size=30))
def test_arbitrary_text_parses_or_raises_invalid_market_id(text: str) -> None:
    try:
        canonical = canonical_market_id(text)
    except InvalidMarketId as exc:
        assert exc.part
        return
    assert canonical_market_id(canonical) == canonical


@pytest.mark.parametrize(
    ("typed", "canonical"),
    [
        ("aapl", "AAPL"),
        ("fx:eur.usd", "FX:EUR.USD"),
        ("STK:AAPL", "AAPL"),
        ("FX:EURUSD", "FX:EUR.USD"),
        ("OPT:AAPL:20260619:180.0:CALL", "OPT:AAPL:20260619:180:C"),
        ("FUT:ES:202503:CME:USD", "FUT:ES:202503:CME"),
    ],
)
def test_the_readmes_accepted_spellings_normalise_as_it_says(typed: str, canonical: str) -> None:
    assert canonical_market_id(typed) == canonical


# ------------------------------------------------------------------ combos
def test_a_combo_id_has_one_canonical_spelling() -> None:
    typed = "COMBO:+1 opt:aapl:20260619:180.0:c,-1 OPT:AAPL:20260619:190:C"
    assert canonical_market_id(typed) == (
        "COMBO:+1 OPT:AAPL:20260619:180:C,-1 OPT:AAPL:20260619:190:C"
    )
    legs = combo_legs("COMBO:+1 AAPL,-2 STK:SAP:EUR")
    assert [(leg.market_id, leg.ratio, leg.same_side) for leg in legs] == [
        ("AAPL", 1, True), ("STK:SAP:EUR", 2, False),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("market_id", "part"),
    [
        ("COMBO:+1 AAPL", "legs"),  # one leg is not a combo
        ("COMBO:+1 AAPL,+1 AAPL", "legs"),  # the same leg twice
        ("COMBO:1 AAPL,-1 MSFT", "leg 1"),  # the sign is required
        ("COMBO:+0 AAPL,-1 MSFT", "leg 1"),  # ratios are positive
        ("COMBO:+1AAPL,-1 MSFT", "leg 1"),
        ("COMBO:+1 AAPL,-1 COMBO:+1 A,-1 B", "leg 2"),
        ("COMBO:+1 AAPL,-1 OPT:AAPL:2026", "format"),  # a bad leg names its own part
    ],
)
def test_bad_combo_ids_name_the_part(market_id: str, part: str) -> None:
    with pytest.raises(InvalidMarketId) as err:
        canonical_market_id(market_id)
    assert err.value.part == part


def test_the_bag_is_built_from_qualified_legs_and_read_back() -> None:
    c180 = Contract(secType="OPT", conId=11, symbol="AAPL", exchange="SMART", currency="USD")
    c190 = Contract(secType="OPT", conId=12, symbol="AAPL", exchange="SMART", currency="USD")
    specs = combo_legs("COMBO:+1 OPT:AAPL:20260619:180:C,-1 OPT:AAPL:20260619:190:C")
    bag = combo_contract(list(zip((c180, c190), specs, strict=True)))
    assert (bag.secType, bag.symbol, bag.exchange, bag.currency) == ("BAG", "AAPL", "SMART", "USD")
    assert [(leg.conId, leg.ratio, leg.action) for leg in bag.comboLegs] == [
        (11, 1, "BUY"), (12, 1, "SELL"),
    ]  # fmt: skip
    names = {11: specs[0].market_id, 12: specs[1].market_id}
    assert combo_market_id_of(bag, names.get) == (
        "COMBO:+1 OPT:AAPL:20260619:180:C,-1 OPT:AAPL:20260619:190:C"
    )
    assert combo_market_id_of(bag, {11: "x"}.get) is None  # a leg never seen: no guess
    eur = Contract(secType="STK", conId=13, symbol="SAP", exchange="SMART", currency="EUR")
    with pytest.raises(InvalidMarketId):
        combo_contract([(c180, specs[0]), (eur, specs[1])])


def test_a_combo_limit_may_be_a_credit_and_only_market_or_limit() -> None:
    credit = OrderAction(
        market_id="COMBO:+1 AAPL,-1 MSFT", side="buy", quantity=1, order_type="limit",
        limit_price="-0.50",
    )  # fmt: skip
    check_combo(credit)
    assert to_ib_order(credit, account="DU1").lmtPrice == -0.5
    assert credit.limit_price == Decimal("-0.50")
    with pytest.raises(InvalidOrder):
        OrderAction(market_id="AAPL", side="buy", quantity=1, order_type="limit",
                    limit_price="-0.50")  # fmt: skip
    stop = OrderAction(
        market_id="COMBO:+1 AAPL,-1 MSFT", side="buy", quantity=1, order_type="stop",
        stop_price="1",
    )  # fmt: skip
    with pytest.raises(InvalidOrder) as err:
        check_combo(stop)
    assert err.value.field == "order_type"
