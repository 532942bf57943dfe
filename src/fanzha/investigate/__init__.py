"""Investigations: batch analyses over the event log that produce cases and lists.

`funds` follows a victim's money downstream (three levels within 48 hours, report 003) and writes
freeze orders; `mules` scores every account seen in the transfer log for mule behaviour.
"""
