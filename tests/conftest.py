"""Shared fixtures. Every test runs with sockets disabled: nothing here may touch a network."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from _netguard import netguard
from _netguard.netguard import NetworkBlocked  # noqa: F401  (the selftests catch it)

pytest_plugins = ["pytester"]    # tests/test_network_guard.py runs a test session of its own

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
SEEDS = SHARED / "corpora" / "seeds"
DEMO = ROOT / "corpora" / "demo"

SEED_001 = SEEDS / "001_2034baf10eb29465.txt"
SEED_002 = SEEDS / "002_90c25d1651882498.txt"

# Material of our own, in the repo (invented, in the seeds' styles): what the seed tests check is
# checked on these too, so a clone with nothing beside it tests every behaviour.
OWN = ROOT / "tests" / "fixtures" / "own"
OWN_INTERVIEWS = OWN / "intervjuer.txt"      # "Intervju med …" headings, like seed 002
OWN_QUOTES = OWN / "citatlista.txt"          # team quote lists and an avslut list, like seed 001


@pytest.fixture(scope="session", autouse=True)
def _child_network_guard(tmp_path_factory):
    """Every child process the tests start (`python -m pipeline`, notebook kernels, pip) runs the
    same guard: tests/_netguard/sitecustomize.py is put first on their PYTHONPATH."""
    log_dir = tmp_path_factory.mktemp("network-log")
    session_log = log_dir / "session.log"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PYTHONPATH", os.pathsep.join(p for p in (str(netguard.HERE), os.environ.get("PYTHONPATH")) if p))
        mp.setenv(netguard.LOG_VARIABLE, str(session_log))
        yield log_dir
    if netguard.read_log(session_log):
        pytest.fail(f"network access attempted by a child process: {netguard.read_log(session_log)}")


@pytest.fixture(scope="session", autouse=True)
def _every_study_reads_true(tmp_path_factory):
    """Every study the suite builds is screened at the end: no theme label narrativ gave is cut,
    ends on a preposition, conjunction or auxiliary, or holds a placeholder (pipeline.labels),
    and no draft has an empty slot, a doubled word or a quote twice (pipeline.grounding)."""
    yield
    import json

    from pipeline.grounding import Draft, check_prose
    from pipeline.labels import label_problems
    problems = []
    base = tmp_path_factory.getbasetemp()
    for path in base.rglob("out/themes.json"):
        try:
            themes = json.loads(path.read_text(encoding="utf-8")).get("themes", [])
        except (OSError, ValueError):
            continue
        problems += [f"{path}: {t['label']!r}: {', '.join(label_problems(t['label']))}" for t in themes
                     if t.get("kind") != "codebook" and label_problems(t["label"])]
    for path in base.rglob("out/draft.json"):
        try:
            wrong = check_prose(Draft.from_json(path.read_text(encoding="utf-8")))
        except (OSError, ValueError, TypeError, KeyError):
            continue
        if wrong:
            problems.append(f"{path}: {wrong}")
    if problems:
        pytest.fail("studies the suite built read wrong:\n" + "\n".join(problems[:20]))


@pytest.fixture
def child_network_log(_child_network_guard, request) -> Path:
    """The file this test's child processes record their network attempts in."""
    return _child_network_guard / f"{abs(hash(request.node.nodeid))}.log"


@pytest.fixture(autouse=True)
def no_network(monkeypatch, request, child_network_log):
    """Nothing may leave the machine (see tests/_netguard/netguard.py): an attempt raises
    NetworkBlocked, and a test whose code tried (even if that code swallowed the error), in this
    process or in a child process it started, fails at teardown."""
    attempts: list[str] = []
    for owner, name, replacement in netguard.patches(attempts.append):
        monkeypatch.setattr(owner, name, replacement)
    monkeypatch.setenv(netguard.LOG_VARIABLE, str(child_network_log))
    yield attempts
    tried = attempts + [f"child process: {a}" for a in netguard.read_log(child_network_log)]
    if tried and "network_guard_selftest" not in request.keywords:
        pytest.fail(f"network access attempted: {tried}")


def shared(*parts: str | Path) -> Path:
    """A path in ../shared (seeds, benchmarks, standards: not part of the repo), given as parts
    below it or as a full path. When it is missing the test is skipped, naming the folder — but
    under CI=true the test fails. Call it at the start of a test or fixture that needs it."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        what = f"{path} is missing (the shared/ folder {SHARED} is not beside the repo)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true: {what}")
        pytest.skip(what)
    return path


@pytest.fixture(scope="session")
def seeds() -> Path:
    """The seed documents in ../shared/corpora/seeds (skipped when missing; CI=true: fails)."""
    for seed in (SEED_001, SEED_002):
        shared(seed)
    return SEEDS


@pytest.fixture
def study_dir(tmp_path) -> Path:
    return tmp_path / "studie"


@pytest.fixture
def study(study_dir):
    from pipeline import Study
    with Study(study_dir) as s:
        yield s


@pytest.fixture
def demo_copy(demo_run, tmp_path):
    """A copy of the run demo study (with its embedding cache), for a test that edits it."""
    import shutil
    target = tmp_path / "studie"
    shutil.copytree(demo_run, target)
    return target


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory):
    """The demo corpus through the whole job once (`narrativ run`): tests copy it to edit it."""
    from pipeline import cli
    path = tmp_path_factory.mktemp("demo") / "studie"
    assert cli.main(["run", str(DEMO), "--study", str(path)]) == 0
    return path
