"""One small exception hierarchy, so the command line can turn every user error into one line."""

from __future__ import annotations

__all__ = ["NdpmonError", "ConfigError", "WriteError", "CaptureError"]


class NdpmonError(Exception):
    """Base of every error ndpmon reports to the user as one line (exit code 2)."""


class ConfigError(NdpmonError, ValueError):
    """A file the user gave us is wrong; the text names the file and, where known, the line.

    ``str(err)`` is ``"<file>:<line>: <what>"`` or ``"<file>: <what>"`` when no line is known.
    """

    def __init__(self, path: str, line: int | None, message: str) -> None:
        self.path = path
        self.line = line
        self.message = message
        where = f"{path}:{line}" if line else path
        super().__init__(f"{where}: {message}")


class WriteError(NdpmonError):
    """A file ndpmon writes (cache, alerts.xml, JSON lines, learned config, report page)
    cannot be written; ``str(err)`` is ``"<file>: <what>"``.
    """

    def __init__(self, path: str, message: str) -> None:
        self.path = path
        self.message = message
        super().__init__(f"{path}: {message}")


class CaptureError(NdpmonError, RuntimeError):
    """A capture source (pcap file or interface) cannot be opened or read."""
