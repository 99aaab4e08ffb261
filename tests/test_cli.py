"The corepreg command as a user runs it."
import pandas as pd
from conftest import VENV_BIN, run


def test_study_command_writes_results_and_report(tmp_path):
    r = run([str(VENV_BIN/'corepreg'), 'study', '--data', 'ihc', '--methods', 'fftmi,sift', '--out', str(tmp_path)])
    assert r.returncode == 0, r.stderr
    res = pd.read_csv(tmp_path/'results.csv')
    assert set(res['method']) == {'fftmi', 'sift'} and set(res['representation']) == {'raw'}
    assert res['success_rate'].between(0, 1).all()
    assert '| method |' in r.stdout and 'report.md' in r.stdout
    rec = pd.read_csv(tmp_path/'records.csv')
    assert len(rec) == 2 * 4 * 4          # 2 methods × 4 IHC tiles × 4 levels
    assert (tmp_path/'success.png').stat().st_size > 1000


def test_study_command_rejects_unknown_names(tmp_path):
    r = run([str(VENV_BIN/'corepreg'), 'study', '--data', 'zurich', '--out', str(tmp_path)])
    assert r.returncode != 0 and "valid datasets are ['synthetic', 'ihc']" in r.stderr
    r = run([str(VENV_BIN/'corepreg'), 'study', '--methods', 'elastix', '--out', str(tmp_path)])
    assert r.returncode != 0 and "valid methods are" in r.stderr
