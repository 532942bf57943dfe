"""Investigations: batch analyses over the event log that produce cases, lists and reports.

`funds` follows a victim's money downstream (three levels within 48 hours, report 003) and writes
freeze orders; `mules` scores every account seen in the transfer log for mule behaviour; `leaks`
finds where the personal data used in a fraud leaked (report 004, law art. 29); `decoys` issues
honey records that pin a leak with certainty; `rings` finds the black accounts gangs open with
harvested identities (reports 000, 002) and the promotion abuse they do.
"""
