"""Showing results: rich tables on a terminal, plain text when piped, JSON/NL/CSV for scripts.

Everything that came from a feed is rendered as literal text: rich markup is never parsed from it
and control characters are removed, so a headline cannot restyle or drive the terminal.
"""

from __future__ import annotations

import csv
import json
import os
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from itertools import chain, islice
from typing import IO, TYPE_CHECKING, Any, NamedTuple

from strikewatch import taxonomy
from strikewatch.sanitize import strip_controls
from strikewatch.tables import (
    Cell,
    Display,
    Layout,
    default_layouts,
    local_date,
    local_minute,
    plain,
    print_fitted,
    safe_link,
    terminal_shows_hyperlinks,
)

if TYPE_CHECKING:
    from rich.console import Console
    from rich.text import Text

# Colours, labels and chart letters come from the taxonomy's tables (user additions included).
GUILD_STYLES = taxonomy.GUILD_COLOURS
EVENT_STYLES = taxonomy.EVENT_COLOURS


class Column(NamedTuple):
    """One column of a listing: the row key, its header, and how to show it in a table."""

    key: str
    header: str
    max_width: int | None = None
    no_wrap: bool = False
    styles: Mapping[str, str] | None = None
    format: Callable[[Any], str] | None = None
    row_format: Callable[..., str] | None = None  # (row), or (row, display) with `when`
    when: str | None = None  # "date" or "minute": a UTC timestamp shown in the user's zone


class ColumnSet(tuple):
    """A listing's columns (for plain text and CSV) with its own terminal layouts, if any."""

    layouts: Sequence[Layout] = ()

    def __new__(cls, columns: Sequence[Column], layouts: Sequence[Layout] = ()) -> ColumnSet:
        made = super().__new__(cls, columns)
        made.layouts = tuple(layouts)
        return made


def safe(value: Any) -> str:
    """Printable text for any value from a feed or the database."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return ", ".join(safe(part) for part in value)
    return strip_controls(str(value))


def one_line(value: Any) -> str:
    """Text for a one-line message on stderr: printable, with no line breaks of its own."""
    return " ".join(safe(value).split())


def is_terminal(stream: IO[str] | None = None) -> bool:
    stream = stream or sys.stdout
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def make_console(stream: IO[str] | None = None, stderr: bool = False) -> Console:
    """A rich console that never interprets markup or emoji in what we print, and honours NO_COLOR."""
    from rich.console import Console

    return Console(
        file=stream,
        stderr=stderr,
        highlight=False,
        markup=False,
        emoji=False,
        no_color=bool(os.environ.get("NO_COLOR")) or None,
    )


def emit(
    rows: Iterable[dict[str, Any]],
    fmt: str | None,
    columns: Sequence[Column],
    *,
    stream: IO[str] | None = None,
    empty_message: str = "Nothing to show.",
    title: str | None = None,
    display: Display | None = None,
) -> None:
    """Print rows in the requested format; the one place every listing goes through.

    JSON, JSON lines and CSV are written as the rows come (a few hundred at a time): a listing
    of a whole archive is never held in memory as rows and then again as text."""
    stream = stream or sys.stdout
    if fmt in ("json", "nl"):
        # JSON: one entry per line inside the array, as sqlite-utils prints: readable,
        # diffable, and written by the C encoder (indent= would fall back to the pure-Python
        # one). One encoder for all rows: json.dumps with any option builds one per call.
        encode = json.JSONEncoder(ensure_ascii=False).encode
        opening, between, closing = (
            ("[\n  ", ",\n  ", "\n]\n") if fmt == "json" else ("", "\n", "\n")
        )
        wrote = False
        for batch in batched(rows, WRITE_BATCH):
            stream.write((between if wrote else opening) + between.join(map(encode, batch)))
            wrote = True
        if wrote:
            stream.write(closing)
        elif fmt == "json":
            stream.write("[]\n")
    elif fmt == "csv":
        write_csv(rows, columns, stream)
    else:
        rows = list(rows)
        if not rows:
            print(empty_message, file=sys.stderr)
        elif is_terminal(stream):
            rich_table(rows, columns, stream, title=title, display=display)
        else:
            plain_table(rows, columns, stream, display=display)


# Rows encoded and written at a time: few writes, and never the whole listing as text.
WRITE_BATCH = 500


def batched(rows: Iterable[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    """Consecutive rows in lists of `size` (the last may be shorter): what streamed output
    encodes and writes at a time."""
    rows = iter(rows)
    while batch := list(islice(rows, size)):
        yield batch


def write_csv(rows: Iterable[dict[str, Any]], columns: Sequence[Column], stream: IO[str]) -> None:
    rows = iter(rows)
    first = next(rows, None)
    keys = list(first.keys()) if first is not None else [column.key for column in columns]
    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow(keys)
    if first is None:
        return
    for row in chain([first], rows):
        writer.writerow([_csv_value(row.get(key)) for key in keys])


def _csv_value(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"  # as in JSON, and as spreadsheets read them
    if isinstance(value, list | tuple):
        if value and isinstance(value[0], dict):
            return json.dumps(value, ensure_ascii=False)
        return ",".join(str(part) for part in value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, str):
        return strip_controls(value)
    return value


def _cell_text(column: Column, row: dict[str, Any], display: Display | None = None) -> str:
    """One line per cell: a line break inside a field must not start a fake row."""
    if column.row_format is not None:
        if column.when is not None:  # a time it shows in the user's zone
            return one_line(column.row_format(row, display))
        return one_line(column.row_format(row))
    value = row.get(column.key)
    if column.when is not None:
        if value is None and column.format is not None:
            return one_line(column.format(value))
        return (local_minute if column.when == "minute" else local_date)(value, display)
    if column.format is not None:
        return one_line(column.format(value))
    return one_line(value)


def plain_table(
    rows: Sequence[dict[str, Any]],
    columns: Sequence[Column],
    stream: IO[str],
    display: Display | None = None,
) -> None:
    """Aligned plain-text columns for pipes: greppable, no colour, no box drawing."""
    cells = [[_cell_text(column, row, display) for column in columns] for row in rows]
    widths = []
    for index, column in enumerate(columns):
        width = max([len(column.header), *(len(line[index]) for line in cells)])
        if column.max_width:
            width = min(width, column.max_width)
        widths.append(width)
    last = len(columns) - 1

    def line(values: Sequence[str]) -> str:
        parts = []
        for index, value in enumerate(values):
            if index == last:
                parts.append(value)
            else:
                if len(value) > widths[index]:
                    value = value[: widths[index] - 1] + "…"
                parts.append(value.ljust(widths[index]))
        return "  ".join(parts).rstrip()

    stream.write(line([column.header for column in columns]) + "\n")
    for values in cells:
        stream.write(line(values) + "\n")


def rich_table(
    rows: Sequence[dict[str, Any]],
    columns: Sequence[Column],
    stream: IO[str],
    title: str | None = None,
    display: Display | None = None,
) -> None:
    """A listing fitted to the terminal (see strikewatch.tables), through a pager when it is
    longer than the screen and the listing allows one."""
    display = display or Display()
    layouts = getattr(columns, "layouts", ()) or default_layouts(columns)
    console = make_console(stream)
    if not (display.pager and stream is sys.stdout and is_terminal(stream)):
        print_fitted(rows, layouts, console, display, title=title)
        return
    with console.capture() as captured:
        print_fitted(rows, layouts, console, display, title=title)
    text = captured.get()
    if text.count("\n") < console.height:
        stream.write(text)
        return
    import click  # the pager as git and less users expect: $PAGER, else `less -R`

    click.echo_via_pager(text, color=True)


def short_date(value: Any) -> str:
    return str(value or "")[:10]


def source_with_also(row: dict[str, Any]) -> str:
    """'deadline +2' when two other outlets carried the same story."""
    also = row.get("also") or []
    return f"{row.get('source', '')} +{len(also)}" if also else str(row.get("source", ""))


# Short labels for the timeline's compact tags column on a terminal (the ids are in --wide,
# on wider terminals, and in every other format).
GUILD_SHORT = {
    "wga": "WGA",
    "sag-aftra": "SAG",
    "amptp": "AMPTP",
    "dga": "DGA",
    "iatse": "IATSE",
    "teamsters": "Teamsters",
}
EVENT_SHORT = {
    "meeting-requested": "meet?",
    "talks-started": "talks",
    "talks-resumed": "resumed",
    "talks-stalled": "stalled",
    "offer": "offer",
    "deal": "deal",
    "ratified": "ratified",
    "strike-authorized": "authorized",
    "strike-started": "STRIKE",
    "strike-ended": "strike-over",
}
TAGS_WIDTH = 18  # the compact tags column at most; a longer list ends with +N


def tag_words(row: dict[str, Any], short: bool) -> list[tuple[str, str]]:
    """(label, style) for each guild then each event of a row."""
    words = []
    for key, labels, styles in (
        ("guilds", GUILD_SHORT, GUILD_STYLES),
        ("events", EVENT_SHORT, EVENT_STYLES),
    ):
        for tag in row.get(key) or ():
            tag = str(tag)
            words.append((safe(labels.get(tag, tag) if short else tag), styles.get(tag, "")))
    return words


def styled_words(words: Sequence[tuple[str, str]], limit: int | None = None) -> Text:
    """Words joined by spaces; past `limit` cells the rest become '+N' (never half a word)."""
    from rich.text import Text

    text = Text()
    for index, (word, style) in enumerate(words):
        rest = len(words) - index
        more = f"+{rest}"
        needed = len(word) + (1 if index else 0)
        if limit is not None and rest > 1:
            needed += 1 + len(f"+{rest - 1}")  # room to say what is left after this one
        if limit is not None and text.cell_len + needed > limit:
            text.append((" " if index else "") + more, style="dim")
            break
        if index:
            text.append(" ")
        text.append(word, style=style)
    return text


def _when_cell(row: dict[str, Any], display: Display) -> Text:
    return plain(local_minute(row.get("published"), display))


def _date_cell(row: dict[str, Any], display: Display) -> Text:
    return plain(local_date(row.get("published"), display))


def _source_cell(row: dict[str, Any], display: Display) -> Text:
    return plain(source_with_also(row))


def _tags_cell(row: dict[str, Any], display: Display) -> Text:
    return styled_words(tag_words(row, short=True), limit=None if display.wide else TAGS_WIDTH)


def _ids_cell(key: str, styles: dict[str, str]) -> Callable[[dict[str, Any], Display], Text]:
    def text(row: dict[str, Any], display: Display) -> Text:
        return styled_words([(safe(tag), styles.get(str(tag), "")) for tag in row.get(key) or ()])

    return text


def _title_cell(row: dict[str, Any], display: Display) -> Text:
    return plain(row.get("title"))


WHEN = Cell("date", _when_cell)
HEADLINE = Cell("headline", _title_cell, flex=True, min_width=20, link="link")
TIMELINE_LAYOUTS = (
    # Wide enough for every headline whole: the ids in their own columns.
    Layout(
        [
            WHEN,
            Cell("source", _source_cell),
            Cell("guilds", _ids_cell("guilds", GUILD_STYLES)),
            Cell("events", _ids_cell("events", EVENT_STYLES)),
            HEADLINE,
        ],
        min_terminal=None,
    ),
    Layout([WHEN, Cell("source", _source_cell), Cell("tags", _tags_cell), HEADLINE], 72),
    Layout(
        [Cell("date", _date_cell), Cell("source", _source_cell), Cell("tags", _tags_cell), HEADLINE]
    ),
)

TIMELINE_COLUMNS = ColumnSet(
    (
        Column("published", "date", no_wrap=True, format=short_date, when="date"),
        Column("source", "source", max_width=20, no_wrap=True, row_format=source_with_also),
        Column("guilds", "guilds", max_width=24, styles=GUILD_STYLES),
        Column("events", "events", max_width=28, styles=EVENT_STYLES),
        Column("title", "title"),
    ),
    TIMELINE_LAYOUTS,
)


def _never(value: Any) -> str:
    return "never"


def _next_poll(row: dict[str, Any], display: Display | None = None) -> str:
    """When the feed is fetched next: a removed (or gone) feed never is, and says so."""
    if not row.get("active", True):
        return str(row.get("health") or "removed")
    return local_minute(row["next_poll"], display) if row.get("next_poll") else "next run"


def _feed_cell(key: str, empty: str = "") -> Callable[[dict[str, Any], Display], Text]:
    def text(row: dict[str, Any], display: Display) -> Text:
        value = row.get(key)
        if key in ("last_polled", "next_poll"):
            return plain(local_minute(value, display) if value else empty)
        return plain(value if value is not None else empty)

    return text


FEED_NAME = Cell("name", _feed_cell("name"))
FEED_HEALTH = Cell("health", _feed_cell("health"))
FEED_ERROR = Cell("last error", _feed_cell("error"), flex=True, min_width=16)
FEED_URL = Cell("url", _feed_cell("url"), flex=True, min_width=16, link="url")
FEED_POLLED = Cell("last polled", _feed_cell("last_polled", "never"))
FEED_LAYOUTS = (
    Layout(
        [
            FEED_NAME,
            FEED_HEALTH,
            Cell("status", _feed_cell("last_status")),
            FEED_POLLED,
            Cell("next poll", lambda row, display: plain(_next_poll(row, display))),
            FEED_URL,
            FEED_ERROR,
        ],
        min_terminal=None,
    ),
    Layout(
        [
            FEED_NAME,
            FEED_HEALTH,
            Cell("status", _feed_cell("last_status")),
            FEED_POLLED,
            FEED_URL,
            FEED_ERROR,
        ],
        0,
    ),
    Layout([FEED_NAME, FEED_HEALTH, FEED_POLLED, FEED_URL, FEED_ERROR], 0),
    Layout([FEED_NAME, FEED_HEALTH, FEED_URL, FEED_ERROR], 0),
    Layout([FEED_NAME, FEED_HEALTH, FEED_POLLED, FEED_ERROR], 0),
    Layout([FEED_NAME, FEED_HEALTH, FEED_ERROR]),
)

FEED_COLUMNS = ColumnSet(
    (
        Column("name", "name", no_wrap=True),
        Column("health", "health", no_wrap=True),
        Column("last_status", "status", no_wrap=True),
        Column("last_polled", "last polled", no_wrap=True, format=_never, when="minute"),
        Column("next_poll", "next poll", no_wrap=True, row_format=_next_poll, when="minute"),
        Column("url", "url", max_width=60, no_wrap=True),
        Column("error", "last error", max_width=60),
    ),
    FEED_LAYOUTS,
)


def _alert_filters(row: dict[str, Any]) -> str:
    parts = [*row["guilds"], *row["events"], *(f"source={source}" for source in row["sources"])]
    return " ".join(parts) or "(every story)"


def _alert_trouble(row: dict[str, Any]) -> str:
    counts = []
    if row["failing"]:
        counts.append(f"{row['failing']} failing")
    if row["given_up"]:
        counts.append(f"{row['given_up']} given up")
    if not counts:
        return "-"
    return ", ".join(counts) + (f": {row['last_failure']}" if row["last_failure"] else "")


def _moment(value: Any) -> str:
    return str(value or "never")[:16].replace("T", " ")


def _alert_cell(
    format: Callable[[dict[str, Any]], str],
) -> Callable[[dict[str, Any], Display], Text]:
    def text(row: dict[str, Any], display: Display) -> Text:
        return plain(format(row))

    return text


def _alert_moment(key: str) -> Callable[[dict[str, Any], Display], Text]:
    def text(row: dict[str, Any], display: Display) -> Text:
        return plain(local_minute(row.get(key), display) if row.get(key) else "never")

    return text


_ALERT_NAME = Cell("name", _alert_cell(lambda r: r["name"]))
_ALERT_FILTERS = Cell("filters", _alert_cell(_alert_filters), flex=True, min_width=12)
_ALERT_ACTION = Cell(
    "action", _alert_cell(lambda r: f"{r['action']} {r['target']}"), flex=True, min_width=12
)
_ALERT_DELIVERED = Cell("delivered", _alert_cell(lambda r: str(r["delivered"])))
_ALERT_TROUBLE = Cell("failures", _alert_cell(_alert_trouble), flex=True, min_width=8)
ALERT_COLUMNS = ColumnSet(
    (
        Column("name", "name", no_wrap=True),
        Column("guilds", "filters", max_width=30, row_format=_alert_filters),
        Column(
            "target", "action", max_width=40, row_format=lambda r: f"{r['action']} {r['target']}"
        ),
        Column("created", "added", no_wrap=True, format=_moment, when="minute"),
        Column("last_delivery", "last delivery", no_wrap=True, format=_moment, when="minute"),
        Column("delivered", "delivered", no_wrap=True),
        Column("failing", "failures", row_format=_alert_trouble),
    ),
    (
        Layout(
            [
                _ALERT_NAME,
                _ALERT_FILTERS,
                _ALERT_ACTION,
                Cell("added", _alert_moment("created")),
                Cell("last delivery", _alert_moment("last_delivery")),
                _ALERT_DELIVERED,
                _ALERT_TROUBLE,
            ],
            min_terminal=None,
        ),
        Layout(
            [
                _ALERT_NAME,
                _ALERT_FILTERS,
                _ALERT_ACTION,
                Cell("last delivery", _alert_moment("last_delivery")),
                _ALERT_DELIVERED,
                _ALERT_TROUBLE,
            ],
            min_terminal=110,
        ),
        Layout([_ALERT_NAME, _ALERT_FILTERS, _ALERT_ACTION, _ALERT_DELIVERED, _ALERT_TROUBLE]),
    ),
)


class ProgressReporter:
    """A rich progress bar on stderr that appears only when a job takes more than a moment,
    and never when stderr is not a terminal (cron, pipes)."""

    DELAY_SECONDS = 0.4

    def __init__(self, description: str, total: int | None, enabled: bool = True):
        self.description = description
        self.total = total
        self.enabled = enabled and is_terminal(sys.stderr) and not os.environ.get("CI")
        self._progress: Any = None
        self._task: Any = None
        self._completed = 0
        self._started: float | None = None

    def __enter__(self) -> ProgressReporter:
        self._started = time.monotonic()
        return self

    def advance(self, amount: int = 1) -> None:
        self._completed += amount
        if not self.enabled:
            return
        if self._progress is None:
            if self._started is None or time.monotonic() - self._started < self.DELAY_SECONDS:
                return
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
            )

            self._progress = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=make_console(sys.stderr),
                transient=True,
            )
            self._progress.start()
            self._task = self._progress.add_task(
                self.description, total=self.total, completed=self._completed
            )
        else:
            self._progress.update(self._task, completed=self._completed)

    def __exit__(self, *exc_info: object) -> None:
        if self._progress is not None:
            self._progress.stop()


SEARCH_COLUMNS = TIMELINE_COLUMNS

STATUS_COLUMNS = (
    Column("guild", "guild", no_wrap=True),
    Column("on_strike", "on strike", no_wrap=True),
    Column("strike_started", "since", no_wrap=True),
    Column("strike_day", "day", no_wrap=True),
    Column(
        "strikes",
        "contracts",
        no_wrap=True,
        format=lambda strikes: " ".join(strike["contract"] for strike in strikes or ()),
    ),
    Column("last_event", "last event", no_wrap=True),
    Column("last_event_at", "when", no_wrap=True, format=short_date, when="date"),
    Column("last_title", "headline"),
)


def flat_status(status: dict[str, Any]) -> dict[str, Any]:
    """A status entry for CSV: one plain value per cell ('tv-theatrical since 2023-05-02, day
    92'), not JSON inside a cell; booleans as true/false."""

    def flat(value: Any) -> Any:
        if isinstance(value, dict):
            return ", ".join(f"{key} {flat(part)}" for key, part in value.items())
        if isinstance(value, list | tuple):
            if any(isinstance(part, dict) for part in value):
                return "; ".join(str(flat(part)) for part in value)
            return ",".join(str(part) for part in value)
        return value

    return {key: flat(value) for key, value in status.items()}


def _explain_when(row: dict[str, Any], display: Display) -> Text:
    return plain(local_minute(row.get("published"), display))


def _key_cell(key: str) -> Callable[[dict[str, Any], Display], Text]:
    def text(row: dict[str, Any], display: Display) -> Text:
        return plain(row.get(key))

    return text


EXPLAIN_COLUMNS = ColumnSet(
    (
        Column("guild", "guild", no_wrap=True),
        Column("published", "published", no_wrap=True, when="minute"),
        Column("event", "event", no_wrap=True),
        Column("contract", "contract", no_wrap=True),
        Column("effective", "takes effect", no_wrap=True),
        Column("why", "why", max_width=50),
        Column("title", "title"),
    ),
    (
        Layout(
            [
                Cell("guild", _key_cell("guild")),
                Cell("published", _explain_when),
                Cell("event", _key_cell("event")),
                Cell("contract", _key_cell("contract")),
                Cell("takes effect", _key_cell("effective")),
                Cell("why", _key_cell("why"), flex=True, min_width=16),
                Cell("title", _key_cell("title"), flex=True, min_width=16, link="link"),
            ],
            min_terminal=None,
        ),
        Layout(
            [
                Cell("guild", _key_cell("guild")),
                Cell("event", _key_cell("event")),
                Cell("takes effect", _key_cell("effective")),
                Cell("title", _key_cell("title"), flex=True, min_width=16, link="link"),
                Cell("why", _key_cell("why"), flex=True, min_width=12),
            ]
        ),
    ),
)

_SPARKS = " ▁▂▃▄▅▆▇█"


_CONTRACT_NAMES = {
    "tv-theatrical": "film and TV",
    "interactive": "video games",
    "commercials": "commercials",
}


def _strike_text(strike: dict[str, Any]) -> str:
    return f"day {strike['strike_day']} (since {strike['started']})"


def standing_line(status: dict[str, Any]) -> str:
    """'ON STRIKE, day 95 (since 2023-05-02)' or what was last known, and how fresh that is."""
    strikes = status.get("strikes") or []
    if status["on_strike"] and all(s["contract"] == "tv-theatrical" for s in strikes):
        line = f"ON STRIKE, day {status['strike_day']} (since {status['strike_started']})"
    elif status["on_strike"]:
        line = "ON STRIKE: " + "; ".join(
            f"{_CONTRACT_NAMES.get(s['contract'], s['contract'])} ({s['contract']}),"
            f" {_strike_text(s)}"
            for s in strikes
        )
    elif not taxonomy.can_strike(status["guild"]):
        line = "the employers' side: strike status not tracked"
    else:
        line = "not on strike"
        previous = status.get("previous_strike")
        if previous:
            contract = previous.get("contract", "tv-theatrical")
            which = "" if contract == "tv-theatrical" else f" ({contract})"
            line += (
                f" (last strike{which} {previous['started']} to"
                f" {previous.get('last_day', previous['ended'])}, {previous['days']}"
                f" day{'' if previous['days'] == 1 else 's'})"
            )
    pending = status.get("pending")
    if pending:
        what = "strike begins" if pending["event"] == "strike-started" else "strike ends"
        contract = pending.get("contract", "tv-theatrical")
        which = "" if contract == "tv-theatrical" else f" ({contract})"
        line += f"; {what}{which} {pending['on']}"
    if status.get("stale") and taxonomy.can_strike(status["guild"]):
        line = f"not known: {freshness_line(status)}; last known: {line}"
    return line


def freshness_line(status: dict[str, Any]) -> str:
    """How fresh the data behind a standing is: the newest report and the last good poll."""
    poll = short_date(status["last_poll"]) if status.get("last_poll") else "never"
    if not status.get("data_through"):
        if status.get("first_report"):  # reports, all after --as-of
            return f"no reports up to {status['as_of']} (last successful poll: {poll})"
        return f"no reports stored (last successful poll: {poll})"
    return f"no report since {status['data_through']} (last successful poll: {poll})"


def last_event_line(status: dict[str, Any]) -> str:
    if not status.get("last_event"):
        return "no events recorded yet"
    day = status.get("last_event_day") or short_date(status["last_event_at"])  # Los Angeles
    return f"{day} {status['last_event']}: {safe(status['last_title'])}"


def week_marks(weeks: Sequence[dict[str, Any]]) -> str:
    """One character per week: the most telling event first reported that week, or a dot."""
    marks = []
    marks_of = taxonomy.chart_marks()
    for week in weeks:
        events = week.get("events") or []
        chosen = next((marks_of[e] for e in marks_of if e in events), "·")
        marks.append(chosen)
    return "".join(marks)


def week_events(weeks: Sequence[dict[str, Any]], short: bool = False) -> list[str]:
    """Every event of every week, with its day: one line per week that has any (`short`: marks
    only, to fit a panel)."""
    lines = []
    for week in weeks:
        dated = week.get("dated") or []
        if dated:
            entries = ", ".join(
                f"{entry['day'][5:]} {taxonomy.chart_marks().get(entry['event'], '?')}"
                + ("" if short else f" {entry['event']}")
                for entry in dated
            )
            lines.append(
                f"week of {week['week'][5:]}: {entries}"
                if short
                else f"week of {week['week']}: {entries}"
            )
    return lines


def _guild_label(gid: str) -> str:
    guild = taxonomy.guild(gid)
    return guild.label if guild else gid


def chart_legend() -> str:
    marks: dict[str, list[str]] = {}
    for event, mark in taxonomy.chart_marks().items():
        marks.setdefault(mark, []).append(event)
    return "events: " + ", ".join(f"{mark} {'/'.join(events)}" for mark, events in marks.items())


def sparkline(counts: Sequence[int]) -> str:
    top = max(counts, default=0)
    if top == 0:
        return _SPARKS[0] * len(counts)
    return "".join(
        _SPARKS[0] if count == 0 else _SPARKS[max(1, round(count / top * (len(_SPARKS) - 1)))]
        for count in counts
    )


def print_status(
    statuses: Sequence[dict[str, Any]],
    stream: IO[str] | None = None,
    display: Display | None = None,
) -> None:
    """Each guild's standing: a compact panel per guild on a terminal, plain lines otherwise.
    The last event's headline is a hyperlink; the link is printed whole (wrapped inside the
    panel, never cut) where the terminal shows no hyperlinks or with --links."""
    display = display or Display()
    stream = stream or sys.stdout
    if not is_terminal(stream):
        for status in statuses:
            stream.write(f"{status['guild']}: {standing_line(status)}\n")
            stream.write(f"  last event: {last_event_line(status)}\n")
            if status.get("last_link"):
                stream.write(f"  {safe(status['last_link'])}\n")
            weeks = status.get("weekly") or []
            if weeks:
                counts = " ".join(str(week["items"]) for week in weeks)
                stream.write(
                    f"  reports per week from {weeks[0]['week']}: {counts}"
                    f"  events: {week_marks(weeks)}\n"
                )
                for line in week_events(weeks):
                    stream.write(f"    {line}\n")
        if any(status.get("weekly") for status in statuses):
            stream.write(f"{_chart_note(statuses)} {chart_legend()}\n")
        return
    from rich.columns import Columns
    from rich.panel import Panel
    from rich.style import Style
    from rich.text import Text

    console = make_console(stream)
    hyperlinks = not display.links and terminal_shows_hyperlinks(console)
    panels = []
    for status in statuses:
        body = Text()
        style = "bold red" if status["on_strike"] else "bold green"
        if not taxonomy.can_strike(status["guild"]):
            style = "dim"
        body.append(standing_line(status) + "\n", style=style)
        body.append("last: ", style="dim")
        if status.get("last_event"):
            body.append(f"{status.get('last_event_day') or short_date(status['last_event_at'])} ")
            body.append(status["last_event"], style=EVENT_STYLES.get(status["last_event"], ""))
            link = safe_link(status.get("last_link"))
            body.append("\n")
            body.append(
                safe(status["last_title"]), style=Style(link=link) if link and hyperlinks else ""
            )
            if status.get("last_link") and not (link and hyperlinks):
                body.append(f"\n{safe(status['last_link'])}", style="dim")
        else:
            body.append("no events recorded yet")
        weeks = status.get("weekly") or []
        if weeks:
            body.append("\nweekly reports ", style="dim")
            body.append(sparkline([week["items"] for week in weeks]))
            body.append("\nweekly events  ", style="dim")
            body.append(week_marks(weeks))
            for line in week_events(weeks, short=True):
                body.append(f"\n{line}", style="dim")
        title = Text(
            _guild_label(status["guild"]),
            style=GUILD_STYLES.get(status["guild"], "bold"),
        )
        body.overflow = "fold"  # a link wraps inside the panel rather than being cut
        panels.append(Panel(body, title=title, title_align="left", width=min(62, console.width)))
    console.print(Columns(panels))
    if any(status.get("weekly") for status in statuses):
        console.print(Text(f"{_chart_note(statuses)} {chart_legend()}", style="dim"))


def _chart_note(statuses: Sequence[dict[str, Any]]) -> str:
    as_of = statuses[0].get("as_of", "")
    return f"As of the end of {as_of} (Los Angeles); weeks run Monday to Sunday;"


STEP_STYLES = {
    "matched": "green",
    "counted": "green",
    "found": "",
    "suppressed": "yellow",
    "not counted": "yellow",
    "ignored": "dim",
    "note": "dim",
}


def print_explanation(explanation: Any, stream: IO[str] | None = None) -> None:
    """`classify --explain`: the verdict first (guilds, events), then one line per rule step.

    `explanation` is a `strikewatch.classify.Explanation`. Every piece of text is appended to a
    rich `Text` as literal text (no markup), with control characters removed.
    """
    from rich.text import Text

    console = make_console(stream)
    tags = explanation.tags
    verdict = Text()
    for label, ids, styles in (
        ("guilds", tags.guilds, GUILD_STYLES),
        ("events", tags.events, EVENT_STYLES),
    ):
        verdict.append(f"{label}: ", style="bold")
        if not ids:
            verdict.append("(none)", style="dim")
        for index, tag in enumerate(ids):
            if index:
                verdict.append(", ")
            verdict.append(safe(tag), style=styles.get(tag, "bold"))
        verdict.append("\n")
    verdict.rstrip()
    console.print(verdict, soft_wrap=True)
    for step in explanation.steps:
        line = Text("  ")
        text = safe(str(step))
        style = STEP_STYLES.get(step.status, "")
        subject = safe(step.subject)
        if subject and text.startswith(subject + ":"):
            line.append(
                subject, style=GUILD_STYLES.get(subject) or EVENT_STYLES.get(subject, "bold")
            )
            text = text[len(subject) :]
        line.append(text, style=style)
        console.print(line, soft_wrap=True)
    footer = Text()
    for where, words in explanation.read_as.items():
        footer.append(f"read {where} as: {safe(words)}\n", style="dim")
    if explanation.version:
        footer.append(f"rules {safe(explanation.version)}", style="dim")
    footer.rstrip()
    if footer:
        console.print(footer, soft_wrap=True)
