"""The command line: options in, library calls, results out. No logic of its own."""

from __future__ import annotations

import gc
import json
import math
import os
import re
import signal
import sqlite3
import sys
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

import click

from strikewatch import __version__, taxonomy
from strikewatch.errors import (
    DeliveryError,
    PollLocked,
    StoreError,
    StrikewatchError,
    Terminated,
    UsageError,
)
from strikewatch.filters import TimelineFilter, date_bound
from strikewatch.paths import (
    RULES_ENV_VAR,
    configured_rule_files,
    default_db_path,
    user_rules_path,
)
from strikewatch.render import (
    ALERT_COLUMNS,
    EXPLAIN_COLUMNS,
    FEED_COLUMNS,
    SEARCH_COLUMNS,
    STATUS_COLUMNS,
    TIMELINE_COLUMNS,
    ProgressReporter,
    emit,
    flat_status,
    one_line,
    print_explanation,
    print_status,
)
from strikewatch.store import Store, describe_sqlite_error, feed_summary, sqlite_uri_path
from strikewatch.tables import Display

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from strikewatch.classify import Classifier


def main() -> None:
    """The `strikewatch` program: SIGTERM (`timeout`, `kill`, a service manager) ends a command
    through its clean-up, as Ctrl-C does; a second signal ends it at once."""
    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    try:
        cli(prog_name="strikewatch")
    finally:
        # Everything the command made lives until the process ends: frozen, the interpreter's
        # last garbage collection need not walk it ("exit" in bench_poll.py's breakdown).
        gc.freeze()


def _stop(signum: int, frame: Any) -> None:
    signal.signal(signum, signal.SIG_DFL)
    raise Terminated() if signum == signal.SIGTERM else KeyboardInterrupt()


class OneLineUsageError(click.UsageError):
    """A usage error as every command shows it: the usage line, then one line saying what is
    wrong (click's own adds a hint and a blank line; ours read the same everywhere)."""

    def show(self, file: Any = None) -> None:
        file = file or sys.stderr
        if self.ctx is not None:
            click.echo(self.ctx.get_usage(), file=file, color=self.ctx.color)
        click.echo(f"Error: {self.format_message()}", file=file)


def _one_line_usage_errors(make_context: Callable[..., click.Context]) -> Any:
    def wrapped(*args: Any, **kwargs: Any) -> click.Context:
        try:
            return make_context(*args, **kwargs)
        except OneLineUsageError:
            raise
        except click.UsageError as error:
            raise OneLineUsageError(error.format_message(), error.ctx) from None

    return wrapped


class StrikewatchCommand(click.Command):
    """Every command: also takes --db after its name, and shows usage errors in one style."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.params.append(db_option_after_command())

    def make_context(self, *args: Any, **kwargs: Any) -> click.Context:
        return _one_line_usage_errors(super().make_context)(*args, **kwargs)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except UsageError as error:  # ours, raised by the command: with this command's usage
            raise OneLineUsageError(str(error), ctx) from None


class StrikewatchGroup(click.Group):
    """Turns our exceptions into one-line errors with the exit codes the README documents."""

    command_class = StrikewatchCommand

    def make_context(self, *args: Any, **kwargs: Any) -> click.Context:
        return _one_line_usage_errors(super().make_context)(*args, **kwargs)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            result = super().invoke(ctx)
            if self.invoke_without_command and ctx.invoked_subcommand is None:
                click.echo(ctx.get_help())  # a bare `strikewatch`, `feeds`...: help, not an error
            return result
        except PollLocked as error:
            # Cron overlapping a healthy run is no news; one holding on for an hour may be stuck.
            if error.stale or not getattr(ctx.obj, "quiet", False):
                click.echo(f"strikewatch: {error}", err=True)
            ctx.exit(0)
        except UsageError as error:
            raise OneLineUsageError(str(error), click.get_current_context()) from None
        except click.UsageError as error:
            if isinstance(error, OneLineUsageError):
                raise
            raise OneLineUsageError(error.format_message(), error.ctx) from None
        except StrikewatchError as error:
            raise click.ClickException(str(error)) from None
        except sqlite3.Error as error:
            opened = getattr(ctx.obj, "_store", None)
            raise click.ClickException(
                f"database error: {describe_sqlite_error(error, opened.path if opened else None)}"
            ) from None
        except KeyboardInterrupt:
            click.echo("strikewatch: interrupted", err=True)
            ctx.exit(130)
        except Terminated:
            click.echo("strikewatch: terminated", err=True)
            ctx.exit(143)
        except BrokenPipeError:
            # The reader went away (`| head`); silence the interpreter's own complaint too.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            ctx.exit(0)
        except OSError as error:
            if error.errno == 28:
                raise click.ClickException("the disk is full: nothing more was written") from None
            raise click.ClickException(
                f"{error.filename or 'I/O error'}: {error.strerror or error}"
            ) from None


class App:
    """What every command needs: where the database is, which rules apply."""

    def __init__(
        self, db_path: str, rules: list[str] | None = None, db_given: bool = False
    ) -> None:
        self.db_path = db_path
        self.db_given = db_given  # --db or $STRIKEWATCH_DB, not the default location
        self.rules: list[str] = rules or []
        self.display = Display()
        self.quiet = False
        self._store: Store | None = None
        self._classifier: Classifier | None = None

    def store(self, read_only: bool = False) -> Store:
        """The database; a command that only reads refuses to create one at a path the user
        gave (a typo in --db would otherwise leave a new empty file and its folders behind)."""
        if self._store is None:
            if read_only and self.db_given and self.db_path and not os.path.exists(self.db_path):
                raise StoreError(
                    f"{self.db_path}: no such database (check --db or $STRIKEWATCH_DB;"
                    " `strikewatch import` or `poll` creates one)"
                )
            self._store = Store.open(self.db_path)
            click.get_current_context().call_on_close(self._store.close)
        return self._store

    def classifier(self, extra_rules: tuple[str, ...] = ()) -> Classifier:
        if self._classifier is None or extra_rules:
            from strikewatch.classify import load_classifier

            self._classifier = load_classifier([*self.rules, *extra_rules])
        return self._classifier


# -- reusable options ------------------------------------------------------------------


def _app(ctx: click.Context) -> App:
    app = ctx.find_object(App)
    if app is None:  # shell completion parses without running the group's callback
        app = App(db_path="")
        ctx.obj = app
    return app


# A file argument or option (not a folder). One instance serves all: each click.Path made asks
# gettext for its name, and every command has a --db.
FILE_PATH = click.Path(dir_okay=False)


def db_option_after_command() -> click.Option:
    """--db after the command's name (`strikewatch timeline --db x.db`), as before it."""

    def remember(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
        if value is not None:
            app = _app(ctx)
            app.db_path = value
            app.db_given = True

    return click.Option(
        ["--db"],
        type=FILE_PATH,
        metavar="FILE",
        expose_value=False,
        is_eager=True,  # before anything that reads the database (completion, checks)
        callback=remember,
        help="The database file (also accepted before the command).",
    )


def _set_display(attribute: str, value: Any = True) -> Callable[..., None]:
    def callback(ctx: click.Context, param: click.Parameter, given: bool) -> None:
        if given:
            setattr(_app(ctx).display, attribute, value)

    return callback


def display_options(pager: bool = False):
    """How a listing looks on a terminal: --utc, --wide, --links (and --no-pager for the long
    ones). Kept on the App, so that the commands' own arguments stay their filters."""

    def decorate(function):
        options = [
            click.option(
                "--utc",
                is_flag=True,
                expose_value=False,
                is_eager=True,  # before the DATE options, which it also changes
                callback=_set_display("utc"),
                help="Times and bare DATEs in UTC instead of your time zone ($TZ).",
            ),
            click.option(
                "--wide",
                is_flag=True,
                expose_value=False,
                callback=_set_display("wide"),
                help="On a terminal, show every cell whole (long ones wrap) instead of fitting each entry on one line.",
            ),
            click.option(
                "--links",
                is_flag=True,
                expose_value=False,
                callback=_set_display("links"),
                help="Print each link whole under its entry (for terminals without hyperlinks).",
            ),
        ]
        if pager:
            options.append(
                click.option(
                    "--no-pager",
                    is_flag=True,
                    expose_value=False,
                    callback=_page_unless,
                    help="Do not page a listing longer than the screen ($PAGER, else `less -R`).",
                )
            )
        return _decorated(function, options)

    return decorate


def _page_unless(ctx: click.Context, param: click.Parameter, no_pager: bool) -> None:
    """A long listing goes through the pager on a terminal (never when piped) unless --no-pager."""
    _app(ctx).display.pager = not no_pager


def output_options(function):
    """--json / --nl / --csv on every listing, stored as `fmt`."""
    return _decorated(
        function,
        [
            click.option("--json", "fmt", flag_value="json", help="One JSON array."),
            click.option(
                "--nl", "fmt", flag_value="nl", help="Newline-delimited JSON: one object per line."
            ),
            click.option(
                "--csv", "fmt", flag_value="csv", help="CSV: a header row, then one row per entry."
            ),
        ],
    )


def _decorated(function, options: list[Any]):
    """`function` with click `options`, listed in --help in the order given."""
    for option in reversed(options):
        function = option(function)
    return function


DATE_FORMS = (
    "DATE is YYYY-MM-DD (a whole day in your time zone, $TZ, or UTC with --utc), an ISO 8601"
    " timestamp (2023-07-13T18:00-07:00), or relative: 12h, 7d, 2w ago."
)


class DateBound(str):
    """A DATE option's value: the UTC bound it stands for, remembering what the user typed."""

    given: str

    def __new__(cls, bound: str, given: str) -> DateBound:
        made = super().__new__(cls, bound)
        made.given = given
        return made


class DateType(click.ParamType):
    name = "DATE"

    def __init__(self, end_of_day: bool = False):
        self.end_of_day = end_of_day

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        zone = UTC if ctx is not None and _app(ctx).display.utc else None  # None: the user's
        try:
            bound = date_bound(str(value), end_of_day=self.end_of_day, zone=zone) or ""
            return DateBound(bound, str(getattr(value, "given", value)))
        except UsageError as error:
            self.fail(str(error), param, ctx)


class Seconds(click.ParamType):
    """A timeout: a finite number of seconds in a sane range (float() also reads nan and inf)."""

    name = "SECONDS"

    def __init__(self, low: float = 0.1, high: float = 600.0):
        self.low = low
        self.high = high

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> float:
        try:
            seconds = float(value)
        except (TypeError, ValueError):
            seconds = math.nan
        if not (self.low <= seconds <= self.high):  # also false for nan
            self.fail(
                f"{value!r} is not a number of seconds from {self.low:g} to {self.high:g}",
                param,
                ctx,
            )
        return seconds


TIMEOUT = Seconds()


class LosAngelesDay(DateType):
    """A DATE read as a day in Los Angeles, where strike days are counted: a bare date is that
    day; a time or a relative date is the Los Angeles day it falls on."""

    name = "DATE"

    def __init__(self) -> None:
        super().__init__(end_of_day=True)

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, date):
            return value
        moment = super().convert(value, param, ctx)  # the usage errors of every DATE
        from strikewatch.status import la_day

        text = str(value).strip()
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            return date.fromisoformat(text)
        return la_day(datetime.fromisoformat(moment))


class IdType(click.ParamType):
    """A guild or event id, case-insensitive, with aliases; errors list what is accepted (the
    taxonomy's ids, with those the rules files add)."""

    def __init__(
        self,
        name: str,
        resolve: Callable[[str], str | None],
        known: Callable[[], tuple[str, ...]],
    ):
        self.name = name
        self.resolve = resolve
        self.known = known

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        resolved = self.resolve(str(value))
        if resolved is None:
            self.fail(
                f"unknown {self.name} {value!r}; choose from: {', '.join(self.known())}", param, ctx
            )
        return resolved

    def shell_complete(
        self, ctx: click.Context, param: click.Parameter, incomplete: str
    ) -> list[Any]:
        from click.shell_completion import CompletionItem

        return [
            CompletionItem(known) for known in self.known() if known.startswith(incomplete.lower())
        ]


# -- shell completion from the database ------------------------------------------------------


def _completion_db(ctx: click.Context) -> str | None:
    """The database a command line being completed names, without creating one."""
    app = ctx.find_object(App)
    if app is not None and app.db_given:
        return app.db_path
    while ctx is not None:
        if ctx.params.get("db_path"):
            return ctx.params["db_path"]
        ctx = ctx.parent
    try:
        return default_db_path()
    except UsageError:
        return None


def _names_in_db(ctx: click.Context, sql: str) -> list[str]:
    """Names for completion: read-only, and nothing at all when there is no database yet."""
    path = _completion_db(ctx)
    if not path or not os.path.isfile(path):
        return []
    try:
        conn = sqlite3.connect(f"file:{sqlite_uri_path(path)}?mode=ro", uri=True, timeout=1)
        try:
            return [str(row[0]) for row in conn.execute(sql) if row[0]]
        finally:
            conn.close()
    except sqlite3.Error:
        return []


def _complete_sources(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[str]:
    names = _names_in_db(
        ctx, "SELECT name FROM feeds UNION SELECT DISTINCT source FROM items ORDER BY 1"
    )
    return [name for name in names if name.lower().startswith(incomplete.lower())]


def _complete_feeds(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[str]:
    names = _names_in_db(ctx, "SELECT name FROM feeds ORDER BY name")
    return [name for name in names if name.lower().startswith(incomplete.lower())]


class IdOption(click.Option):
    """An option of IdType whose help lists the ids known when help is shown ("{ids}")."""

    def get_help_record(self, ctx: click.Context) -> tuple[str, str] | None:
        template = self.help or ""
        assert isinstance(self.type, IdType)
        self.help = template.replace("{ids}", ", ".join(self.type.known()))
        try:
            return super().get_help_record(ctx)
        finally:
            self.help = template


GUILD = IdType("guild", taxonomy.resolve_guild, taxonomy.guild_ids)
EVENT = IdType("event", taxonomy.resolve_event, taxonomy.event_ids)


def _tag_and_source_options(things: str, source_help: str) -> list[Any]:
    """--guild, --event and --source, as every command that filters by them spells them
    (`things`: "items" or "stories")."""
    return [
        click.option(
            "--guild",
            "-g",
            "guilds",
            type=GUILD,
            cls=IdOption,
            multiple=True,
            help=f"Only {things} about this guild (repeatable): {{ids}}.",
            metavar="GUILD",
        ),
        click.option(
            "--event",
            "-e",
            "events",
            type=EVENT,
            cls=IdOption,
            multiple=True,
            help=f"Only {things} reporting this event (repeatable): {{ids}}.",
            metavar="EVENT",
        ),
        click.option(
            "--source",
            "sources",
            multiple=True,
            metavar="NAME",
            shell_complete=_complete_sources,
            help=source_help,
        ),
    ]


def filter_options(
    with_since: bool = True,
    timeline: bool = True,
    limit_default: int | None = None,
    limit_help: str = "Keep the most recent N (still printed oldest first).",
):
    """The timeline filters (README: Filters), shared by timeline, since, export and search
    (which has no --all or --no-collapse: it ranks stories, tracked or not)."""

    def decorate(function):
        guild, event, source = _tag_and_source_options(
            "items", "Only items from this source (feed name; repeatable)."
        )
        options = [guild, event]
        if with_since:
            options.append(
                click.option(
                    "--since",
                    type=DateType(),
                    help="Only items published on or after DATE (see below).",
                )
            )
        options += [
            click.option(
                "--until",
                type=DateType(end_of_day=True),
                help="Only items published on or before DATE.",
            ),
            source,
            click.option(
                "--limit",
                "-n",
                type=click.IntRange(min=1, max=2**63 - 1),  # SQLite integers are 64-bit
                metavar="N",
                default=limit_default,
                show_default=limit_default is not None,
                help=limit_help,
            ),
        ]
        if timeline:
            options += [
                click.option(
                    "--all",
                    "include_untagged",
                    is_flag=True,
                    help="Include items not tagged with any guild.",
                ),
                click.option(
                    "--no-collapse",
                    "collapse",
                    is_flag=True,
                    flag_value=False,
                    default=True,
                    help="One entry per item, instead of one per story (several outlets' reports of the same event).",
                ),
            ]
        return _decorated(function, options)

    return decorate


def check_rules_paths(
    ctx: click.Context, param: click.Parameter, paths: tuple[str, ...]
) -> tuple[str, ...]:
    """A --rules that is a device, a pipe or over 1 MB is a usage error (exit 2) before
    anything reads it; $STRIKEWATCH_RULES is refused the same way when read (exit 1)."""
    if not paths:
        return paths
    from strikewatch.rulefiles import rules_file_problem

    for path in paths:
        problem = rules_file_problem(path)
        if problem is not None:
            raise click.BadParameter(f"{path}: {problem}", ctx=ctx, param=param)
    return paths


def rules_option(function):
    return click.option(
        "--rules",
        "extra_rules",
        multiple=True,
        callback=check_rules_paths,
        type=FILE_PATH,
        help="A rules file that extends the default rules (repeatable).",
    )(function)


def examples(*lines: str, dates: bool = False) -> str:
    """A command's epilog: examples to copy, and where it takes them, the DATE forms."""
    parts = ["\b\nExamples:\n" + "\n".join(f"  {line}" for line in lines)]
    if dates:
        parts.append(DATE_FORMS)
    return "\n\n".join(parts)


# -- the commands ---------------------------------------------------------------------


@click.group(
    cls=StrikewatchGroup,
    context_settings={"help_option_names": ["-h", "--help"]},
    invoke_without_command=True,
    epilog=examples(
        "strikewatch import --sample && strikewatch timeline --guild wga",
        "strikewatch poll --quiet          # in cron: fetch the trade press",
        "strikewatch status                # who is on strike, since when",
    )
    + "\n\nEvery command takes -h/--help; `strikewatch COMMAND --db FILE` works too.",
)
@click.version_option(__version__, "--version", prog_name="strikewatch")
@click.option(
    "--db",
    "db_path",
    type=FILE_PATH,
    metavar="FILE",
    help="The database file (default: $STRIKEWATCH_DB, else strikewatch.db in your user data folder).",
)
@click.option(
    "--rules",
    "rules",
    multiple=True,
    callback=check_rules_paths,
    type=FILE_PATH,
    help=(
        f"A rules file extending the defaults (repeatable; also ${RULES_ENV_VAR}; "
        "rules.toml in your user config folder is always loaded when it exists)."
    ),
)
@click.pass_context
def cli(ctx: click.Context, db_path: str | None, rules: tuple[str, ...]) -> None:
    """Track Hollywood labor news: poll the trade press, tag guilds and events, show a timeline."""
    given = db_path is not None or bool(os.environ.get("STRIKEWATCH_DB"))
    if db_path is None:  # not `or`: --db "" is a mistake to report, not the default database
        db_path = default_db_path()
    ctx.obj = App(db_path=db_path, rules=[*configured_rule_files(), *rules], db_given=given)
    # Before any subcommand reads its options: a party or event a rules file adds is a valid
    # --guild/--event, a status row, a chart letter.
    taxonomy.forget_additions()
    taxonomy.add_from_rules_files(ctx.obj.rules)


@cli.command(
    short_help="Print the database path in use (or the rules files).",
    epilog=examples(
        "strikewatch path", 'sqlite-utils tables "$(strikewatch path)"', "strikewatch path --rules"
    ),
)
@click.option(
    "--rules",
    "show_rules",
    is_flag=True,
    help="Print the rules files in use instead, in the order they are loaded.",
)
@click.pass_obj
def path(app: App, show_rules: bool) -> None:
    """Print the path of the database in use (or, with --rules, of the rules files)."""
    if not show_rules:
        click.echo(os.path.abspath(os.path.expanduser(str(app.db_path))))
        return
    from strikewatch.bundled import bundled_rule_files

    for bundled in bundled_rule_files():
        click.echo(str(bundled))
    for extra in app.rules:
        click.echo(os.path.realpath(os.path.expanduser(extra)))
    user_rules = user_rules_path()
    if not os.path.isfile(user_rules):
        click.echo(f"# no {user_rules} (create it to extend the rules everywhere)", err=True)


# feeds ------------------------------------------------------------------------------


@cli.group(
    cls=StrikewatchGroup,
    invoke_without_command=True,
    epilog=examples(
        "strikewatch feeds list",
        "strikewatch feeds add https://deadline.com/v/film/feed/ --name deadline",
        "strikewatch feeds remove deadline",
    ),
)
def feeds() -> None:
    """Manage the feeds that `poll` fetches."""


@feeds.command(
    "add",
    short_help="Subscribe to a feed (http, https or a local file).",
    epilog=examples(
        "strikewatch feeds add https://variety.com/v/biz/feed/ --name variety",
        "strikewatch feeds add https://www.wga.org     # a page: its feed is found",
        "strikewatch feeds add ~/feeds/guild.xml --name guild",
    ),
)
@click.argument("location", metavar="URL_OR_PATH")
@click.option("--name", help="Short name shown as the source (default: from the address).")
@click.option(
    "--no-check",
    is_flag=True,
    help="Subscribe to the address as given, without fetching it first (offline, scripts).",
)
@click.option(
    "--timeout",
    type=TIMEOUT,
    default=15.0,
    show_default=True,
    help="Deadline in seconds for fetching the address to check it.",
)
@click.pass_obj
def feeds_add(app: App, location: str, name: str | None, no_check: bool, timeout: float) -> None:
    """Subscribe to a feed (http, https or a local file path).

    A web address is fetched once first: when it is a web page, the feed the page names
    (<link rel="alternate" type="application/rss+xml"> or Atom) is subscribed instead; when it
    redirects permanently (301, 308), the address it redirects to is subscribed.
    """
    from strikewatch.fetch import is_remote
    from strikewatch.subscriptions import add_feed, normalize_location

    if not location.strip():
        raise UsageError("no feed given: give a URL (https://...) or a file path")
    if is_remote(location):
        location = normalize_location(location)  # a usage error when it is no usable address
        if not no_check:
            from strikewatch.discover import check_address
            from strikewatch.fetch import new_session

            checked = check_address(new_session(), location, timeout=timeout)
            if checked.unchecked:
                click.echo(
                    f"warning: {location}: could not check it now ({one_line(checked.unchecked)});"
                    " subscribing all the same: `poll` will tell",
                    err=True,
                )
            if checked.moved_from:
                click.echo(
                    f"{checked.moved_from} moved permanently to {one_line(checked.url)};"
                    " subscribing to the new address"
                )
            if checked.page:
                click.echo(f"{checked.page} is a web page; its feed is {one_line(checked.url)}")
            location = checked.url
    else:
        _check_local_feed(location)
    feed, created = add_feed(app.store(), location, name=name)
    if created:
        click.echo(f"Subscribed to {feed['name']}: {feed['url']}")
    else:
        click.echo(f"Already subscribed: {feed['name']} ({feed['url']}); nothing changed")


def _check_local_feed(location: str) -> None:
    """A local feed must be a regular file that exists; a bare host/path was meant as a URL."""
    from strikewatch.ingest import read_file_start
    from strikewatch.parse import other_kind_of_file

    path = os.path.normpath(os.path.expanduser(location.removeprefix("file://")))
    if os.path.isfile(path):
        other = other_kind_of_file(read_file_start(path, 4096))
        if other is not None:
            raise UsageError(f"{location}: {other}")
        return
    if os.path.exists(path):
        raise UsageError(f"{location}: not a regular file (a folder, device or pipe)")
    hint = web_address_hint(location)
    if hint is not None:
        raise UsageError(f"{location}: no such file; {hint}")
    raise UsageError(f"{location}: not an http(s) URL and no such file")


def _ad_hoc_feed(location: str) -> dict[str, Any]:
    """A feed named to `poll` but not subscribed; a missing file whose name reads as a web
    address (deadline.com/feed) is a usage error with the https:// hint, as in `feeds add`."""
    from strikewatch import poll as polling
    from strikewatch.fetch import is_remote

    if not is_remote(location) and not os.path.exists(os.path.expanduser(location)):
        hint = web_address_hint(location)
        if hint is not None:
            raise UsageError(f"{location}: no such file; {hint}")
    return polling.ad_hoc_feed(location)


def web_address_hint(location: str) -> str | None:
    """The hint "for a web address, give https://deadline.com/feed" when a missing file's name
    reads as a host and a path (deadline.com/feed), else None."""
    first = location.split("/", 1)[0]
    suffix = first.rpartition(".")[2].lower()
    looks_like_host = (
        "." in first.strip(".")
        and suffix.isalpha()
        and suffix
        not in ("xml", "rss", "atom", "rdf", "json", "jsonl", "opml", "html", "htm", "txt")
    )
    if "://" not in location and looks_like_host and not location.startswith(("~", ".")):
        return f"for a web address, give https://{location}"
    return None


@feeds.command(
    "list",
    short_help="Every feed with its health.",
    epilog=examples("strikewatch feeds list", "strikewatch feeds list --all --json"),
)
@click.option("--all", "show_all", is_flag=True, help="Include removed and gone feeds.")
@output_options
@display_options()
@click.pass_obj
def feeds_list(app: App, show_all: bool, fmt: str | None) -> None:
    """Every subscribed feed with its health: last status, last error, next poll."""
    rows = [
        feed_summary(feed) for feed in app.store(read_only=True).feeds(active_only=not show_all)
    ]
    emit(
        rows,
        fmt,
        FEED_COLUMNS,
        display=app.display,
        empty_message="No feeds yet: `strikewatch feeds add URL`, or `strikewatch poll` for the defaults.",
    )


@feeds.command(
    "remove",
    short_help="Unsubscribe from a feed (its items stay unless --purge).",
    epilog=examples("strikewatch feeds remove variety", "strikewatch feeds remove variety --purge"),
)
@click.argument("which", metavar="URL_OR_NAME", shell_complete=_complete_feeds)
@click.option("--purge", is_flag=True, help="Also delete the items only this feed carried.")
@click.pass_obj
def feeds_remove(app: App, which: str, purge: bool) -> None:
    """Unsubscribe from a feed; its items stay unless --purge (which also works on a feed
    removed before)."""
    from strikewatch.subscriptions import find_feed

    store = app.store()
    feed = find_feed(store, which)
    if feed is None:
        raise UsageError(f"no feed {which!r}; `strikewatch feeds list` shows the names")
    if not feed["active"] and not purge:
        raise UsageError(
            f"{feed['name']} ({feed['url']}) is not subscribed (removed before);"
            " --purge deletes its items"
        )
    deleted = store.remove_feed(feed["id"], purge=purge)
    if purge:
        from strikewatch.pipeline import finish

        finish(store)  # the strike standing, when a purged report was a strike's
        click.echo(f"Removed {feed['name']} and {deleted} item(s) only it carried")
    else:
        click.echo(f"Unsubscribed from {feed['name']}; its items stay (use --purge to delete them)")


@feeds.command(
    "export",
    short_help="Write the subscribed feeds as OPML.",
    epilog=examples("strikewatch feeds export > strikewatch.opml"),
)
@click.pass_obj
def feeds_export(app: App) -> None:
    """Write the subscribed feeds as OPML 2.0 to stdout (for any feed reader)."""
    from strikewatch.opml import write_opml

    click.echo(write_opml(app.store().feeds(active_only=True)), nl=False)


@feeds.command(
    "import",
    short_help="Subscribe to the feeds in an OPML file.",
    epilog=examples("strikewatch feeds import feedly.opml"),
)
@click.argument("file", metavar="FILE.opml", type=FILE_PATH)
@click.option(
    "--allow-files",
    is_flag=True,
    help="Also subscribe to file:// entries (regular files only): trust the OPML file first.",
)
@click.pass_obj
def feeds_import(app: App, file: str, allow_files: bool) -> None:
    """Subscribe to the feeds in an OPML file exported by a feed reader.

    Categories (nested outlines) are flattened; feeds already subscribed, or listed twice,
    are skipped and counted. Local file entries (file://) are skipped unless --allow-files.
    """
    from strikewatch.opml import import_feeds, read_opml

    result = import_feeds(app.store(), read_opml(file), allow_files=allow_files)
    for url, why in result.skipped:
        click.echo(f"warning: {file}: skipped {url}: {why}", err=True)
    click.echo(
        f"Subscribed to {len(result.added)} feed(s) from {os.path.basename(os.path.normpath(file))};"
        f" {result.duplicates} duplicate(s) skipped"
        + (f", {len(result.skipped)} unusable" if result.skipped else "")
    )


# poll and import --------------------------------------------------------------------


@cli.command(
    short_help="Fetch every feed and store new items.",
    epilog=examples(
        "strikewatch poll",
        "strikewatch poll --quiet            # cron: silent unless something failed",
        "strikewatch poll https://deadline.com/feed/ --timeout 10",
    ),
)
@click.argument("locations", nargs=-1, metavar="[URL_OR_PATH]...")
@click.option(
    "--timeout",
    type=TIMEOUT,
    default=30.0,
    show_default=True,
    help="Deadline in seconds for each feed: connecting, redirects, headers and body.",
)
@click.option(
    "--quiet", "-q", is_flag=True, help="Print nothing unless something failed (for cron)."
)
@output_options
@click.pass_obj
def poll(
    app: App, locations: tuple[str, ...], timeout: float, quiet: bool, fmt: str | None
) -> None:
    """Fetch every active feed (or the ones named) and store new items; then every alert
    acts on the new stories it matches.

    With --json, --nl or --csv, prints this run's new stories as timeline entries instead of
    the summary. Exits 1 if any feed or alert delivery failed (the others' items are still
    stored, the other alerts still act).
    """
    from strikewatch import poll as polling
    from strikewatch.fetch import new_session
    from strikewatch.subscriptions import add_feed, find_feed

    app.quiet = quiet  # an overlapping run under --quiet is silent (see StrikewatchGroup.invoke)
    store = app.store()
    with polling.poll_lock(store.path):
        before_run = store.last_item_id()
        if locations:
            targets = [
                find_feed(store, location) or _ad_hoc_feed(location) for location in locations
            ]
        else:
            if store.feed_count() == 0:
                defaults = polling.default_feeds()
                for entry in defaults:
                    add_feed(store, entry["url"], name=entry["name"], title=entry["title"])
                if not quiet:
                    click.echo(
                        f"No feeds yet: subscribed to the {len(defaults)} default trade-press feeds.",
                        err=True,
                    )
            targets = store.feeds(active_only=True)
            if not targets:
                if not quiet:
                    click.echo(
                        "No active feeds: `strikewatch feeds add URL` to subscribe.", err=True
                    )
                if fmt:
                    emit([], fmt, TIMELINE_COLUMNS)
                return
        classifier = polling.deferred_classifier(app.rules)
        with ProgressReporter("Polling", total=len(targets), enabled=not quiet) as progress:
            report = polling.poll_feeds(
                store,
                targets,
                session=new_session(),
                classifier=classifier,
                timeout=timeout,
                respect_schedule=not locations,
                on_feed_done=lambda _outcome: progress.advance(),
            )
    if quiet and report.offline:
        # Cron mail: one line for a network that is down, not one per feed.
        failed = sum(1 for outcome in report.outcomes if outcome.failed)
        click.echo(
            f"error: no feed could be reached at all (is the network down?): {failed} feed(s)"
            " failed; they will all be tried again next run, without backoff",
            err=True,
        )
    for outcome in report.outcomes:
        if quiet and report.offline:
            break
        feed = f"{one_line(outcome.name)} ({one_line(outcome.url)})"
        if outcome.failed:
            click.echo(f"error: {feed}: {one_line(outcome.error)}", err=True)
        elif outcome.warning and not outcome.warned_before and not quiet:
            click.echo(f"warning: {feed}: {one_line(outcome.warning)}", err=True)
        if outcome.moved_to and not quiet:
            click.echo(
                f"note: {feed}: moved permanently to {one_line(outcome.moved_to)}; "
                f"{outcome.moved_note}",
                err=True,
            )
    if any(outcome.store_failed for outcome in report.outcomes):
        # Say what did get stored, so that a full disk is not taken for a lost poll.
        stored = [
            f"{one_line(outcome.name)} ({len(outcome.new_ids)} new, {len(outcome.updated_ids)} updated)"
            for outcome in report.outcomes
            if not outcome.failed and outcome.skipped_until is None
        ]
        click.echo(
            f"note: stored before or despite that: {', '.join(stored) or 'no feed'}", err=True
        )
    if report.offline and not quiet:
        click.echo(
            "note: no feed could be reached at all (is the network down?); "
            "they will all be tried again next run, without backoff",
            err=True,
        )
    if fmt:
        from strikewatch.alerts import new_story_entries

        emit(new_story_entries(store, before_run), fmt, TIMELINE_COLUMNS)
    elif not quiet:
        click.echo(polling.summarize(report))
        _show_new_items(store, report.new_ids)
    if report.grouping_error:
        click.echo(
            "error: the run's last steps (grouping stories, saving the strike standing) failed:"
            f" {report.grouping_error}; what was stored stays, and the next run takes them",
            err=True,
        )
    alerts_failed = _act_on_alerts(store, quiet)
    if report.failures or report.grouping_error or alerts_failed:
        sys.exit(1)


def _show_new_items(store: Store, new_ids: list[int]) -> None:
    tagged = [row for row in store.items_by_id(new_ids) if row["guilds"]]
    if tagged:
        emit(tagged, None, TIMELINE_COLUMNS)


@cli.command(
    "import",
    short_help="Import local feed files or archives (no network).",
    epilog=examples(
        "strikewatch import --sample",
        "strikewatch import saved-feed.xml archive.jsonl",
    ),
)
@click.argument("files", nargs=-1, type=FILE_PATH)
@click.option("--sample", is_flag=True, help="Load the bundled archive of 2023 strike coverage.")
@click.option("--quiet", "-q", is_flag=True, help="Print nothing unless something failed.")
@click.option(
    "--jobs",
    "-j",
    type=click.IntRange(min=1, max=64),
    metavar="N",
    default=1,
    show_default=True,
    help="Processes for a JSON-lines archive: N - 1 parse and tag while this one stores.",
)
@click.pass_obj
def import_(app: App, files: tuple[str, ...], sample: bool, quiet: bool, jobs: int) -> None:
    """Import local RSS/Atom files or JSON-lines archives, no network needed.

    Archive lines are JSON objects with title and link (required), published, summary and
    source. Bad lines are reported by number; the good ones are still imported.
    """
    from strikewatch.ingest import import_file, sample_archive_path

    paths: list[str | Path] = list(files)
    if sample:
        paths.insert(0, sample_archive_path())
    if not paths:
        raise UsageError("name at least one FILE to import, or use --sample")
    store = app.store()
    classifier = app.classifier()
    failed = False
    with ProgressReporter("Importing", total=None, enabled=not quiet) as progress:
        for path in paths:
            try:
                report = import_file(store, path, classifier, on_items=progress.advance, jobs=jobs)
            except StrikewatchError as error:
                click.echo(f"error: {error}", err=True)
                failed = True
                continue
            for line_error in report.line_errors:
                click.echo(
                    f"error: {path}: line {line_error.line_number}: {line_error.message}", err=True
                )
            failed = failed or bool(report.line_errors)
            if report.warning and not quiet:
                click.echo(f"warning: {path}: {report.warning}", err=True)
            if not quiet:
                skipped = (
                    f", {len(report.line_errors)} bad line(s) skipped" if report.line_errors else ""
                )
                click.echo(
                    f"{os.path.basename(os.path.normpath(path))}: {len(report.new_ids)} new, {len(report.updated_ids)} updated, "
                    f"{report.unchanged} already stored{skipped}"
                )
    alerts_failed = _act_on_alerts(store, quiet)
    if failed or alerts_failed:
        sys.exit(1)


# timeline ----------------------------------------------------------------------------


def _timeline(app: App, fmt: str | None, **filters: Any) -> None:
    store = app.store(read_only=True)
    check_sources(store, filters.get("sources") or ())
    rows = store.iter_timeline(TimelineFilter(**filters))
    empty = "No items match."
    if store.item_count() == 0:
        empty = "No items yet. (`strikewatch import --sample` loads an example archive.)"
    emit(rows, fmt, TIMELINE_COLUMNS, empty_message=empty, display=app.display)


def check_sources(store: Store, sources: tuple[str, ...] | list[str]) -> None:
    """A --source that names no source is a typo to report, with the names there are."""
    if not sources:
        return
    known = store.conn.execute(
        "SELECT name FROM feeds UNION SELECT DISTINCT source FROM items ORDER BY 1"
    ).fetchall()
    names = {str(row[0]).lower(): str(row[0]) for row in known}
    unknown = [source for source in sources if source.lower() not in names]
    if unknown:
        listed = ", ".join(names.values()) or "none yet"
        raise UsageError(
            f"no source named {', '.join(map(repr, unknown))}; the sources are: {listed}"
        )


def check_range(filters: dict[str, Any]) -> None:
    since, until = filters.get("since"), filters.get("until")
    if since and until and since > until:
        raise UsageError("--since is after --until: no item can match (swap them?)")


TIMELINE_TAGS = (
    "On a terminal each entry is one line: date and time in your zone, source (+N other"
    " outlets), tags (WGA SAG AMPTP DGA IATSE Teamsters; meet? talks resumed stalled offer deal"
    " ratified authorized STRIKE strike-over) and the headline, a link where the terminal shows"
    " links. Piped, every column is printed whole."
)


@cli.command(
    short_help="The tracked items, oldest first.",
    epilog=examples(
        "strikewatch timeline --guild wga",
        "strikewatch timeline --event deal --event ratified --since 2023-09-01",
        "strikewatch timeline --guild sag --limit 20 --json",
        dates=True,
    )
    + "\n\n"
    + TIMELINE_TAGS,
)
@filter_options()
@output_options
@display_options(pager=True)
@click.pass_obj
def timeline(app: App, fmt: str | None, **filters: Any) -> None:
    """The tracked items, oldest first.

    By default only items tagged with at least one guild; --all adds the rest.
    """
    check_range(filters)
    _timeline(app, fmt, **filters)


@cli.command(
    short_help="The tracked items since DATE (timeline --since).",
    epilog=examples(
        "strikewatch since 7d", "strikewatch since 2023-07-13 --guild sag-aftra", dates=True
    ),
)
@click.argument("since", type=DateType(), metavar="DATE")
@filter_options(with_since=False)
@output_options
@display_options(pager=True)
@click.pass_obj
def since(app: App, since: str, fmt: str | None, **filters: Any) -> None:
    """The tracked items published since DATE (same as `timeline --since DATE`)."""
    filters["since"] = since
    check_range(filters)
    _timeline(app, fmt, **filters)


@cli.command(
    short_help="Full-text search over stored items, best match first.",
    epilog=examples(
        'strikewatch search "tentative agreement"',
        "strikewatch search strik* --guild wga --since 2023-05-01",
        'strikewatch search "residuals OR streaming" --json',
        dates=True,
    ),
)
@click.argument("query")
@filter_options(timeline=False, limit_default=20, limit_help="At most N stories.")
@output_options
@display_options(pager=True)
@click.pass_obj
def search(app: App, query: str, fmt: str | None, **filters: Any) -> None:
    """Full-text search over every stored item's title and summary, best match first.

    Words are all required; "quoted words" match as a phrase, strik* as a prefix, and OR
    between two words accepts either. Punctuation is ignored: sag-aftra is the phrase "sag aftra".
    """
    from strikewatch.search import search as run_search

    check_range(filters)
    store = app.store(read_only=True)
    check_sources(store, filters.get("sources") or ())
    rows = run_search(store.conn, query, **filters)
    emit(
        rows, fmt, SEARCH_COLUMNS, empty_message=f"Nothing matches {query!r}.", display=app.display
    )


@cli.command(
    short_help="Where each guild stands: on strike, since when, last event.",
    epilog=examples(
        "strikewatch status",
        "strikewatch status --as-of 2023-08-01 --guild wga",
        "strikewatch status --explain --guild sag-aftra",
        dates=True,
    )
    + "\n\nStrike days and --as-of days are Los Angeles days (contracts expire and strikes"
    " begin at 12:01 a.m. Pacific), whatever your time zone.",
)
@click.option(
    "--as-of",
    "as_of",
    type=LosAngelesDay(),
    help="Answer as things stood at the end of DATE (a Los Angeles day); default: today there.",
)
@click.option(
    "--guild",
    "-g",
    "guilds",
    type=GUILD,
    cls=IdOption,
    multiple=True,
    metavar="GUILD",
    help="Only this guild (repeatable): {ids}.",
)
@click.option(
    "--explain", is_flag=True, help="List every strike report and the day it takes effect."
)
@output_options
@display_options()
@click.pass_obj
def status(
    app: App, as_of: date | None, guilds: tuple[str, ...], explain: bool, fmt: str | None
) -> None:
    """Where each guild stands: on strike or not, on which contract (tv-theatrical,
    interactive, commercials), since when (day 1 is the start date), and the last event with
    its headline and link. Days are Los Angeles days.

    A strike report that schedules the change ("to begin at 12:01 a.m. Tuesday", "board votes
    to end strike at midnight") takes effect on the day it names, or the next day; a deal or a
    strike called off before that day cancels it. With no report from the last 60 days, it says
    how fresh its data is instead of answering.
    """
    from strikewatch.status import all_status, explain_strikes, today

    day = as_of or today()
    chosen = tuple(dict.fromkeys(guilds)) or taxonomy.guild_ids()
    conn = app.store(read_only=True).conn
    if explain:
        rows = [
            dict(entry, guild=guild)
            for guild in chosen
            for entry in explain_strikes(conn, guild, day)
        ]
        emit(rows, fmt, EXPLAIN_COLUMNS, empty_message="No strike reports.", display=app.display)
        return
    rows = all_status(conn, day, chosen)
    if fmt == "csv":
        emit(map(flat_status, rows), fmt, STATUS_COLUMNS, display=app.display)
    elif fmt:
        emit(rows, fmt, STATUS_COLUMNS, display=app.display)
    else:
        print_status(rows, display=app.display)


@cli.command(
    short_help="Write the timeline as an Atom feed for any feed reader.",
    epilog=examples(
        "strikewatch export --atom --guild wga > wga.atom",
        "strikewatch export --atom --since 30d --self-url https://example.org/strikes.atom",
        dates=True,
    ),
)
@click.option(
    "--atom", "as_atom", is_flag=True, help="Write an Atom 1.0 feed (the only format so far)."
)
@click.option(
    "--self-url",
    metavar="URL",
    help='Where the feed will be published: its rel="self" link (default: a tag: URI naming the filters).',
)
@filter_options(
    limit_help="Keep the newest N stories (the feed lists newest first).",
)
@click.pass_obj
def export(app: App, as_atom: bool, self_url: str | None, **filters: Any) -> None:
    """Export the timeline (same filters) as an Atom feed, one entry per story, newest first.

    The feed's id and title name the filters as given (`--since 30d`, not the day it meant), so
    a feed reader sees the same feed every time the export runs.
    """
    from strikewatch.atom import safe_link, write_atom

    if not as_atom:
        raise UsageError("choose a format: --atom")
    check_range(filters)
    store = app.store(read_only=True)
    check_sources(store, filters.get("sources") or ())
    rows = store.iter_timeline(TimelineFilter(**filters), newest_first=True)
    if self_url is not None and safe_link(self_url) is None:
        raise UsageError(
            f"--self-url {self_url!r}: give the http(s) address the feed is published at"
        )
    # The filters as the user wrote them: a relative --since stays "30d", so the feed's id and
    # title do not change from one run to the next.
    described = ", ".join(
        f"{key}={getattr(value, 'given', value) if isinstance(value, str | int) else ','.join(value)}"
        for key, value in sorted(filters.items())
        if value not in (None, (), False, True)
    )
    title = "strikewatch: Hollywood labor timeline" + (f" ({described})" if described else "")
    for piece in write_atom(
        rows, title=title, description=described, newest_first=True, self_url=self_url
    ):
        click.echo(piece, nl=False)


@cli.command(
    "datasette",
    short_help="Datasette metadata for the database (or --serve it).",
    epilog=examples(
        'strikewatch datasette > metadata.json && datasette "$(strikewatch path)" -m metadata.json',
        "strikewatch datasette --serve        # needs pip install 'strikewatch[datasette]'",
    ),
)
@click.option("--serve", is_flag=True, help="Run Datasette on the database with this metadata.")
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, writable=True),
    metavar="FILE",
    help="Write the metadata to FILE instead of stdout.",
)
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8001,
    show_default=True,
    metavar="N",
    help="With --serve: the port Datasette listens on (127.0.0.1 only).",
)
@click.pass_obj
def datasette_command(app: App, serve: bool, output: str | None, port: int) -> None:
    """Write Datasette metadata for the database: titles and column descriptions, facets on
    source, guilds and events, newest first, internal tables hidden, and canned queries
    (ranked search, each guild's strike reports, new since a date).

    With --serve, run Datasette with it; in the timeline view each story's id opens its item.
    """
    import subprocess
    import tempfile

    from strikewatch.datasette import metadata

    store = app.store(read_only=True)  # an existing database, migrated
    path = os.path.abspath(str(store.path))
    text = json.dumps(metadata(path), indent=2, ensure_ascii=False) + "\n"
    if not serve:
        if output:
            with open(output, "w", encoding="utf-8") as handle:
                handle.write(text)
        else:
            click.echo(text, nl=False)
        return
    import importlib.util

    if importlib.util.find_spec("datasette") is None:
        raise StrikewatchError(
            "Datasette is not installed: pip install 'strikewatch[datasette]' (or drop --serve"
            " and give the metadata to your own datasette with -m)"
        )
    with tempfile.TemporaryDirectory() as folder:
        metadata_path = output or os.path.join(folder, "metadata.json")
        with open(metadata_path, "w", encoding="utf-8") as handle:
            handle.write(text)
        command = [sys.executable, "-m", "datasette", "serve", path, "--metadata", metadata_path]
        code = subprocess.call([*command, "--port", str(port)])
    if code:
        sys.exit(code)


# classify ----------------------------------------------------------------------------


@cli.command(
    short_help="Run the rules on a headline: its guilds and events.",
    epilog=examples(
        'strikewatch classify "SAG-AFTRA reaches tentative deal with studios"',
        'strikewatch classify "Writers strike ends" --explain',
        "strikewatch classify --jsonl headlines.jsonl > tagged.jsonl",
    ),
)
@click.argument("text", required=False)
@click.option(
    "--summary", default="", help="A summary to classify along with TEXT as the headline."
)
@click.option(
    "--jsonl",
    "jsonl",
    is_flag=False,
    flag_value="-",
    default=None,
    metavar="[FILE]",
    help="Batch mode: read JSON objects (title, summary) one per line from FILE or stdin; write them back with guilds and events added.",
)
@click.option(
    "--explain", is_flag=True, help="Show which rule fired on which words, and what was suppressed."
)
@click.option(
    "--json", "as_json", is_flag=True, help="Print the tags (or the explanation) as JSON."
)
@rules_option
@click.pass_obj
def classify(
    app: App,
    text: str | None,
    summary: str,
    jsonl: str | None,
    explain: bool,
    as_json: bool,
    extra_rules: tuple[str, ...],
) -> None:
    """Run the rules on TEXT (a headline) and print its guilds and events."""
    from strikewatch.batch import classify_jsonl

    classifier = app.classifier(extra_rules)
    if jsonl is not None:
        if text is not None:
            raise UsageError("give TEXT or --jsonl, not both")
        # "-": stdin. Bytes that are not UTF-8 arrive as lone surrogates, and make their line's
        # error (batch._tag_chunk), not the whole run's.
        stream = click.open_file(jsonl, "r", encoding="utf-8", errors="surrogateescape")
        errors = classify_jsonl(classifier, stream, sys.stdout)
        for line_number, message in errors:
            click.echo(f"error: line {line_number}: {message}", err=True)
        if errors:
            sys.exit(1)
        return
    if text is None:
        raise UsageError("give a headline to classify, or --jsonl [FILE]")
    if explain:
        explanation = classifier.explain(text, summary)
        if as_json:
            click.echo(json.dumps(explanation.to_dict(), ensure_ascii=False, indent=2))
        else:
            print_explanation(explanation)
        return
    tags = classifier.classify(text, summary)
    if as_json:
        click.echo(json.dumps({"guilds": list(tags.guilds), "events": list(tags.events)}))
    else:
        click.echo(f"guilds: {', '.join(tags.guilds) or '(none)'}")
        click.echo(f"events: {', '.join(tags.events) or '(none)'}")


@cli.command(
    short_help="Re-run the current rules over every stored item.",
    epilog=examples(
        "strikewatch reclassify", "strikewatch reclassify --rules my-rules.toml --quiet"
    ),
)
@rules_option
@click.option("--quiet", "-q", is_flag=True, help="Print nothing unless something failed.")
@click.pass_obj
def reclassify(app: App, extra_rules: tuple[str, ...], quiet: bool) -> None:
    """Re-run the current rules over every stored item (after editing or adding rules)."""
    from strikewatch.pipeline import reclassify as reclassify_items

    store = app.store()
    classifier = app.classifier(extra_rules)
    with ProgressReporter("Reclassifying", total=store.item_count(), enabled=not quiet) as progress:
        seen, changed = reclassify_items(store, classifier, progress=progress.advance)
    if not quiet:
        click.echo(
            f"Reclassified {seen} item(s) with rules {classifier.version}: {changed} changed tags"
        )


@cli.group(cls=StrikewatchGroup, epilog=examples("strikewatch rules check"))
def rules() -> None:
    """Check the classifier's rules files."""


@rules.command(
    "check",
    short_help="Try the examples in the rules files.",
    epilog=examples("strikewatch rules check", "strikewatch rules check --rules my-rules.toml"),
)
@rules_option
@click.pass_obj
def rules_check(app: App, extra_rules: tuple[str, ...]) -> None:
    """Try every example and counterexample in the rules files; print each that fails."""
    from strikewatch.classify.check import check_rules

    result = check_rules([*app.rules, *extra_rules])
    for line in result.failures:
        click.echo(line)
    if result.failures:
        click.echo(f"{len(result.failures)} of {result.tried} example(s) failed", err=True)
        sys.exit(1)
    click.echo(f"All {result.tried} examples and counterexamples hold")


# alerts and digests ----------------------------------------------------------------


def _act_on_alerts(store: Store, quiet: bool) -> bool:
    """The end of every poll and import: each alert acts on the new stories it matches (see
    strikewatch/alerts.py). One line per delivery failure, naming the alert; True if any."""
    if not store.has_alerts():  # the usual poll: alerts.py (subprocess, delivery) stays unloaded
        return False
    from strikewatch.alerts import act_on_new

    failed = False
    for outcome in act_on_new(store):
        if not outcome.delivered:
            failed = True
            click.echo(outcome.line(), err=True)
        elif not quiet:
            click.echo(outcome.line(), err=True)
    return failed


def alert_filter_options(function):
    """The timeline filters an alert or a digest can keep: --guild, --event, --source."""
    options = _tag_and_source_options(
        "stories", "Only stories carried by this source (feed name; repeatable)."
    )
    return _decorated(function, options)


# The PATH cron gives its jobs: an --exec command must be found there, or named in full.
CRON_PATH = "/usr/bin:/bin"


def _complete_alerts(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[str]:
    names = _names_in_db(ctx, "SELECT name FROM alerts ORDER BY name")
    return [name for name in names if name.lower().startswith(incomplete.lower())]


def _complete_digests(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[str]:
    names = _names_in_db(ctx, "SELECT name FROM digest_marks ORDER BY name")
    return [name for name in names if name.lower().startswith(incomplete.lower())]


@cli.group(
    cls=StrikewatchGroup,
    invoke_without_command=True,
    short_help="Act once on each new matching story (a command or a notification).",
    epilog=examples(
        "strikewatch alerts add deals --event deal --exec /usr/local/bin/notify-me",
        "strikewatch alerts list",
        "strikewatch alerts test deals",
    ),
)
def alerts() -> None:
    """Be told of each new matching story, once, on every poll and import."""


@alerts.command(
    "add",
    short_help="Act once on each new story that matches.",
    epilog=examples(
        "strikewatch alerts add wga-deal --guild wga --event deal --exec /home/you/bin/page-me",
        "strikewatch alerts add strikes --event strike-started --notify 'ntfy://strikes'",
    ),
)
@click.argument("name")
@alert_filter_options
@click.option(
    "--exec",
    "command",
    metavar="CMD",
    help="Run CMD (split like a shell line, no shell) with the story as JSON on stdin.",
)
@click.option(
    "--notify",
    "url",
    metavar="URL",
    help="Send the story to an Apprise URL (needs: pip install 'strikewatch[notify]').",
)
@click.pass_obj
def alerts_add(
    app: App,
    name: str,
    guilds: tuple[str, ...],
    events: tuple[str, ...],
    sources: tuple[str, ...],
    command: str | None,
    url: str | None,
) -> None:
    """Add an alert: from now on, every poll and import acts once on each new story that
    matches the filters (a story reported by three outlets acts once).

    Reports that were more than 48 hours old when they arrived (a new feed's backlog, an
    archive import) never act.
    """
    import shutil

    from strikewatch.alerts import (
        add_alert,
        check_apprise_url,
        check_command,
        describe_filters,
        shown_target,
    )

    if (command is None) == (url is None):
        raise UsageError("give one action: --exec CMD or --notify URL")
    if command is not None:
        program = check_command(command)[0]
        if shutil.which(program) is None:
            raise UsageError(
                f"--exec: cannot find {program}"
                + (" (no such program)" if os.sep in program else " on your PATH")
            )
        if not os.path.isabs(program) and shutil.which(program, path=CRON_PATH) is None:
            found = shutil.which(program)
            click.echo(
                f"warning: {program} is not in {CRON_PATH}, cron's PATH"
                + (f"; give its full path, {found}" if found else ", nor on yours"),
                err=True,
            )
        action, target = "exec", command
    else:
        assert url is not None
        check_apprise_url(url)
        action, target = "notify", url
    alert = add_alert(
        app.store(),
        name,
        guilds=guilds,
        events=events,
        sources=sources,
        action=action,
        target=target,
    )
    click.echo(
        f"Added alert {alert['name']}: {describe_filters(alert)} -> {action}"
        f" {shown_target(action, target)}\n"
        "It acts on stories that arrive from now on; `strikewatch alerts test"
        f" {alert['name']}` tries it on the latest one."
    )


@alerts.command(
    "list",
    short_help="Every alert with its deliveries and failures.",
    epilog=examples("strikewatch alerts list", "strikewatch alerts list --json"),
)
@output_options
@display_options()
@click.pass_obj
def alerts_list(app: App, fmt: str | None) -> None:
    """Every alert: filters, action, when added, last delivery, failing and given-up stories."""
    from strikewatch.alerts import alert_summaries

    emit(
        alert_summaries(app.store()),
        fmt,
        ALERT_COLUMNS,
        empty_message="No alerts yet: `strikewatch alerts add NAME --guild wga --event deal --exec CMD`.",
        display=app.display,
    )


@alerts.command(
    "remove",
    short_help="Remove an alert and its delivery history.",
    epilog=examples("strikewatch alerts remove wga-deal"),
)
@click.argument("name", shell_complete=_complete_alerts)
@click.pass_obj
def alerts_remove(app: App, name: str) -> None:
    """Remove an alert and its delivery history."""
    from strikewatch.alerts import remove_alert

    remove_alert(app.store(), name)
    click.echo(f"Removed alert {name}")


@alerts.command(
    "test",
    short_help="Deliver the latest matching story now (records nothing).",
    epilog=examples("strikewatch alerts test wga-deal"),
)
@click.argument("name", shell_complete=_complete_alerts)
@click.pass_obj
def alerts_test(app: App, name: str) -> None:
    """Deliver the latest story the alert matches, now, to check the setup.

    A test records nothing: the story is not marked delivered and no failure is counted.
    """
    from strikewatch.alerts import deliver, find_alert, latest_entry

    store = app.store()
    alert = find_alert(store, name)
    if alert is None:
        raise UsageError(f"no alert named {name!r}; `strikewatch alerts list` shows them")
    entry = latest_entry(store, alert)
    if entry is None:
        raise UsageError(
            f"no stored story matches alert {name}; `strikewatch poll` (or `import --sample`) first"
        )
    try:
        deliver(alert, entry)
    except DeliveryError as error:
        click.echo(
            f"error: alert {name}: {error} (testing with {one_line(entry['title'])!r})", err=True
        )
        sys.exit(1)
    click.echo(f"Delivered {one_line(entry['title'])!r} to alert {name} (a test: nothing recorded)")


@cli.command(
    short_help="The stories since the last digest NAME (for cron mail).",
    epilog=examples(
        "strikewatch digest morning --guild wga",
        "strikewatch digest morning --peek",
        "0 8 * * * /usr/local/bin/strikewatch digest morning --guild wga   # crontab",
    ),
)
@click.argument("name", shell_complete=_complete_digests)
@alert_filter_options
@click.option(
    "--all",
    "include_untagged",
    is_flag=True,
    help="Include stories not tagged with any guild.",
)
@click.option("--peek", is_flag=True, help="Show what the digest holds without moving its mark.")
@output_options
@display_options()
@click.pass_obj
def digest(app: App, name: str, peek: bool, fmt: str | None, **filters: Any) -> None:
    """The stories that arrived since the last `digest NAME`, oldest first (the first run: the
    last 24 hours). Prints nothing when there are none, so cron sends no mail.
    """
    from strikewatch.alerts import digest_entries, move_digest_mark

    if not name.strip():
        raise UsageError(
            "digest needs a NAME (the mark it keeps), e.g. `strikewatch digest morning`"
        )
    store = app.store()
    entries, upto = digest_entries(store, name, TimelineFilter(**filters))
    # Nothing new prints nothing (cron mails no empty digest), but --json keeps its `[]`.
    if entries or fmt == "json":
        emit(entries, fmt, TIMELINE_COLUMNS, display=app.display)
    if not peek:
        move_digest_mark(store, name, upto)
