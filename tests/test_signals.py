"""Stopping the program: Ctrl-C and SIGTERM (`timeout`, `kill`) end it through its clean-up, with
one line, the documented exit code, no traceback and no process left behind (an import's worker
processes included), and a database that keeps what was committed."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="process groups and /proc are Linux's"
)


def running(pid: int) -> bool:
    """Whether `pid` is a live process (a zombie has ended; only its exit status is left)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def session_members(session: int) -> list[int]:
    members = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[3]) == session and fields[0] != "Z":
                members.append(int(entry.name))
    return members


def wait_until(condition, seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def classify_waiting_for_input(tmp_path: Path) -> subprocess.Popen:
    """`classify --jsonl -` having tagged some lines and waiting for more (its standard input
    stays open), so that a signal finds it mid-run every time."""
    process = subprocess.Popen(
        [sys.executable, "-m", "strikewatch", "classify", "--jsonl", "-"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "NO_COLOR": "1"},
        start_new_session=True,
    )
    assert process.stdin is not None and process.stdout is not None
    lines = "".join(
        json.dumps({"title": f"WGA and AMPTP meet for day {n} of talks in {n % 7} rooms"}) + "\n"
        for n in range(600)
    )
    stdin = process.stdin

    def feed() -> None:  # from a thread: the program's output is read here meanwhile
        with contextlib.suppress(BrokenPipeError):
            stdin.write(lines)
            stdin.flush()

    threading.Thread(target=feed, daemon=True).start()
    assert json.loads(process.stdout.readline())["guilds"]  # tagging has begun
    return process


def ended_alone(process: subprocess.Popen) -> tuple[int, str]:
    """The exit code and standard error of `process`, once every process of its session ended."""
    code = process.wait(timeout=30)
    assert wait_until(lambda: not session_members(process.pid)), "a worker was left running"
    assert process.stderr is not None
    error = process.stderr.read()
    for stream in (process.stdin, process.stdout, process.stderr):
        if stream is not None:
            stream.close()
    return code, error


def test_ctrl_c_stops_a_classify(tmp_path):
    process = classify_waiting_for_input(tmp_path)
    os.killpg(process.pid, signal.SIGINT)  # as a terminal does: the whole process group
    code, error = ended_alone(process)
    assert code == 130
    assert error == "strikewatch: interrupted\n"


def test_sigterm_stops_a_classify(tmp_path):
    process = classify_waiting_for_input(tmp_path)
    process.send_signal(signal.SIGTERM)  # as `timeout` and `kill` do: the program only
    code, error = ended_alone(process)
    assert code == 143
    assert error == "strikewatch: terminated\n"


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT])
def test_a_second_signal_during_the_clean_up_ends_the_program_at_once(tmp_path, stop):
    process = classify_waiting_for_input(tmp_path)
    process.send_signal(stop)
    process.send_signal(stop)  # impatient: the clean-up must not be left half done and waiting
    code, error = ended_alone(process)
    assert code in (-stop, 143 if stop == signal.SIGTERM else 130)
    assert "Traceback" not in error


@pytest.mark.parametrize(
    "stop, code, line",
    [
        (signal.SIGINT, 130, "strikewatch: interrupted"),
        (signal.SIGTERM, 143, "strikewatch: terminated"),
    ],
)
def test_stopping_an_import_with_jobs_leaves_no_worker_and_a_sound_database(
    tmp_path, stop, code, line
):
    """`import --jobs 2` stopped while its worker tags: the worker ends with it, and the
    database holds whole batches only."""
    archive = tmp_path / "big.jsonl"
    with archive.open("w", encoding="utf-8") as out:
        for n in range(60000):
            title = f"SAG-AFTRA and AMPTP talks resume for day {n}"
            record = {"title": title, "link": f"https://x.example/{n}", "published": "2023-07-01"}
            out.write(json.dumps(record) + "\n")
    db = tmp_path / "stop.db"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "strikewatch",
            "--db",
            str(db),
            "import",
            "--jobs",
            "2",
            str(archive),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "NO_COLOR": "1"},
        start_new_session=True,
    )

    def stored() -> int:
        try:
            with contextlib.closing(sqlite3.connect(db, timeout=5)) as conn:
                return conn.execute("SELECT count(*) FROM items").fetchone()[0]
        except sqlite3.Error:
            return 0

    # A batch the worker tagged is stored: the workers are up and running.
    assert wait_until(lambda: stored() > 0, 60), "no batch was stored"
    if stop == signal.SIGINT:
        os.killpg(process.pid, stop)  # a terminal's Ctrl-C reaches the workers too
    else:
        process.send_signal(stop)
    exit_code, error = ended_alone(process)
    assert (exit_code, error) == (code, line + "\n")
    with contextlib.closing(sqlite3.connect(db)) as conn:
        assert conn.execute("PRAGMA quick_check").fetchall() == [("ok",)]
        assert conn.execute("SELECT count(*) FROM items").fetchone()[0] % 5000 == 0
