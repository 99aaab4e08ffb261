import os, shutil, subprocess, sys
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
SHARED_DATA = ROOT.parent/'shared'/'data'
# the loaders read real data by name from COREPREG_DATA_ROOT (else the fetched copy); the tests use the local copy
if SHARED_DATA.is_dir(): os.environ.setdefault('COREPREG_DATA_ROOT', str(SHARED_DATA))


def start(cmd, cwd=ROOT) -> subprocess.Popen:
    """`cmd` started in the background, with pipes, and with SIGINT at its default: a shell without job control starts
    background jobs with SIGINT ignored, and the child would inherit that, so Ctrl-C tests would time out."""
    import signal
    return subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


def run(cmd, cwd=ROOT, check=False, timeout=600, env=None, **kw):
    "Run a command, capture its output as text."
    e = {**os.environ, **(env or {})}
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=check, env=e, **kw)


@pytest.fixture
def project_copy(tmp_path):
    "A scratch copy of the project's sources (settings, notebooks, package, tools) sharing the real .venv."
    for name in ('settings.ini', 'nbs', 'corepreg', 'tools', '_quarto.yml'):
        src = ROOT/name
        (shutil.copytree(src, tmp_path/name, symlinks=True) if src.is_dir() else shutil.copy(src, tmp_path/name))
    (tmp_path/'.venv').symlink_to(ROOT/'.venv')
    return tmp_path
