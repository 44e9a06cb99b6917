"""TicketDesk: brackets, OCO sets and FA block allocation, placed whole or not at all.

The linked Orders are built in `mapping.tickets` / `mapping.allocation`; every leg goes out
through the order tracker's one placement path. A ticket goes live as one unit (all legs but
the last held with transmit=False, the last transmitting), is taken back whole if the
connection drops between its legs, and is watched after it is placed: a sibling the gateway
leaves working after a fill that should have cancelled it is cancelled by the venue.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Final

from ib_async import Contract

from horizon.core.enums import OrderStatus
from horizon.core.types import OrderAction
from horizon.errors import HorizonError, InvalidOrder, UnknownTicket
from horizon.venues.ibkr.changes import Changes
from horizon.venues.ibkr.connection import Connection
from horizon.venues.ibkr.instruments import Instruments
from horizon.venues.ibkr.mapping.allocation import (
    Allocation,
    apply_allocation,
    block_actions,
    split_block,
)
from horizon.venues.ibkr.mapping.orders import to_ib_order
from horizon.venues.ibkr.mapping.tickets import (
    Leg,
    LegRole,
    Ticket,
    TicketKind,
    bracket_legs,
    check_oca_type,
    oco_legs,
)
from horizon.venues.ibkr.order_record import LOST_BEFORE_ACK, OrderRecord
from horizon.venues.ibkr.order_tracker import OrderTracker
from horizon.venues.ibkr.resilience import ConnectionEvent, ConnectionState

log = logging.getLogger("horizon.venues.ibkr")

# how long the gateway has to cancel a filled leg's siblings before the venue does it
OCA_GRACE: Final = 1.0


class TicketDesk:
    """The tickets of one venue."""

    def __init__(
        self,
        connection: Connection,
        instruments: Instruments,
        tracker: OrderTracker,
        changes: Changes,
    ) -> None:
        self._connection = connection
        self._instruments = instruments
        self._tracker = tracker
        self._changes = changes
        self._tickets: dict[str, Ticket] = {}
        # legs of tickets cut short (placement failed half way) not yet known to be cancelled
        self._leftovers: list[list[OrderRecord]] = []
        connection.add_listener(self._on_connection)

    # ------------------------------------------------------------------ lookups
    def ticket(self, ticket_id: str) -> Ticket:
        """The ticket (kind, legs' order ids and roles) of a bracket or OCO submission."""
        try:
            return self._tickets[ticket_id]
        except (KeyError, TypeError):
            raise UnknownTicket(
                str(ticket_id),
                "not known to this venue; use an id returned by submit_bracket() or submit_oco()",
            ) from None

    def legs(self, ticket_id: str) -> list[str]:
        return list(self.ticket(ticket_id).order_ids)

    def _records(self, ticket: Ticket) -> list[OrderRecord]:
        """The legs' records, without those forgotten (order_history): finished long ago."""
        return [r for i in ticket.order_ids if (r := self._tracker.known(i)) is not None]

    # ------------------------------------------------------------------ placing
    def _check_leg_ticks(self, contract: Contract, legs: Sequence[Leg]) -> None:
        for leg in legs:
            own = leg.role in (LegRole.ENTRY, LegRole.OCO)
            self._instruments.check_ticks(
                contract.conId,
                {
                    (name if own else leg.role.value): getattr(leg.action, name)
                    for name in ("limit_price", "stop_price")
                    if getattr(leg.action, name) is not None
                },
            )

    async def _place(
        self, contract: Contract, leg: Leg, *, account: str, remaining: Decimal | None = None
    ) -> OrderRecord:
        return await self._tracker.place(
            contract,
            leg.order,
            action=leg.action,
            account=account,
            remaining=remaining,
            role=leg.role.value,
            parent_id=leg.order.parentId,
            oca_group=leg.order.ocaGroup,
            transmit=leg.order.transmit,
        )

    async def _place_all(
        self, placements: Sequence[tuple[Contract, Leg, str]]
    ) -> list[OrderRecord]:
        """Place every leg in order; if one fails, take back those already sent."""
        records: list[OrderRecord] = []
        try:
            for contract, leg, account in placements:
                records.append(await self._place(contract, leg, account=account))
        except (HorizonError, ConnectionError):
            # the legs sent so far are held untransmitted at the gateway: take them back
            await self._abandon(records)
            raise
        return records

    async def submit_bracket(
        self, entry: OrderAction, take_profit: Decimal, stop_loss: Decimal
    ) -> str:
        """Place entry + take-profit (limit) + stop-loss (stop) as one ticket; its id.

        Everything is checked (prices in order, tick grid, account, contract) before the first
        order goes out. The entry and take-profit are sent with transmit=False and the
        stop-loss with transmit=True, so the gateway releases the three together. The legs'
        order ids are `ticket_legs(ticket_id)` (entry, take_profit, stop_loss).
        """
        account = self._connection.account_for(entry.account)
        contract = await self._instruments.qualify(entry.market_id)
        watched = await self._instruments.watched([entry])
        ib = await self._connection.ready()
        ids = self._tracker.allocate_ids(ib, 3)  # local, not a request
        legs = bracket_legs(
            entry, take_profit, stop_loss, account=account, order_ids=ids, watched=watched
        )
        self._check_leg_ticks(contract, legs)
        records = await self._place_all([(contract, leg, account) for leg in legs])
        ticket = Ticket(
            ticket_id=f"bracket-{records[0].order_id}",
            kind=TicketKind.BRACKET,
            order_ids=tuple(str(r.order_id) for r in records),
            roles=tuple(leg.role for leg in legs),
            market_ids=(records[0].market_id,),
        )
        self._register(ticket)
        log.info(
            "bracket submitted",
            extra={"ticket_id": ticket.ticket_id, "order_ids": ticket.order_ids},
        )
        return ticket.ticket_id

    async def submit_oco(self, actions: Sequence[OrderAction], *, oca_type: int = 1) -> str:
        """Place `actions` in one OCA group as one ticket; its id.

        oca_type 1: the first fill cancels the others; 2 / 3: the others shrink by each fill
        (with / without block). The group name is unique per ticket.
        """
        check_oca_type(oca_type)
        actions = list(actions)
        accounts = [self._connection.account_for(a.account) for a in actions]
        contracts = [await self._instruments.qualify(a.market_id) for a in actions]
        watched = await self._instruments.watched(actions)
        ib = await self._connection.ready()
        ids = self._tracker.allocate_ids(ib, len(actions))
        group = f"hz-{self._connection.client_id}-{ids[0] if ids else 0}-{secrets.token_hex(3)}"
        legs = oco_legs(
            actions,
            account=accounts[0] if accounts else "",
            order_ids=ids,
            oca_group=group,
            oca_type=oca_type,
            watched=watched,
        )
        for contract, leg, account in zip(contracts, legs, accounts, strict=True):
            leg.order.account = account
            self._check_leg_ticks(contract, [leg])
        records = await self._place_all(list(zip(contracts, legs, accounts, strict=True)))
        ticket = Ticket(
            ticket_id=f"oco-{records[0].order_id}",
            kind=TicketKind.OCO,
            order_ids=tuple(str(r.order_id) for r in records),
            roles=tuple(leg.role for leg in legs),
            market_ids=tuple(dict.fromkeys(r.market_id for r in records)),
            oca_group=group,
            oca_type=oca_type,
        )
        self._register(ticket)
        log.info(
            "oco submitted",
            extra={
                "ticket_id": ticket.ticket_id,
                "oca_group": group,
                "oca_type": oca_type,
                "order_ids": ticket.order_ids,
            },
        )
        return ticket.ticket_id

    async def cancel_ticket(self, ticket_id: str) -> list[str]:
        """Cancel every open leg of a ticket; returns the ids of the legs that were open.

        A bracket whose entry is still open is cancelled through the entry alone: the gateway
        cancels the children with it, and a second cancel for a child it already cancelled
        would only earn a "cannot cancel" error. Legs already finished are left alone.
        """
        ticket = self.ticket(ticket_id)
        records = self._records(ticket)
        open_ids = [str(r.order_id) for r in records if not r.status.is_terminal]
        entry = records[0] if records and str(records[0].order_id) == ticket.order_ids[0] else None
        if ticket.kind is TicketKind.BRACKET and entry is not None and not entry.status.is_terminal:
            targets = [str(entry.order_id)]
        else:
            targets = open_ids
        for order_id in targets:
            await self._tracker.cancel(order_id)
        log.info("ticket cancel sent", extra={"ticket_id": ticket_id, "order_ids": targets})
        return open_ids

    # ------------------------------------------------------------------ whole or nothing
    async def _abandon(self, records: Sequence[OrderRecord]) -> None:
        """Cancel the legs of a ticket that could not be completed. Those that cannot be
        cancelled now are cancelled after the next reconnect (held untransmitted at the
        gateway, they cannot execute meanwhile)."""
        left = [r for r in records if not r.status.is_terminal]
        if left:
            self._leftovers.append(left)
        await self._take_back(left, "incomplete ticket")

    async def _take_back(self, records: Sequence[OrderRecord], why: str) -> None:
        for record in records:
            if record.status.is_terminal:
                continue
            try:
                await self._tracker.cancel(str(record.order_id))
            except (HorizonError, ConnectionError) as exc:
                log.error(
                    "could not cancel a leg of an %s yet; retried after the next reconnect",
                    why,
                    extra={"order_id": record.order_id, "error": str(exc)},
                )
            else:
                log.warning("leg of an %s cancelled", why, extra={"order_id": record.order_id})

    def _register(self, ticket: Ticket) -> None:
        """Keep the ticket, and watch it: a sibling the gateway leaves working after a fill
        that should have cancelled it is cancelled by the venue (said at WARNING)."""
        self._tickets[ticket.ticket_id] = ticket
        records = self._records(ticket)
        if ticket.kind is TicketKind.BRACKET:
            self._connection.spawn(self._guard_siblings(ticket, records[1:], partial=False))
        elif ticket.oca_type == 1:
            self._connection.spawn(self._guard_siblings(ticket, records, partial=True))

    async def _guard_siblings(
        self, ticket: Ticket, legs: Sequence[OrderRecord], *, partial: bool
    ) -> None:
        """Second line of defence for one-cancels-the-others legs (an OCA type-1 group, a
        bracket's two children): once one leg fills (at all, for type 1; completely, for a
        bracket's children, which the gateway reduces on partial fills), the gateway cancels
        the others; any it leaves working past OCA_GRACE is cancelled here."""

        def filled() -> OrderRecord | None:
            for r in legs:
                if (r.filled > 0) if partial else (r.status is OrderStatus.FILLED):
                    return r
            return None

        def settled() -> bool:
            return filled() is not None or all(r.status.is_terminal for r in legs)

        while not await self._changes.wait_quietly(settled, 3600.0):
            pass
        winner = filled()
        if winner is None:
            return

        def live() -> list[OrderRecord]:
            return [
                r
                for r in legs
                if r is not winner
                and not r.status.is_terminal
                and r.status is not OrderStatus.PENDING_CANCEL
            ]

        await self._changes.wait_quietly(lambda: not live(), OCA_GRACE)
        stragglers = live()
        if stragglers:
            log.warning(
                "gateway left legs of a one-cancels-others ticket working after a fill; "
                "cancelling them",
                extra={
                    "ticket_id": ticket.ticket_id,
                    "filled_leg": winner.order_id,
                    "order_ids": [r.order_id for r in stragglers],
                },
            )
            await self._take_back(stragglers, "overfilled ticket")

    def _on_connection(self, event: ConnectionEvent) -> None:
        if event.state is ConnectionState.RECONNECTED and (self._tickets or self._leftovers):
            self._connection.spawn(self._settle_tickets())

    async def _settle_tickets(self) -> None:
        """After a reconnect: a ticket is placed whole or not at all. One with a leg lost
        before the gateway acknowledged it (dropped between the legs) has its other legs
        cancelled; legs of tickets cut short earlier that could not be cancelled then are
        cancelled now."""
        for ticket in list(self._tickets.values()):
            records = self._records(ticket)
            if all(r.status.is_terminal for r in records):
                continue
            if any(r.reason == LOST_BEFORE_ACK for r in records):
                await self._take_back(records, "incomplete ticket")
        self._leftovers = [
            left for rs in self._leftovers if (left := [r for r in rs if not r.status.is_terminal])
        ]
        for records in list(self._leftovers):
            await self._take_back(records, "incomplete ticket")

    # ------------------------------------------------------------------ FA allocation
    async def allocate_block(
        self, action: OrderAction, allocation: Allocation | Mapping[str, Decimal]
    ) -> list[str] | str:
        """Trade one block for several sub-accounts.

        With an `Allocation` (FA group + method, or profile): one order, split by IB; returns
        its order id. With a mapping ``{account: weight}``: one child order per account, the
        block split by weight (largest remainder, parts summing exactly to the block); returns
        their order ids in mapping order. Either way each fill names its sub-account
        (`VenueFill.account`). Everything is checked before the first order is sent.
        """
        if isinstance(allocation, Allocation):
            return await self._submit_allocated(action, allocation)
        if not isinstance(allocation, Mapping):
            raise InvalidOrder(
                "allocation", f"expected an Allocation or a mapping, got {type(allocation)!r}"
            )
        parts = split_block(action.quantity, allocation)
        children = block_actions(action, parts)
        masters = self._connection.masters()
        for child in children:
            self._connection.account_for(child.account)
            if child.account in masters:
                raise InvalidOrder(
                    "allocation",
                    f"{child.account} is an FA master account and holds no "
                    "positions; allocate to its sub-accounts",
                )
        await self._instruments.qualify(action.market_id)
        order_ids = [await self._tracker.submit(child) for child in children]
        log.info(
            "block allocated",
            extra={
                "order_ids": order_ids,
                "market_id": action.market_id,
                "parts": {a: str(q) for a, q in parts.items()},
            },
        )
        return order_ids

    async def _submit_allocated(self, action: OrderAction, allocation: Allocation) -> str:
        if action.account is not None:
            raise InvalidOrder(
                "account",
                "an FA allocation order goes to the advisor login; leave OrderAction.account unset",
            )
        contract = await self._instruments.qualify(action.market_id)
        watched = await self._instruments.watched([action])
        ib = await self._connection.ready()
        base = to_ib_order(action, account="", watched=watched)
        order = apply_allocation(base, allocation, server_version=ib.client.serverVersion())
        [order.orderId] = self._tracker.allocate_ids(ib, 1)
        leg = Leg(role=LegRole.ENTRY, action=action, order=order)
        self._check_leg_ticks(contract, [leg])
        masters = sorted(self._connection.masters())
        owner = masters[0] if masters else (self._connection.default_account or "")
        by_ib = allocation.ib_quantity_from_positions
        record = await self._place(
            contract, leg, account=owner, remaining=Decimal(0) if by_ib else None
        )
        if by_ib:
            record.remaining = None
        log.info(
            "allocation order submitted",
            extra={
                "order_id": record.order_id,
                "fa_group": order.faGroup,
                "fa_method": order.faMethod,
                "fa_profile": allocation.fa_profile,
            },
        )
        return str(record.order_id)
