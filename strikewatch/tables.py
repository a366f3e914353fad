"""Listings on a terminal: one line per entry, fitted to the terminal's width.

A layout is a list of columns. A `fixed` column (a date, a feed name, an id) is as wide as its
widest cell and is never cut; a `flex` column (a headline, an error) takes what is left and is
cut with an ellipsis. Several layouts are tried, richest first: a wider terminal shows the whole
headline first, then more columns. Tags are cut only between words. Piped output never comes
here (render.plain_table keeps every character).

Everything from a feed is appended to a rich `Text` as literal text, never parsed as markup, and
a link becomes an OSC 8 hyperlink through a `Style(link=...)` only when it is a plain http(s)
address with no control character in it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, NamedTuple

from strikewatch.sanitize import strip_controls

if TYPE_CHECKING:
    from rich.console import Console
    from rich.text import Text

GAP = 2  # spaces between columns


class Display:
    """How the user asked to see a listing on a terminal (options shared by the commands).
    A plain class: every command makes one, and a dataclass costs a millisecond to define."""

    def __init__(
        self, utc: bool = False, wide: bool = False, links: bool = False, pager: bool = False
    ) -> None:
        self.utc = utc  # --utc: times in UTC instead of the user's time zone
        self.wide = wide  # --wide: nothing cut; long cells wrap
        self.links = links  # --links: print every link whole under its entry
        self.pager = pager  # the long listings page on a terminal unless --no-pager


def local_moment(value: Any, display: Display | None) -> datetime | None:
    """A stored UTC ISO 8601 timestamp in the user's zone (or UTC with --utc)."""
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    if display is not None and display.utc:
        return moment.astimezone(UTC)
    return moment.astimezone()  # the zone of TZ, else the system's


def local_minute(value: Any, display: Display | None = None) -> str:
    """'2023-07-13 18:05' in the user's zone; what is not a timestamp is shown as it is."""
    moment = local_moment(value, display)
    if moment is None:
        return strip_controls(str(value or ""))[:16].replace("T", " ")
    return moment.strftime("%Y-%m-%d %H:%M")


def local_date(value: Any, display: Display | None = None) -> str:
    moment = local_moment(value, display)
    if moment is None:
        return strip_controls(str(value or ""))[:10]
    return moment.strftime("%Y-%m-%d")


# -- links ------------------------------------------------------------------------------

_SAFE_LINK = re.compile(r"https?://[^\s\x00-\x1f\x7f-\x9f]+", re.IGNORECASE)
LINKS_ENV_VAR = "STRIKEWATCH_LINKS"


def safe_link(value: Any) -> str | None:
    """A link fit to be a terminal hyperlink: http(s), nothing that could end the escape."""
    text = str(value or "")
    return text if _SAFE_LINK.fullmatch(text) else None


def terminal_shows_hyperlinks(console: Console) -> bool:
    """Whether to rely on OSC 8 hyperlinks. No terminal reports it, so this is a guess:
    $STRIKEWATCH_LINKS=print (or =hyperlink) decides; else the Linux console, TERM=dumb,
    GNU screen and the legacy Windows console are taken not to show them."""
    choice = os.environ.get(LINKS_ENV_VAR, "").strip().lower()
    if choice in ("print", "text", "0", "no", "off"):
        return False
    if choice in ("hyperlink", "osc8", "1", "yes", "on"):
        return True
    term = os.environ.get("TERM", "")
    if term in ("dumb", "linux") or (term.startswith("screen") and not os.environ.get("TMUX")):
        return False
    return not console.legacy_windows


# -- layouts ----------------------------------------------------------------------------


class Cell(NamedTuple):
    """One column of a terminal layout."""

    header: str
    text: Callable[[dict[str, Any], Display], Text]
    flex: bool = False  # takes the rest of the line, cut with an ellipsis
    min_width: int = 12  # a flex column's least useful width
    link: str | None = None  # row key of the link this cell opens


class Layout(NamedTuple):
    cells: Sequence[Cell]
    # The narrowest terminal this layout is used on even when its flex columns must be cut;
    # None: only when everything fits whole.
    min_terminal: int | None = 0


def plain(value: Any) -> Text:
    from rich.text import Text

    return Text(" ".join(strip_controls(str(value if value is not None else "")).split()))


def fit_widths(
    cells: Sequence[Cell], texts: Sequence[Sequence[Text]], width: int
) -> tuple[list[int], str]:
    """Each column's width at this terminal width, and how well the layout fits: "whole" (no
    cell cut), "cut" (flex cells cut, each at least its least useful width) or "cramped"."""
    widths = [
        max([len(cell.header), *(line[index].cell_len for line in texts)])
        for index, cell in enumerate(cells)
    ]
    flex = [index for index, cell in enumerate(cells) if cell.flex]
    fixed = sum(widths[index] for index in range(len(cells)) if index not in flex)
    room = width - fixed - GAP * (len(cells) - 1)
    wanted = {index: widths[index] for index in flex}
    if sum(wanted.values()) <= room:
        return widths, "whole"
    # Share the room: each flex column its least width first, then the rest in turns.
    given = {index: min(wanted[index], cells[index].min_width) for index in flex}
    left = room - sum(given.values())
    fit = "cut" if left >= 0 else "cramped"
    while left < 0 and any(given[index] > 1 for index in flex):  # too narrow: shrink them all
        for index in flex:
            if left < 0 and given[index] > 1:
                given[index] -= 1
                left += 1
    while left > 0:
        hungry = [index for index in flex if given[index] < wanted[index]]
        if not hungry:
            break
        share = max(1, left // len(hungry))
        for index in hungry:
            extra = min(share, wanted[index] - given[index], left)
            given[index] += extra
            left -= extra
    for index in flex:
        widths[index] = max(1, given[index])
    return widths, fit


def choose(
    layouts: Sequence[Layout], rows: Sequence[dict[str, Any]], display: Display, width: int
) -> tuple[Layout, list[list[Text]], list[int]]:
    """The richest layout that suits this width: one that fits whole, else one whose
    min_terminal the width reaches and whose cut cells keep their least useful width; else the
    last (leanest) one."""
    chosen = None
    for layout in layouts:
        texts = [[cell.text(row, display) for cell in layout.cells] for row in rows]
        widths, fit = fit_widths(layout.cells, texts, width)
        chosen = (layout, texts, widths)
        if display.wide or fit == "whole":
            return chosen
        if fit == "cut" and layout.min_terminal is not None and width >= layout.min_terminal:
            return chosen
    assert chosen is not None
    return chosen


def print_fitted(
    rows: Sequence[dict[str, Any]],
    layouts: Sequence[Layout],
    console: Console,
    display: Display,
    title: str | None = None,
) -> None:
    """One line per row (a second line for its link when links are printed whole)."""
    from rich.style import Style
    from rich.text import Text

    width = console.width
    layout, texts, widths = choose(layouts, rows, display, width)
    cells = layout.cells
    hyperlinks = not display.links and terminal_shows_hyperlinks(console)
    link_key = next((cell.link for cell in cells if cell.link), None)
    if title:
        console.print(plain(title), style="bold", soft_wrap=True)
    header = Text()
    for index, cell in enumerate(cells):
        if index:
            header.append(" " * GAP)
        last = index == len(cells) - 1
        header.append(cell.header if last else cell.header.ljust(widths[index]), style="bold")
    console.print(header, no_wrap=True, overflow="ellipsis", crop=True)
    console.print(Text("─" * min(width, sum(widths) + GAP * (len(cells) - 1)), style="dim"))
    for row, line_texts in zip(rows, texts, strict=True):
        line = Text()
        for index, (cell, text) in enumerate(zip(cells, line_texts, strict=True)):
            if index:
                line.append(" " * GAP)
            last = index == len(cells) - 1
            if cell.flex and not display.wide:
                text = text.copy()
                text.truncate(widths[index], overflow="ellipsis", pad=not last)
            elif not last:
                text = text.copy()
                text.pad_right(max(0, widths[index] - text.cell_len))
            if cell.link and hyperlinks and (link := safe_link(row.get(cell.link))):
                text.stylize(Style(link=link), 0, len(text.plain.rstrip()))
            line.append_text(text)
        if display.wide:
            console.print(line, soft_wrap=True)
        else:
            console.print(line, no_wrap=True, overflow="ellipsis", crop=True)
        if link_key and not hyperlinks and row.get(link_key):
            # Printed whole, even past the edge: a link cut short opens nothing.
            console.print(plain(row[link_key]), style="dim", soft_wrap=True)


def default_layouts(columns: Sequence[Any]) -> list[Layout]:
    """A layout for a listing that has none of its own: cells that must not wrap are fixed,
    the others share the rest of the line."""

    def cell_for(column: Any) -> Cell:
        def text(row: dict[str, Any], display: Display) -> Text:
            if column.row_format is not None:
                return plain(column.row_format(row))
            value = row.get(column.key)
            if column.when is not None:
                value = (local_minute if column.when == "minute" else local_date)(value, display)
            elif column.format is not None:
                value = column.format(value)
            elif isinstance(value, list | tuple):
                value = " ".join(str(part) for part in value)
            elif isinstance(value, bool):
                value = "yes" if value else "no"
            return plain(value)

        return Cell(column.header, text, flex=not column.no_wrap)

    return [Layout([cell_for(column) for column in columns])]
