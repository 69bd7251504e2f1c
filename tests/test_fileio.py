"""fileio.write_text_atomic: the whole new text or the old file, never half, and no temporary file left."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from atoms_migrate import fileio
from atoms_migrate.apply.state import AgentState, StateFile, load_state, save_state
from atoms_migrate.errors import ConfigError


def _leftovers(folder: Path, keep: set[str]) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name not in keep)


def test_writes_the_text_and_replaces_an_older_file(tmp_path) -> None:
    target = tmp_path / "plan.json"
    fileio.write_text_atomic(target, "first ✓\n")
    fileio.write_text_atomic(target, "second ✓\n")
    assert target.read_text(encoding="utf-8") == "second ✓\n"
    assert _leftovers(tmp_path, {"plan.json"}) == []


def test_the_file_is_the_users_own_0600_as_the_state_writer_made_it(tmp_path) -> None:
    target = tmp_path / "state.json"
    target.write_text("old")
    os.chmod(target, 0o644)
    fileio.write_text_atomic(target, "new")
    assert stat.S_IMODE(target.stat().st_mode) == 0o600


def test_a_report_asks_for_0644_and_line_endings_can_be_kept_as_given(tmp_path) -> None:
    target = tmp_path / "report.md"
    fileio.write_text_atomic(target, "a\r\nb\n", mode=0o644, newline="")
    assert stat.S_IMODE(target.stat().st_mode) == 0o644
    assert target.read_bytes() == b"a\r\nb\n"


def test_the_cli_writes_reports_atomically_and_shareable_and_appends_to_the_job_summary(tmp_path) -> None:
    from atoms_migrate.cli.output import write_file

    report = tmp_path / "report.md"
    report.write_text("old")
    report.chmod(0o600)
    write_file(report, "new\n")
    assert report.read_text() == "new\n" and stat.S_IMODE(report.stat().st_mode) == 0o644
    write_file(report, "more\n", "a")
    assert report.read_text() == "new\nmore\n"
    assert _leftovers(tmp_path, {"report.md"}) == []
    with pytest.raises(ConfigError, match="cannot write"):
        write_file(tmp_path / "missing" / "r.md", "x")


@pytest.mark.parametrize("failure", [OSError(28, "No space left on device"), KeyboardInterrupt()])
def test_a_failure_before_the_rename_leaves_the_old_file_and_no_temporary_one(tmp_path, monkeypatch, failure) -> None:
    target = tmp_path / "state.json"
    target.write_text("old")

    def fail(fd: int) -> None:
        raise failure

    monkeypatch.setattr(fileio.os, "fsync", fail)
    with pytest.raises(type(failure)):
        fileio.write_text_atomic(target, "new")
    assert target.read_text() == "old"
    assert _leftovers(tmp_path, {"state.json"}) == []


def test_a_failed_rename_removes_the_temporary_file(tmp_path) -> None:
    target = tmp_path / "taken"
    target.mkdir()  # os.replace cannot put a file over a folder
    (target / "inside").write_text("x")
    with pytest.raises(OSError):
        fileio.write_text_atomic(target, "new")
    assert _leftovers(tmp_path, {"taken"}) == []


def test_a_missing_folder_is_an_oserror_and_creates_nothing(tmp_path) -> None:
    with pytest.raises(FileNotFoundError):
        fileio.write_text_atomic(tmp_path / "nope" / "plan.json", "x")
    assert _leftovers(tmp_path, set()) == []


def test_the_state_file_is_written_through_it_and_a_failure_keeps_the_previous_state(tmp_path, monkeypatch) -> None:
    path = tmp_path / ".atoms-migrate" / "state.json"
    save_state(path, StateFile(agents={"a": AgentState(smallest_agent_id="x1")}))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600

    def full(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(fileio.os, "fsync", full)
    with pytest.raises(ConfigError, match=r"cannot write state file .*: No space left on device"):
        save_state(path, StateFile(agents={"a": AgentState(smallest_agent_id="x2")}))
    assert load_state(path).agents["a"].smallest_agent_id == "x1"
    assert _leftovers(path.parent, {"state.json"}) == []


def test_a_symlinked_report_keeps_its_link_and_the_file_it_points_at_gets_the_text(tmp_path) -> None:
    real = tmp_path / "real.md"
    real.write_text("")
    link = tmp_path / "link.md"
    link.symlink_to(real)
    fileio.write_text_atomic(link, "report\n", mode=0o644)
    assert link.is_symlink() and real.read_text() == "report\n"
    assert _leftovers(tmp_path, {"real.md", "link.md"}) == []


def test_a_fifo_or_device_is_written_in_place_not_replaced(tmp_path) -> None:
    import threading

    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got: list[str] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_text()), daemon=True)
    reader.start()
    fileio.write_text_atomic(fifo, "to the reader\n")
    reader.join(timeout=10)
    assert got == ["to the reader\n"] and stat.S_ISFIFO(fifo.stat().st_mode)
    fileio.write_text_atomic(Path(os.devnull), "gone\n")  # /dev/null stays a device (and no temp file in /dev)
    assert stat.S_ISCHR(os.stat(os.devnull).st_mode)
