"""`--output FILE`: written whole or not at all, a late failure one line and exit 1."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer

from scripts.output import target, unwritable


def test_a_file_is_replaced_only_when_complete(tmp_path: Path) -> None:
    out = tmp_path / "x.json"
    out.write_text("before")

    with pytest.raises(RuntimeError), target(out) as stream:
        stream.write(b"half")
        raise RuntimeError("the export failed midway")

    assert out.read_text() == "before"
    assert [p.name for p in tmp_path.iterdir()] == ["x.json"]


def test_a_directory_gone_since_the_check_is_one_line_and_exit_1(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "gone" / "x.json"

    with pytest.raises(typer.Exit) as stopped, target(out):
        pass

    assert stopped.value.exit_code == 1
    assert capsys.readouterr().err == f"error: cannot write {out}: No such file or directory\n"


def test_says_why_a_path_cannot_be_written(tmp_path: Path) -> None:
    (tmp_path / "file").touch()

    assert unwritable(tmp_path / "x.pdf") is None
    assert unwritable(Path("x.pdf")) is None  # the working directory
    assert unwritable(tmp_path) == "it is a directory"
    assert unwritable(tmp_path / "no" / "x.pdf") == f"directory {tmp_path / 'no'} does not exist"
    assert unwritable(tmp_path / "file" / "x.pdf") == f"{tmp_path / 'file'} is not a directory"
