"""What the engine's transitions raise when they refuse."""


class TransitionRefused(Exception):
    """A transition was refused and nothing changed. The message is for the person who asked."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return str(self.message)
