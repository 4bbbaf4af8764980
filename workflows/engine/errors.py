"""What the engine's transitions raise when they refuse."""

from lib.refusals import Refused


class TransitionRefused(Refused):
    """A transition was refused and nothing changed. The message is for the person who asked."""
