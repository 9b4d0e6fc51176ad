"""A real install: the wheel built from the source tree holds every data file the code reads,
and `narrativ` installed from that wheel (not the source tree) runs. Offline: the wheel is built
with --no-build-isolation --no-index, and the throw-away environment borrows the installed
dependencies of this one instead of downloading them."""
from __future__ import annotations

import re
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from conftest import OWN_QUOTES, ROOT

PACKAGE = ROOT / "pipeline"


def data_files() -> list[str]:
    """Every file under pipeline/ that is not Python source or a cache: what the code reads."""
    return sorted(p.relative_to(ROOT).as_posix() for p in PACKAGE.rglob("*")
                  if p.is_file() and p.suffix not in (".py", ".pyc") and "__pycache__" not in p.parts)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The wheel, built from a copy of what the build needs (the source tree gets no build/)."""
    root = tmp_path_factory.mktemp("wheel")
    src = root / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    shutil.copytree(PACKAGE, src / "pipeline", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    done = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
                           "--quiet", str(src), "-w", str(root / "dist")],
                          capture_output=True, text=True, timeout=600, cwd=root)
    assert done.returncode == 0, done.stderr[-2000:]
    (built,) = (root / "dist").glob("narrativ-*.whl")
    return built


def test_every_data_file_is_in_the_wheel(wheel):
    data = data_files()
    # the list is derived from the tree; these are what the code opens today
    assert {"pipeline/defaults.toml", "pipeline/data/kommuner.txt", "pipeline/data/begrepp.yaml"} <= set(data)
    names = set(zipfile.ZipFile(wheel).namelist())
    assert [f for f in data if f not in names] == []
    sources = [p.relative_to(ROOT).as_posix() for p in PACKAGE.rglob("*.py")]
    assert [f for f in sources if f not in names] == []


def test_package_files_are_read_through_importlib_resources():
    """No module finds its data next to its own file (that breaks in zip installs and some
    packagers); each data file is named in the code through importlib.resources."""
    code = {p: p.read_text(encoding="utf-8") for p in PACKAGE.rglob("*.py")}
    assert [str(p) for p, text in code.items() if "__file__" in text] == []
    opened = set()
    for text in code.values():
        for call in re.findall(r'resources\.files\("pipeline"\)\.joinpath\(([^)]*)\)', text):
            opened.add("pipeline/" + "/".join(re.findall(r'"([^"]+)"', call)))
        # whole folders served through the package loader (Jinja2 templates, Starlette static files)
        for package, folder in re.findall(r'(?:PackageLoader\(|packages=\[\()"([\w.]+)", "(\w+)"\)', text):
            prefix = package.replace(".", "/") + "/" + folder + "/"
            opened |= {f for f in data_files() if f.startswith(prefix)}
    assert opened == set(data_files())


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory) -> Path:
    """A fresh virtual environment with the wheel installed by pip (console script and all); the
    dependencies come from this environment's site-packages through a .pth file (which does not
    run this environment's editable-install hook, so `pipeline` comes from the wheel only)."""
    env = tmp_path_factory.mktemp("venv") / "env"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(env)], check=True, timeout=300)
    python = env / "bin" / "python"
    site = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               capture_output=True, text=True, check=True).stdout.strip())
    (site / "_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--no-index",
                           "--quiet", str(wheel)], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    return env


def test_installed_narrativ_runs_from_the_wheel(installed, tmp_path):
    bin_dir = installed / "bin"
    where = subprocess.run([str(bin_dir / "python"), "-c", "import pipeline; print(pipeline.__file__)"],
                           capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert Path(where.stdout.strip()).is_relative_to(installed), where.stdout + where.stderr
    helped = subprocess.run([str(bin_dir / "narrativ"), "--help"], capture_output=True, text=True, cwd=tmp_path,
                            timeout=300)
    assert helped.returncode == 0 and "usage: narrativ" in helped.stdout
    # ingest reads defaults.toml and kommuner.txt from the installed package
    done = subprocess.run([str(bin_dir / "narrativ"), "ingest", str(OWN_QUOTES), "--study", str(tmp_path / "s")],
                          capture_output=True, text=True, cwd=tmp_path, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "citatlista.txt: inläst" in done.stdout
    assert (tmp_path / "s" / "study.toml").read_text(encoding="utf-8") == (PACKAGE / "defaults.toml").read_text(encoding="utf-8")
    # the concept lexicon that names themes
    lexicon = subprocess.run([str(bin_dir / "python"), "-c", "from pipeline import concepts; print(len(concepts.load()))"],
                             capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert lexicon.returncode == 0 and int(lexicon.stdout) > 10, lexicon.stderr[-2000:]
