"""A protocol-faithful IB Gateway simulator: the real TWS API wire protocol over TCP, a paper
matching engine behind it, and the faults a real gateway shows (restart, freeze, duplicate or
corrected executions, lost orders). Standard library only.
"""
