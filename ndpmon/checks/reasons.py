"""Reason names (placeholder)."""
