"""A clone with nothing beside it: tests that need ../shared skip with a reason naming the
missing folder, except under CI=true, where they fail; no test pins a line number."""
from __future__ import annotations

import re

import pytest

from conftest import ROOT, SHARED, shared


def test_missing_shared_skips_naming_the_folder(monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception) as caught:
        shared("corpora", "no-such-folder")
    assert str(SHARED / "corpora" / "no-such-folder") in str(caught.value)
    assert f"the shared/ folder {SHARED} is not beside the repo" in str(caught.value)


def test_missing_shared_fails_under_ci(monkeypatch):
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match=r"CI=true: .*no-such-folder is missing"):
        shared("corpora", "no-such-folder")


def test_present_path_is_returned(monkeypatch, tmp_path):
    import conftest
    monkeypatch.setattr(conftest, "SHARED", tmp_path)
    (tmp_path / "benchmarks").mkdir()
    assert conftest.shared("benchmarks") == tmp_path / "benchmarks"
    assert conftest.shared(tmp_path / "benchmarks") == tmp_path / "benchmarks"


def test_no_test_pins_a_line_number():
    """A heading is found by its words (files.line_of), not by its line number (rad 491)."""
    pinned = [f"{p.name}: {m.group(0)}" for p in (ROOT / "tests").rglob("*.py")
              for m in re.finditer(r"[\"']rad \d+[\"']", p.read_text(encoding="utf-8"))
              if re.search(r"SEED|shared\(", p.read_text(encoding="utf-8"))]   # files that read ../shared
    assert pinned == []
