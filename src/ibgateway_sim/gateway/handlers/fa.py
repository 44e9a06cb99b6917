"""Financial-advisor configuration: requestFA (groups 1 or aliases 3; profiles, 2, are gone
since IB merged them into groups) and replaceFA (answered with replaceFAEnd). Only an advisor
login (a master account among the managed ones) has FA data; others get TWS's 321."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final
from xml.sax.saxutils import escape

from ibgateway_sim.engine import Engine
from ibgateway_sim.engine.allocation import is_master
from ibgateway_sim.gateway.handlers.base import Handler
from ibgateway_sim.gateway.session import Session
from ibgateway_sim.gateway.validation import NON_FA, VALIDATION, validation_text
from ibgateway_sim.wire import messages as m

GROUPS, PROFILES, ALIASES = 1, 2, 3
XML_HEAD: Final = '<?xml version="1.0" encoding="UTF-8"?>'
REPLACED_TEXT: Final = "FA data has been replaced"  # unverified against a capture


def groups_xml(groups: Mapping[str, tuple[str, ...]]) -> str:
    body = "".join(
        f"<Group><name>{escape(name)}</name><ListOfAccts varName=\"list\">"
        + "".join(f"<String>{escape(a)}</String>" for a in accounts)
        + "</ListOfAccts><defaultMethod>NetLiq</defaultMethod></Group>"
        for name, accounts in groups.items()
    )
    return f'{XML_HEAD}<ListOfGroups varName="list">{body}</ListOfGroups>'


def aliases_xml(accounts: tuple[str, ...]) -> str:
    body = "".join(
        f"<AccountAlias><account>{escape(a)}</account><alias>{escape(a)}</alias></AccountAlias>"
        for a in accounts
    )
    return f"{XML_HEAD}<ListOfAccountAliases>{body}</ListOfAccountAliases>"


class FaHandlers:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    @property
    def handlers(self) -> Mapping[type, Handler]:
        return {m.RequestFA: self._on_request, m.ReplaceFA: self._on_replace}

    def forget(self, session: Session) -> None:
        """Nothing is kept per connection."""

    def _advisor(self) -> bool:
        return any(is_master(a) for a in self._engine.accounts)

    def _on_request(self, s: Session, msg: m.RequestFA) -> None:
        if not self._advisor() or msg.fa_data_type not in (GROUPS, ALIASES):
            s.send_error(-1, VALIDATION, validation_text(NON_FA))
            return
        fa = self._engine.fa
        xml = groups_xml(fa.groups) if msg.fa_data_type == GROUPS else aliases_xml(fa.accounts)
        s.send(m.ReceiveFA(fa_data_type=msg.fa_data_type, cxml=xml))

    def _on_replace(self, s: Session, msg: m.ReplaceFA) -> None:
        if not self._advisor():
            s.send_error(msg.req_id, VALIDATION, validation_text(NON_FA))
            return
        # the simulator keeps its configured groups: replacing them is acknowledged only
        s.send(m.ReplaceFAEnd(req_id=msg.req_id, text=REPLACED_TEXT))
