"""Shared pieces of the benchmarks: timing commands side by side, workloads, reporting.

Every benchmark measures its baseline in the same run, on the same machine, and reports the
ratio of medians: the machine is shared and noisy, absolute times are not comparable.
"""

from __future__ import annotations

import json
import os
import platform
import random
import shlex
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

PYTHON = sys.executable
STRIKEWATCH = [PYTHON, "-m", "strikewatch"]
# Set by run_all.py: where each script appends its rows, for the one summary table.
RESULTS_ENV = "STRIKEWATCH_BENCH_RESULTS"


@dataclass
class Measurement:
    name: str
    seconds: list[float]

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)


@dataclass
class Ratio:
    name: str
    subject: Measurement
    baseline: Measurement
    target: float | None  # the ratio must be at most this

    @property
    def value(self) -> float:
        return self.subject.median / self.baseline.median

    @property
    def allowed(self) -> float:
        """The most the subject may take to meet the target, in seconds."""
        assert self.target is not None
        return self.baseline.median * self.target

    @property
    def verdict(self) -> str:
        if self.target is None:
            return "info"
        return "ok" if self.value <= self.target else "MISSED"

    def row(self) -> dict[str, object]:
        return {
            "measure": self.name,
            "subject": f"{self.subject.median:.3f}s",
            "baseline": f"{self.baseline.median:.3f}s",
            "ratio": f"{self.value:.3f}x",
            "target": f"<= {self.target:g}x" if self.target is not None else "-",
            "verdict": self.verdict,
        }


@dataclass
class Limit:
    """An absolute target, for the few a user states in seconds (an import's whole run)."""

    name: str
    subject: Measurement
    seconds: float  # the subject's median must be under this

    @property
    def verdict(self) -> str:
        return "ok" if self.subject.median < self.seconds else "MISSED"

    def row(self) -> dict[str, object]:
        return {
            "measure": self.name,
            "subject": f"{self.subject.median:.3f}s",
            "baseline": "-",
            "ratio": "-",
            "target": f"< {self.seconds:g}s",
            "verdict": self.verdict,
        }


def run_command(
    command: Sequence[str], *, stdin_path: Path | None = None, env: dict[str, str] | None = None
) -> float:
    """Wall time of one run of a command, output discarded; fails loudly if it fails."""
    environment = _environment(env)
    stdin = open(stdin_path, "rb") if stdin_path else subprocess.DEVNULL  # noqa: SIM115
    try:
        started = time.perf_counter()
        completed = subprocess.run(
            command, stdin=stdin, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=environment
        )
        elapsed = time.perf_counter() - started
    finally:
        if stdin_path:
            stdin.close()
    if completed.returncode != 0:
        _failed(command, completed.returncode, completed.stderr.decode())
    return elapsed


def _environment(extra: dict[str, str] | None = None) -> dict[str, str]:
    environment = {**os.environ, "NO_COLOR": "1", **(extra or {})}
    # Users' installs have compiled bytecode; measure that, not recompiling on every start.
    environment.pop("PYTHONDONTWRITEBYTECODE", None)
    return environment


def command_output(command: Sequence[str]) -> str:
    """What a command prints, for the probes that time a part of a run from inside it."""
    completed = subprocess.run(command, capture_output=True, text=True, env=_environment())
    if completed.returncode != 0 or not completed.stdout.strip():
        _failed(command, completed.returncode, completed.stderr)
    return completed.stdout


def _failed(command: Sequence[str], returncode: int, stderr: str) -> None:
    raise SystemExit(
        f"benchmark command failed ({returncode}): {' '.join(command)}\n{stderr[-2000:]}"
    )


def breakdown(title: str, parts: Sequence[tuple[str, float]], unit: str = "s") -> list[str]:
    """Report lines that say where a measure's time goes: (what, seconds) each."""
    if unit == "ms":
        return [title, *(f"  {what:<60}{seconds * 1000:6.0f} ms" for what, seconds in parts)]
    return [title, *(f"  {what:<60}{seconds:6.3f}s" for what, seconds in parts)]


def interleaved(runs: int, **candidates: Callable[[], float]) -> dict[str, Measurement]:
    """Run each candidate `runs` times, alternating, so drifting machine load hits all alike."""
    results = {name: Measurement(name, []) for name in candidates}
    for _ in range(runs):
        for name, candidate in candidates.items():
            results[name].seconds.append(candidate())
    return results


COLUMNS = ("measure", "subject", "baseline", "ratio", "target", "verdict")


def table(rows: Sequence[dict[str, object]]) -> list[str]:
    """Rows of measures as aligned text lines, with a header."""
    width = max([44, *(len(str(row["measure"])) for row in rows)])
    lines = [
        f"{'measure':<{width}} {'subject':>10} {'baseline':>10} {'ratio':>8} {'target':>8}  verdict"
    ]
    for row in rows:
        lines.append(
            f"{row['measure']:<{width}} {row['subject']:>10} {row['baseline']:>10} "
            f"{row['ratio']:>8} {row['target']:>8}  {row['verdict']}"
        )
    return lines


def report(title: str, measures: Sequence[Ratio | Limit], extra: Sequence[str] = ()) -> None:
    """Print a script's table; under run_all.py also append its rows to the shared results."""
    rows = [measure.row() for measure in measures]
    print(f"\n## {title}")
    for line in table(rows):
        print(line)
    for line in extra:
        print(line)
    sys.stdout.flush()
    results = os.environ.get(RESULTS_ENV)
    if results:
        with open(results, "a", encoding="utf-8") as handle:
            for row in rows:
                handle.write(json.dumps({"benchmark": title, **row}) + "\n")


def header() -> list[str]:
    """What a note citing these numbers needs: the command, the Python, the machine."""
    command = shlex.join([Path(sys.executable).name, *sys.argv])
    return [
        f"command: {command}",
        f"python: {platform.python_version()} ({platform.python_implementation()}) at {sys.executable}",
        f"machine: {platform.platform()}, {os.cpu_count()} cores, "
        f"load average {', '.join(f'{load:.2f}' for load in os.getloadavg())}",
        f"at: {time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime())}, code: {_commit()}",
    ]


def _commit() -> str:
    """The checkout's commit (and whether it has changes), or why it is unknown."""
    folder = Path(__file__).resolve().parent
    try:
        commit = subprocess.run(
            ["git", "describe", "--always", "--dirty", "--abbrev=12"],
            cwd=folder,
            capture_output=True,
            text=True,
            timeout=10,
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"unknown ({error.__class__.__name__})"
    return commit.stdout.strip() or "unknown (not a git checkout)"


def print_header() -> None:
    """The header, when a script runs alone (run_all.py prints it once for all)."""
    if not os.environ.get(RESULTS_ENV):
        for line in header():
            print(line)


# -- workloads ------------------------------------------------------------------------

GUILD_NAMES = [
    ("WGA", "wga"),
    ("Writers Guild", "wga"),
    ("SAG-AFTRA", "sag-aftra"),
    ("actors' union", "sag-aftra"),
    ("DGA", "dga"),
    ("IATSE", "iatse"),
    ("Teamsters Local 399", "teamsters"),
    ("The Animation Guild", "iatse"),
]
EVENT_PHRASES = [
    "and AMPTP reach tentative agreement",
    "members vote to authorize strike",
    "goes on strike after talks collapse",
    "returns to the bargaining table with studios",
    "rejects studios' latest offer",
    "members ratify new contract",
    "board votes to end strike",
    "asks AMPTP to resume negotiations",
    "talks break down as AMPTP walks away",
    "opens contract negotiations with AMPTP",
    "says no deal yet as talks stretch on",
    "statement on artificial intelligence protections",
    "pickets continue outside studio gates",
]
NOISE = [
    "Box office: {film} opens to $42 million",
    "{star} in talks to star in {film}",
    "{star} signs overall deal with Netflix",
    "{film} gets a sequel order",
    "Streamer makes an offer for festival darling {film}",
    "Lightning strike halts {film} shoot",
    "UAW strike widens at Detroit plants",
    "WGA Awards nominations: {film} leads",
    "{film} review: a thriller that strikes back",
]
FILMS = [
    "Night Harbor",
    "The Long Shift",
    "Paper Crowns",
    "Blue Meridian",
    "Salt Road",
    "Echo Park Nine",
]
STARS = ["Ava Stone", "Marcus Lee", "Priya Nair", "Tom Hale", "June Ortiz"]


ADJECTIVES = [
    "Silent",
    "Golden",
    "Broken",
    "Midnight",
    "Hidden",
    "Crimson",
    "Last",
    "Northern",
    "Wild",
    "Paper",
]
NOUNS = [
    "Harbor",
    "Shift",
    "Crown",
    "Meridian",
    "Road",
    "Signal",
    "Orchard",
    "Empire",
    "Tide",
    "Witness",
]
WHEN = [
    "",
    " on Tuesday",
    " after marathon session",
    " as deadline nears",
    " in Los Angeles",
    " late Friday",
    " for the first time since May",
    " amid AI dispute",
    " with federal mediator present",
    " (UPDATE)",
]


def film(rng: random.Random) -> str:
    return f"{rng.choice(ADJECTIVES)} {rng.choice(NOUNS)} {rng.randrange(2, 9)}"


def headline(rng: random.Random) -> str:
    """A varied headline: templates with names, numbers and clauses, so few lines repeat."""
    if rng.random() < 0.55:
        name, _ = rng.choice(GUILD_NAMES)
        text = f"{name} {rng.choice(EVENT_PHRASES)}{rng.choice(WHEN)}"
        tail = rng.random()
        if tail < 0.3:
            text += f"; {rng.choice(STARS)} says talks are at 'day {rng.randrange(1, 150)}'"
        elif tail < 0.6:
            text += f" ({rng.randrange(2, 99)}% of {rng.randrange(1000, 90000):,} members voted)"
        elif tail < 0.8:
            text += f", {rng.choice(['sources say', 'guild says', 'memo reveals', 'per filing'])} {rng.randrange(1, 31)} {rng.choice(['May', 'June', 'July'])}"
        return text
    star = f"{rng.choice(STARS)} and {rng.choice(STARS).split()[0]} {rng.choice(NOUNS)}"
    return rng.choice(NOISE).format(film=f"'{film(rng)}'", star=star) + rng.choice(WHEN)


def summary(rng: random.Random, sentences: int = 2) -> str:
    """Plain sentences with numbers and names, so summaries rarely repeat either."""
    parts = [
        f"{rng.choice(STARS)} told members {rng.randrange(2, 60)} issues remain open.",
        f"The session at the {rng.choice(['Sherman Oaks', 'Encino', 'Burbank'])} offices lasted {rng.randrange(2, 14)} hours.",
        "Negotiators met for several hours on Tuesday.",
        "The guild's contract expired at midnight.",
        "Studio executives declined to comment.",
        "Members were told to watch their email for details.",
        "The sides last met three weeks ago.",
        "Production across Los Angeles remains shut down.",
    ]
    return " ".join(rng.choice(parts) for _ in range(sentences))


def write_jsonl(path: Path, count: int, seed: int = 7, start_year: int = 2019) -> Path:
    """`count` archive lines with the timeline fields, spread over a few years, unique links."""
    rng = random.Random(seed)
    sources = ["deadline", "variety", "thr", "thewrap", "latimes"]
    start = time.mktime((start_year, 1, 1, 0, 0, 0, 0, 0, 0))
    span = 5 * 365 * 86400
    with open(path, "w", encoding="utf-8") as handle:
        for index in range(count):
            moment = start + rng.random() * span
            record = {
                "title": headline(rng),
                "link": f"https://news{index % 7}.example/{index}/story-{rng.randrange(10**9)}",
                "published": time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(moment)),
                "summary": summary(rng),
                "source": rng.choice(sources),
            }
            handle.write(json.dumps(record) + "\n")
    return path


def work_dir() -> Path:
    folder = Path(__file__).resolve().parent / ".work"
    folder.mkdir(exist_ok=True)
    return folder
