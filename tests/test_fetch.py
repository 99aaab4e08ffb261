"""`corepreg fetch`: the development datasets downloaded at a pinned commit and checked file by file (pooch, SHA-256). Tests
never touch the network: they fetch from local folders in the upstream layout."""
import hashlib, shutil
from pathlib import Path

import pytest

from conftest import SHARED_DATA
from test_bad_input import call
import corepreg.datasets as D
from corepreg.images import DataError


def _mirror(tmp:Path, files:dict) -> tuple[Path, str]:
    "A folder in the upstream layout holding `files` {path: bytes}, and their `sha256  path` lines."
    for p, b in files.items(): (tmp/p).parent.mkdir(parents=True, exist_ok=True); (tmp/p).write_bytes(b)
    return tmp, '\n'.join(f'{hashlib.sha256(b).hexdigest()}  {p}' for p, b in files.items())


def test_fetch_verifies_every_file_and_keeps_nothing_that_does_not_match(tmp_path, monkeypatch):
    mirror, sums = _mirror(tmp_path/'up', {'Input/A/x.tif': b'one', 'comparison/truth/x.tif': b'two'})
    monkeypatch.setitem(D.FETCHABLE, 'mini', D.Fetchable('mini-set', 'https://example.invalid/none', sums))
    dest = D.fetch('mini', tmp_path/'cache', base=str(mirror), progress=False)
    assert dest == tmp_path/'cache'/'mini-set' and (dest/'Input'/'A'/'x.tif').read_bytes() == b'one'
    before = (dest/'Input'/'A'/'x.tif').stat().st_mtime_ns
    D.fetch('mini', tmp_path/'cache', base=str(mirror), progress=False)               # found in place: not fetched again
    assert (dest/'Input'/'A'/'x.tif').stat().st_mtime_ns == before
    (mirror/'comparison'/'truth'/'x.tif').write_bytes(b'tampered')
    with pytest.raises(DataError, match=r'mini: comparison/truth/x.tif: .*hash.*; the file was not kept'):
        D.fetch('mini', tmp_path/'other', base=str(mirror), progress=False)
    assert not (tmp_path/'other'/'mini-set'/'comparison'/'truth'/'x.tif').exists()
    with pytest.raises(DataError, match=r"download from .* failed .*offline\?"):
        D.fetch('mini', tmp_path/'third', base=str(tmp_path/'nowhere'), progress=False)


def test_unknown_dataset_is_a_usage_error(tmp_path):
    code, err = call(['fetch', 'mnist', '--cache', str(tmp_path)])
    assert code == 2 and "invalid choice: 'mnist'" in err


@pytest.mark.skipif(not (SHARED_DATA/'uwloci-shg-he').exists(), reason='needs the local copy of the upstream files')
def test_fetch_uwloci_and_isl_from_mirrors_of_their_upstream_layout(tmp_path, capsys):
    from corepreg.cli import main
    assert main(['fetch', 'uwloci', '--cache', str(tmp_path/'cache'), '--base', str(SHARED_DATA/'uwloci-shg-he')]) == 0
    out = capsys.readouterr().out
    assert '60 files of uwloci' in out and f"--a {tmp_path/'cache'/'uwloci-shg-he'/'Input'/'SHG_512_not_adjusted'}" in out
    isl = tmp_path/'isl-up'/'isl'/'testdata'/'condition_blue_sample'; isl.mkdir(parents=True)
    for f in (SHARED_DATA/'isl-kevan-phase-fluo'/'images').iterdir(): shutil.copy(f, isl/f.name)
    assert main(['fetch', 'isl', '--cache', str(tmp_path/'cache'), '--base', str(tmp_path/'isl-up')]) == 0
    got = D.isl_pairs(tmp_path/'cache')                                    # what the loaders read, from the fetched copy
    assert len(got) == 16 and got[0].name == 'isl-r0c0'
    assert len(D.uwloci_pairs(tmp_path/'cache')) == 20


def test_loaders_read_the_fetched_copy_by_default_and_name_the_fetch_when_it_is_missing(tmp_path, monkeypatch):
    monkeypatch.delenv('COREPREG_DATA_ROOT', raising=False); monkeypatch.setenv('COREPREG_DATA', str(tmp_path/'cache'))
    assert D.data_root() == tmp_path/'cache'                                   # no flag, no variable: the data cache
    with pytest.raises(DataError, match=r"uwloci-shg-he does not exist: run `corepreg fetch uwloci`"): D.uwloci_pairs()
    with pytest.raises(DataError, match=r"isl-kevan-phase-fluo does not exist: run `corepreg fetch isl`"): D.isl_pairs()
    code, err = call(['study', '--data', 'uwloci', '--preset', 'quick', '--out', str(tmp_path/'s')])
    assert code != 0 and 'corepreg fetch uwloci' in err
    if (SHARED_DATA/'uwloci-shg-he').exists():                               # a copy elsewhere, named by the variable
        monkeypatch.setenv('COREPREG_DATA_ROOT', str(SHARED_DATA))
        assert [p.name for p in D.uwloci_pairs(names=['1B_A1'])] == ['1B_A1']


@pytest.mark.skipif(not (SHARED_DATA/'uwloci-shg-he').exists(), reason='needs the local copy of the upstream files')
def test_data_uwloci_is_the_folder_source_on_the_fetched_cores(monkeypatch):
    from corepreg.cli import grid_from_args, parser
    monkeypatch.setenv('COREPREG_DATA_ROOT', str(SHARED_DATA))
    g = grid_from_args(parser().parse_args(['study', '--data', 'uwloci', '--preset', 'standard', '--out', 'x']))
    assert g.datasets == ('folder',)                         # the records and cells are those of `--data folder` on the same files
    assert g.data.folder_a == str(SHARED_DATA/'uwloci-shg-he'/'Input'/'SHG_512_not_adjusted')
    assert g.data.folder_b == str(SHARED_DATA/'uwloci-shg-he'/'comparison'/'truth')
    from corepreg.core import ConfigError
    with pytest.raises(ConfigError, match='--data uwloci names its own folders'):
        grid_from_args(parser().parse_args(['study', '--data', 'uwloci', '--a', 'A', '--b', 'B', '--out', 'x']))
