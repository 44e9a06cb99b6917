"""Horizon: a Python trading framework. This distribution ships its Interactive Brokers venue."""

__version__ = "0.1.0"
