"""The rest: reqCurrentTime (the gateway's clock, in epoch seconds); setServerLogLevel (TWS
answers nothing); the display groups of TWS's window linking (seven groups, each showing no
contract until a client sets one); and API verification, which only IB-approved third-party
applications use (refused: verifyCompleted with isSuccessful false); reqConfig and updateConfig
(protobuf only, from 219 and 221), TWS's own settings, which the simulator does not model:
refused with error 320 under their request id."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Final

from ibgateway_sim.gateway.codes import READ_ERROR, TEXT_READ_ERROR
from ibgateway_sim.gateway.handlers.base import Handler, ignore
from ibgateway_sim.gateway.session import Session
from ibgateway_sim.wire import messages as m

DISPLAY_GROUPS: Final = "1|2|3|4|5|6|7"
NO_CONTRACT: Final = "none"
TEXT_NO_VERIFICATION: Final = "API verification is not supported by this gateway"


class MiscHandlers:
    def __init__(self, *, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._groups: dict[Session, dict[int, int]] = {}  # reqId -> group id, per connection
        self._shown: dict[int, str] = {}  # group id -> the contract it shows

    @property
    def handlers(self) -> Mapping[type, Handler]:
        return {
            m.ReqCurrentTime: self._on_current_time,
            m.SetServerLogLevel: ignore,
            m.QueryDisplayGroups: self._on_query_groups,
            m.SubscribeToGroupEvents: self._on_subscribe_group,
            m.UpdateDisplayGroup: self._on_update_group,
            m.UnsubscribeFromGroupEvents: self._on_unsubscribe_group,
            m.VerifyRequest: self._on_verify,
            m.VerifyMessage: self._on_verify,
            m.VerifyAndAuthRequest: self._on_verify,
            m.VerifyAndAuthMessage: self._on_verify,
            m.ReqConfig: self._on_config,
            m.UpdateConfig: self._on_config,
        }

    def forget(self, session: Session) -> None:
        self._groups.pop(session, None)

    def _on_current_time(self, s: Session, msg: m.ReqCurrentTime) -> None:
        s.send(m.CurrentTime(time=int(self._clock())))

    def _on_query_groups(self, s: Session, msg: m.QueryDisplayGroups) -> None:
        s.send(m.DisplayGroupList(req_id=msg.req_id, groups=DISPLAY_GROUPS))

    def _on_subscribe_group(self, s: Session, msg: m.SubscribeToGroupEvents) -> None:
        self._groups.setdefault(s, {})[msg.req_id] = msg.group_id
        shown = self._shown.get(msg.group_id, NO_CONTRACT)
        s.send(m.DisplayGroupUpdated(req_id=msg.req_id, contract_info=shown))

    def _on_update_group(self, s: Session, msg: m.UpdateDisplayGroup) -> None:
        """The group of that subscription now shows the contract; every subscriber hears."""
        group = self._groups.get(s, {}).get(msg.req_id)
        if group is None:
            return
        self._shown[group] = msg.contract_info
        for other, subs in self._groups.items():
            for req_id, g in subs.items():
                if g == group:
                    other.send(m.DisplayGroupUpdated(req_id=req_id,
                                                     contract_info=msg.contract_info))  # fmt: skip

    def _on_unsubscribe_group(self, s: Session, msg: m.UnsubscribeFromGroupEvents) -> None:
        self._groups.get(s, {}).pop(msg.req_id, None)

    def _on_verify(self, s: Session, msg: object) -> None:
        s.send(m.VerifyCompleted(is_successful=False, error_text=TEXT_NO_VERIFICATION))

    def _on_config(self, s: Session, msg: m.ReqConfig | m.UpdateConfig) -> None:
        s.send_error(msg.req_id, READ_ERROR, TEXT_READ_ERROR)
