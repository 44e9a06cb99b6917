"""Pure mapping between Horizon's terms and IB's: values in, values out, no I/O.

`symbology` (market ids <-> contracts), `orders` (OrderAction -> ib_async Order), `status`
(IB statuses and codes as tables), `fills` (execution times, exactly-once FillBook),
`accounts` (summary rows -> Balance, positions), `allocation` (FA), `tickets` (bracket / OCO
legs), `quotes` (tickers -> Quote, Subscription). The I/O parts of the venue call these.
"""
