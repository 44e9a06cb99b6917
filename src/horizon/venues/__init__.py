"""Venues: one subpackage per broker or exchange."""
