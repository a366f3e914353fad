"""The exceptions strikewatch raises; the CLI turns each into a one-line error."""


class StrikewatchError(Exception):
    """Base class: anything that should reach the user as one clear line, not a traceback."""


class UsageError(StrikewatchError):
    """The user asked for something malformed (a bad date, an unknown guild)."""


class StoreError(StrikewatchError):
    """The database cannot be opened, read or written (locked, full disk, not a database)."""


class FeedError(StrikewatchError):
    """One feed could not be fetched or parsed; other feeds carry on."""


class FetchError(FeedError):
    """The network or the server failed us: timeout, refused connection, HTTP error, too big."""

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status


class ParseError(FeedError):
    """The bytes we got are not a feed we can read anything from."""


class RulesError(StrikewatchError):
    """A rules file is missing, malformed or refers to something that does not exist."""


class ImportFileError(StrikewatchError):
    """An import file cannot be read at all (missing, unreadable, not a feed or archive)."""


class PollLocked(StrikewatchError):
    """Another poll holds the lock: not a failure, cron simply overlapped. `pid` is the holder's
    when known; `stale` when it has held the lock for over an hour (probably stuck)."""

    def __init__(self, message: str, pid: int | None = None, stale: bool = False):
        super().__init__(message)
        self.pid = pid
        self.stale = stale


class Terminated(BaseException):
    """The process was asked to stop (SIGTERM: `timeout`, `kill`, a service manager). Raised in
    the main thread, as Ctrl-C raises KeyboardInterrupt, so that open transactions end and worker
    processes are shut down instead of being left behind."""


class DeliveryError(StrikewatchError):
    """An alert's command failed or its notification service refused; retried next run."""


def unexpected_parse_error(error: BaseException) -> str:
    """One line for a parser's surprise (a bug, a library's edge case): what and why, no trace."""
    # Printable only: the message may quote the hostile input that caused it.
    message = "".join(
        char if char.isprintable() else repr(char)[1:-1] for char in " ".join(str(error).split())
    )[:200]
    name = type(error).__name__
    if not message:
        return f"unexpected error while parsing: {name}"
    return f"unexpected error while parsing: {name}: {message}"
