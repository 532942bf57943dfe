"""The one error type fanzha raises for bad input and bad requests.

Its message is a single line a user can act on; the CLI prints it and exits non-zero.
"""


class FanzhaError(Exception):
    """A failure with a one-line reason meant for the person running fanzha."""
