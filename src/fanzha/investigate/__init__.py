"""Investigations: batch analyses over the event log that produce cases and lists."""
