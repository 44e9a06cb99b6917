"""Which server versions the simulator speaks, and from which version each message travels as
protobuf: the one table both directions of the codec consult.

The numbers are facts of the protocol, read from IB's Python client 10.50 (`ibapi`):

* `server_versions.py`: MIN_SERVER_VER_PROTOBUF = 201 (every message id becomes a 4-byte
  binary integer, `client.py` `sendMsg`: `useRawIntMsgId = serverVersion >= 201`),
  MIN_SERVER_VER_ZERO_STRIKE = 202, MIN_SERVER_VER_PROTOBUF_PLACE_ORDER = 203 ...
  MIN_SERVER_VER_PROTOBUF_REST_MESSAGES_3 = 213, MIN_SERVER_VER_ADD_Z_SUFFIX_TO_UTC_DATE_TIME
  = 214, MAX_CLIENT_VER = 226 (UNIFIED_VERSION_COND_ORDER_WITH_OVERNIGHT_PARAM);
* `common.py` `getServerVersionForMessage(msgId)`: the version from which a *request* goes
  as protobuf (`client.py` `useProtoBuf`: that version <= the negotiated one);
* `common.py` PROTOBUF_MSG_ID = 200 and `client.py` `run()`: an id above 200 is protobuf,
  id - 200 being the message; `comm.py` `make_msg_proto` / `make_msg` frame both kinds.

Replies have no such function in the client: its reader accepts protobuf for every message id
the simulator sends from 201 on (`decoder.py` `msgId2handleInfoProtoBuf`; in 10.50 only
tickEFP, deltaNeutralValidation and the verifyAndAuth replies have no protobuf handler). The
simulator sends a reply as protobuf from the version its request area switches (execDetails
with reqExecutions at 201, ticks with reqMktData at 206, ...), except the replies whose text
layout grew fields after 178, the last version the text rows are written for (errorMsg:
errorTime at 194; contractData: 179, 182, 186; openOrder / completedOrder: 183-199): those are
protobuf from 201, so a text body is never sent in a layout the rows don't know.

For the same reason the simulator does not speak 179..202: there the official client sends
placeOrder, cancelOrder and reqGlobalCancel as text with fields added after 178.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from ibgateway_sim.wire.messages import Direction

# -- server versions (ibapi server_versions.py) ----------------------------------------------
TEXT_MIN_VERSION: Final = 157  # what ib_async 2.1 asks for at least
TEXT_MAX_VERSION: Final = 178  # the newest version the text rows of messages.py describe
PROTOBUF: Final = 201  # MIN_SERVER_VER_PROTOBUF: binary message ids from here on
ZERO_STRIKE: Final = 202  # MIN_SERVER_VER_ZERO_STRIKE: a strike of 0 is a value, sent
PROTOBUF_PLACE_ORDER: Final = 203
PROTOBUF_COMPLETED_ORDER: Final = 204
PROTOBUF_CONTRACT_DATA: Final = 205
PROTOBUF_MARKET_DATA: Final = 206
PROTOBUF_ACCOUNTS_POSITIONS: Final = 207
PROTOBUF_HISTORICAL_DATA: Final = 208
PROTOBUF_NEWS_DATA: Final = 209
PROTOBUF_SCAN_DATA: Final = 210
PROTOBUF_REST_1: Final = 211
PROTOBUF_REST_2: Final = 212
PROTOBUF_REST_3: Final = 213  # startApi, reqIds, reqCurrentTime: all protobuf from here
UTC_Z_SUFFIX: Final = 214  # MIN_SERVER_VER_ADD_Z_SUFFIX_TO_UTC_DATE_TIME
CANCEL_CONTRACT_DATA: Final = 215
CONFIG: Final = 219
UPDATE_CONFIG: Final = 221
MAX_SERVER_VERSION: Final = 226  # ibapi 10.50's MAX_CLIENT_VER; the simulator's newest

PROTOBUF_MSG_ID: Final = 200  # common.py: protobuf message ids are the message id + 200

# the simulator speaks these two ranges; 179..202 are skipped (see the module docstring)
SPOKEN: Final = (
    range(TEXT_MIN_VERSION, TEXT_MAX_VERSION + 1),
    range(PROTOBUF_PLACE_ORDER, MAX_SERVER_VERSION + 1),
)


def is_spoken(version: int) -> bool:
    return any(version in r for r in SPOKEN)


def highest_spoken(top: int) -> int | None:
    """The newest version the simulator speaks that is not above `top`."""
    for r in reversed(SPOKEN):
        if top >= r.start:
            return min(top, r.stop - 1)
    return None


# -- requests: common.py getServerVersionForMessage(msgId), by IB's OUT ids --------------------
_REQUESTS: Final[Mapping[int, int]] = {
    7: PROTOBUF,  # REQ_EXECUTIONS
    3: PROTOBUF_PLACE_ORDER, 4: PROTOBUF_PLACE_ORDER,  # PLACE_ORDER, CANCEL_ORDER
    58: PROTOBUF_PLACE_ORDER,  # REQ_GLOBAL_CANCEL
    5: PROTOBUF_COMPLETED_ORDER, 15: PROTOBUF_COMPLETED_ORDER,  # REQ_OPEN_ORDERS, AUTO_OPEN
    16: PROTOBUF_COMPLETED_ORDER, 99: PROTOBUF_COMPLETED_ORDER,  # ALL_OPEN, COMPLETED_ORDERS
    9: PROTOBUF_CONTRACT_DATA,  # REQ_CONTRACT_DATA
    1: PROTOBUF_MARKET_DATA, 2: PROTOBUF_MARKET_DATA, 10: PROTOBUF_MARKET_DATA,  # mkt data, depth
    11: PROTOBUF_MARKET_DATA, 59: PROTOBUF_MARKET_DATA,  # CANCEL_MKT_DEPTH, REQ_MARKET_DATA_TYPE
    6: PROTOBUF_ACCOUNTS_POSITIONS, 17: PROTOBUF_ACCOUNTS_POSITIONS,  # ACCT_DATA, MANAGED_ACCTS
    61: PROTOBUF_ACCOUNTS_POSITIONS, 64: PROTOBUF_ACCOUNTS_POSITIONS,  # (CANCEL_)POSITIONS
    62: PROTOBUF_ACCOUNTS_POSITIONS, 63: PROTOBUF_ACCOUNTS_POSITIONS,  # account summary
    74: PROTOBUF_ACCOUNTS_POSITIONS, 75: PROTOBUF_ACCOUNTS_POSITIONS,  # positions multi
    76: PROTOBUF_ACCOUNTS_POSITIONS, 77: PROTOBUF_ACCOUNTS_POSITIONS,  # account updates multi
    **dict.fromkeys((20, 25, 50, 51, 87, 90, 88, 89, 96, 97, 98), PROTOBUF_HISTORICAL_DATA),
    **dict.fromkeys((12, 13, 84, 85, 86, 100, 101, 102, 103), PROTOBUF_NEWS_DATA),
    **dict.fromkeys((24, 22, 23, 92, 93, 94, 95), PROTOBUF_SCAN_DATA),  # scanner, PnL
    **dict.fromkeys((18, 19, 21, 54, 56, 55, 57), PROTOBUF_REST_1),  # FA, exercise, calcs
    **dict.fromkeys((78, 79, 80, 81, 83, 91, 104), PROTOBUF_REST_2),  # sec-def ... user info
    # REQ_IDS, REQ_CURRENT_TIME(_IN_MILLIS), START_API, SET_SERVER_LOGLEVEL, verify, display
    # groups, REQ_MKT_DEPTH_EXCHANGES
    **dict.fromkeys((8, 49, 105, 71, 14, 65, 66, 67, 68, 69, 70, 82), PROTOBUF_REST_3),
    # protobuf-only requests (client.py cancelContractData, cancelHistoricalTicks, reqConfig,
    # updateConfig: refused below these versions, never text)
    106: CANCEL_CONTRACT_DATA, 107: CANCEL_CONTRACT_DATA, 108: CONFIG, 109: UPDATE_CONFIG,
}  # fmt: skip

# -- replies: the request area that asks for them (see the module docstring) -------------------
_REPLIES: Final[Mapping[int, int]] = {
    4: PROTOBUF,  # errorMsg: text layout changed at 194 (ERROR_TIME)
    11: PROTOBUF, 55: PROTOBUF, 59: PROTOBUF,  # execDetails(End), commissionReport
    5: PROTOBUF, 101: PROTOBUF,  # openOrder, completedOrder: text layout changed 183..199
    10: PROTOBUF,  # contractData: text layout changed at 179, 182, 186
    # historicalData: its end moved to historicalDataEnd (108) at 196 (HISTORICAL_DATA_END)
    17: PROTOBUF, 108: PROTOBUF,
    3: PROTOBUF_PLACE_ORDER, 53: PROTOBUF_PLACE_ORDER,  # orderStatus, openOrderEnd
    102: PROTOBUF_PLACE_ORDER,  # completedOrdersEnd, with its rows
    52: PROTOBUF_CONTRACT_DATA,  # contractDataEnd
    # tickPrice, tickSize, tickGeneric, tickString, tickSnapshotEnd, marketDataType, tickReqParams,
    # tickOptionComputation (also the option calculators' reply), marketDepth, marketDepthL2,
    # tickNews (a reqMktData subscription's generic tick 292)
    **dict.fromkeys((1, 2, 45, 46, 57, 58, 81, 21, 12, 13, 84), PROTOBUF_MARKET_DATA),
    # account value / portfolio / time / end, managedAccounts, positions, summaries, multis
    **dict.fromkeys((6, 7, 8, 54, 15, 61, 62, 63, 64, 71, 72, 73, 74), PROTOBUF_ACCOUNTS_POSITIONS),
    # historicalDataUpdate, realtimeBar, headTimestamp, histogramData, historicalTicks (midpoint,
    # bid/ask, last), tickByTick, historicalSchedule
    **dict.fromkeys((90, 50, 88, 89, 96, 97, 98, 99, 106), PROTOBUF_HISTORICAL_DATA),
    # newsBulletins, newsArticle, newsProviders, historicalNews(End), wshMetaData, wshEventData
    **dict.fromkeys((14, 83, 85, 86, 87, 104, 105), PROTOBUF_NEWS_DATA),
    **dict.fromkeys((19, 20, 94, 95), PROTOBUF_SCAN_DATA),  # scanner parameters / data, PnL
    16: PROTOBUF_REST_1, 103: PROTOBUF_REST_1,  # receiveFA, replaceFAEnd
    # secDefOptParameter(End), softDollarTiers, familyCodes, symbolSamples, smartComponents,
    # marketRule, userInfo
    **dict.fromkeys((75, 76, 77, 78, 79, 82, 93, 107), PROTOBUF_REST_2),
    9: PROTOBUF_REST_3, 49: PROTOBUF_REST_3,  # nextValidId, currentTime
    # verifyCompleted, displayGroupList, displayGroupUpdated, mktDepthExchanges
    **dict.fromkeys((66, 67, 68, 80), PROTOBUF_REST_3),
}  # fmt: skip

PROTOBUF_SINCE: Final[Mapping[tuple[Direction, int], int]] = {
    **{(Direction.IN, k): v for k, v in _REQUESTS.items()},
    **{(Direction.OUT, k): v for k, v in _REPLIES.items()},
}


def protobuf_since(direction: Direction, msg_id: int) -> int | None:
    """The server version from which this message travels as protobuf; None: text only."""
    return PROTOBUF_SINCE.get((direction, msg_id))


def travels_as_protobuf(direction: Direction, msg_id: int, version: int) -> bool:
    since = PROTOBUF_SINCE.get((direction, msg_id))
    return since is not None and version >= since
