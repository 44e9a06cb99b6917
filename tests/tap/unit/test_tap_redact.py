"""Redaction: account ids, names and order refs get stable stand-ins in fields and raw frame."""

from __future__ import annotations

import io
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from horizon.tap.decode import ConnectionDecoder, EventKind, WireEvent
from horizon.tap.recording import RecordingWriter, frame_of
from horizon.tap.redact import Redactor
from horizon.tap.wire import Direction, decode_payload
from horizon.venues.ibkr.simulator import messages as m
from horizon.venues.ibkr.simulator.codec import (
    encode,
    encode_fields,
    encode_hello,
    frame_fields,
)

IN, OUT = Direction.IN, Direction.OUT


def session() -> ConnectionDecoder:
    dec = ConnectionDecoder()
    dec.feed(IN, encode_hello(157, 178), 1.0)
    dec.feed(OUT, frame_fields(["178", "20250115 09:30:00 EST"]), 1.0)
    dec.feed(IN, encode(m.StartApi(client_id=1)), 1.0)
    return dec


def one(dec: ConnectionDecoder, direction: Direction, msg: m.Message) -> WireEvent:
    [event] = dec.feed(direction, encode(msg), 2.0)
    return event


def test_accounts_get_stand_ins_that_keep_paper_and_live_apart() -> None:
    dec, red = session(), Redactor()
    event = one(dec, OUT, m.ManagedAccounts(accounts="DU1234567,U7654321,DU2222222"))
    out = red.redact(event)
    assert isinstance(out.message, m.ManagedAccounts)
    assert out.message.accounts == "DU0000001,U0000001,DU0000002"
    assert out.raw == encode(m.ManagedAccounts(accounts="DU0000001,U0000001,DU0000002"))
    assert b"DU1234567" in event.raw  # the event as forwarded is untouched
    order = one(dec, IN, m.PlaceOrder(order_id=5, action="BUY", account="DU2222222"))
    assert red.redact(order).message.account == "DU0000002"  # type: ignore[union-attr]
    assert red.stand_in("U7654321") == "U0000001"


def test_only_the_redacted_fields_change_in_the_raw_frame() -> None:
    dec, red = session(), Redactor()
    order = m.PlaceOrder(order_id=6, action="BUY", total_quantity=Decimal(10), order_type="MKT",
                         account="DU1234567")
    fields = encode_fields(order)
    # ibapi writes an unset price as the max double; the codec would write "": it must stay
    fields[fields.index("MKT") + 1] = "1.7976931348623157e+308"
    [event] = dec.feed(IN, frame_fields(fields), 2.0)
    out = red.redact(event)
    expected = [("DU0000001" if f == "DU1234567" else f) for f in fields]
    assert out.fields == tuple(expected) and out.raw == frame_fields(expected)


def test_order_refs_and_names_are_replaced_where_they_stand() -> None:
    dec, red = session(), Redactor()
    placed = red.redact(one(dec, IN, m.PlaceOrder(order_id=5, order_ref="alice-hedge-7")))
    fill = red.redact(one(dec, OUT, m.ExecDetails(order_id=5, order_ref="alice-hedge-7",
                                                  acct_number="DU1234567")))
    assert placed.message.order_ref == "ref0000001"  # type: ignore[union-attr]
    assert fill.message.order_ref == "ref0000001"  # type: ignore[union-attr]
    assert fill.message.acct_number == "DU0000001"  # type: ignore[union-attr]
    name = red.redact(one(dec, OUT, m.AccountSummary(req_id=1, account="DU1234567",
                                                     tag="AccountAlias", value="Alice Smith")))
    assert name.message.value == "name0000001"  # type: ignore[union-attr]
    for tag, value in (("AccountType", "INDIVIDUAL"), ("NetLiquidation", "1000.00"),
                       ("Currency", "USD"), ("AccountReady", "true"), ("Cushion", "-1")):
        kept = red.redact(one(dec, OUT, m.AccountSummary(req_id=1, tag=tag, value=value)))
        assert kept.message.value == value  # type: ignore[union-attr]


def test_an_account_code_value_and_free_text_are_covered() -> None:
    dec, red = session(), Redactor()
    code = red.redact(one(dec, OUT, m.UpdateAccountValue(key="AccountCode", value="U9876543",
                                                         account="U9876543")))
    assert code.message.value == code.message.account == "U0000001"  # type: ignore[union-attr]
    text = "Order rejected - reason: account U9876543 has no trading permission"
    err = red.redact(one(dec, OUT, m.ErrorMsg(req_id=5, code=201, text=text)))
    assert err.message.text == text.replace("U9876543", "U0000001")  # type: ignore[union-attr]
    [raw] = dec.feed(OUT, b"\xff\xff\xff\xffU9876543 garbage", 3.0)
    assert raw.kind is EventKind.RAW and red.redact(raw).raw == b"\xff\xff\xff\xffU0000001 garbage"


def test_an_id_that_is_a_prefix_of_another_does_not_eat_into_it() -> None:
    red = Redactor()
    red.learn(["U123", "U1234"])
    dec = session()
    out = red.redact(one(dec, OUT, m.ManagedAccounts(accounts="U1234,U123")))
    assert out.message.accounts == "U0000002,U0000001"  # type: ignore[union-attr]


# ---- the property: no original account id anywhere in a recorded line ------------------------

account_ids = st.builds(
    lambda prefix, first, rest: f"{prefix}{first}{rest}",
    st.sampled_from(["DU", "U", "DF", "F"]),
    st.integers(1, 9),
    st.text(alphabet="0123456789", min_size=6, max_size=7),
)


@given(accounts=st.lists(account_ids, min_size=1, max_size=4, unique=True), data=st.data())
def test_no_account_id_reaches_the_recording(accounts: list[str], data: st.DataObject) -> None:
    pick = st.sampled_from(accounts)
    messages: list[tuple[Direction, m.Message]] = [
        (OUT, m.ManagedAccounts(accounts=",".join(accounts))),
        (IN, m.PlaceOrder(order_id=7, action="BUY", total_quantity=Decimal(1),
                          account=data.draw(pick), clearing_account=data.draw(pick))),
        (OUT, m.OpenOrder(order_id=7, account=data.draw(pick), status="Submitted")),
        (OUT, m.ExecDetails(req_id=-1, order_id=7, exec_id="0001.01", acct_number=data.draw(pick),
                            shares=Decimal(1), price=Decimal("190.01"))),
        (OUT, m.Position(account=data.draw(pick), position=Decimal(1))),
        (OUT, m.AccountSummary(req_id=3, account=data.draw(pick), tag="AccountCode",
                               value=data.draw(pick))),
        (OUT, m.ErrorMsg(req_id=7, code=201, text=f"rejected for {data.draw(pick)}")),
        (IN, m.ReqAccountUpdates(subscribe=True, acct_code=data.draw(pick))),
    ]
    dec, red, out = session(), Redactor(), io.StringIO()
    writer = RecordingWriter(out, redacted=True)
    for direction, msg in messages:
        for event in dec.feed(direction, encode(msg), 2.0):
            redacted = red.redact(event)
            writer.frame(frame_of(redacted, 1))
            assert decode_payload(direction, redacted.payload, 178).message == redacted.message
    lines = out.getvalue().splitlines()[1:]
    assert len(lines) == len(messages)
    for line in lines:
        for account in accounts:
            assert account not in line, (account, line)
