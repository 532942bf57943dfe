"""fanzha (反诈): an open anti-telecom-fraud platform."""

__version__ = "0.1.0"
