"""Stopping the program: Ctrl-C, SIGTERM (`timeout`, `kill`) and a parent killed outright must
end every worker process too, with one line and no traceback."""

from __future__ import annotations

import contextlib
import json
import os
import signal
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
    from strikewatch.workers import usable_cores

    if usable_cores() < 2:  # one process reads all its input before writing: nothing to wait on
        pytest.skip("worker processes need two cores")
    """`classify --jsonl -` with enough lines read to have started its workers, waiting for more
    (its standard input stays open), so that a signal finds it mid-run every time."""
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
        for n in range(6000)
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


def test_ctrl_c_stops_a_parallel_classify_and_its_workers(tmp_path):
    process = classify_waiting_for_input(tmp_path)
    os.killpg(process.pid, signal.SIGINT)  # as a terminal does: the whole process group
    code, error = ended_alone(process)
    assert code == 130
    assert error == "strikewatch: interrupted\n"


def test_sigterm_to_the_program_alone_shuts_its_workers_down(tmp_path):
    process = classify_waiting_for_input(tmp_path)
    process.send_signal(signal.SIGTERM)  # as `timeout` and `kill` do: the program only
    code, error = ended_alone(process)
    assert code == 143
    assert error == "strikewatch: terminated\n"


# A process that starts a pool of one worker and has it do a first piece of work, then either
# waits (and stops on Ctrl-C as the CLI does) or is killed outright.
POOL_USER = """
import os, signal, sys, time
from strikewatch.workers import LazyPool

if __name__ == "__main__":
    start, then = sys.argv[1:]
    pool = LazyPool(1, may_fork=start == "fork")
    worker = pool.result(pool.submit(os.getpid), os.getpid)
    try:  # before saying so: Ctrl-C may come at once
        print(os.getpid(), worker, flush=True)  # the worker has started, and waits for work
        if then == "dies":
            os.kill(os.getpid(), signal.SIGKILL)
        time.sleep(60)
    except KeyboardInterrupt:
        pool.close()
        sys.exit(130)
"""


@pytest.mark.parametrize("start", ["fork", "forkserver"])
def test_ctrl_c_is_left_to_the_process_that_started_the_workers(tmp_path, start):
    """The workers ignore Ctrl-C, which reaches the whole process group: else each idle one prints
    its KeyboardInterrupt's traceback as the program stops."""
    script = tmp_path / "pool_user.py"
    script.write_text(POOL_USER)
    process = subprocess.Popen(
        [sys.executable, str(script), start, "waits"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
        start_new_session=True,
    )
    assert process.stdout is not None and process.stdout.readline()
    os.killpg(process.pid, signal.SIGINT)
    code, error = ended_alone(process)
    assert code == 130
    assert error == ""


@pytest.mark.parametrize("start", ["fork", "forkserver"])
def test_workers_exit_when_the_process_that_started_them_is_killed(tmp_path, start):
    script = tmp_path / "pool_user.py"
    script.write_text(POOL_USER)
    # Its output is read to the end before it is waited for, as cron reads a job's: the run
    # returns only once no worker holds that output open any more.
    starter = subprocess.run(
        [sys.executable, str(script), start, "dies"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=30,
        start_new_session=True,
    )
    assert starter.returncode == -signal.SIGKILL, starter.stderr
    starter_pid, worker = map(int, starter.stdout.split())
    assert worker != starter_pid  # the work ran in a worker process
    assert wait_until(lambda: not running(worker)), "the worker outlived its starter"
    assert wait_until(lambda: not session_members(starter_pid))


def test_a_process_has_ended_once_it_is_a_zombie_or_gone(monkeypatch):
    from strikewatch import workers

    assert not workers._ended(os.getpid())
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    assert wait_until(lambda: not running(child.pid))
    assert workers._ended(child.pid)  # a zombie: its parent has not read its exit status yet
    child.wait()
    assert workers._ended(child.pid)  # gone

    def no_proc(path, *args, **kwargs):  # a system without /proc, as macOS
        raise FileNotFoundError(path)

    monkeypatch.setattr(workers, "open", no_proc, raising=False)
    monkeypatch.setattr(workers.os.path, "isdir", lambda path: False)
    assert not workers._ended(os.getpid())
    assert workers._ended(child.pid)


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT])
def test_a_second_signal_during_the_clean_up_ends_the_program_at_once(tmp_path, stop):
    process = classify_waiting_for_input(tmp_path)
    process.send_signal(stop)
    process.send_signal(stop)  # impatient: the clean-up must not be left half done and waiting
    code, error = ended_alone(process)
    assert code in (-stop, 143 if stop == signal.SIGTERM else 130)
    assert "Traceback" not in error
