"""The lifecycle's local guards: files checked against the manifest, untrusted result zips, aTLS required."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.attestation.roots import TrustStore
from core.cocos.computation import AgentConfig
from core.cocos.lifecycle import (
    ComputationRun,
    InputHashMismatch,
    RunInputs,
    check_inputs,
    safe_extract,
)
from core.errors import BadInput, Refused
from tests.e2e.e2e_support import Participant


@pytest.fixture
def party(tmp_path):
    participant = Participant.create(tmp_path / "p")
    yield participant
    participant.close()


def _zip(tmp_path: Path, members: dict[str, bytes]) -> Path:
    path = tmp_path / "result.zip"
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def test_inputs_must_match_the_manifest(party) -> None:
    comp = party.computation("c")
    check_inputs(comp, party.inputs())  # the declared files pass
    other = party.inputs_dir / "other.csv"
    other.write_bytes(b"name,value\nx,1\n")
    with pytest.raises(InputHashMismatch) as caught:
        check_inputs(comp, RunInputs(party.inputs_dir / "sum.py", datasets=(("data.csv", other),)))
    assert "data.csv" in str(caught.value) and caught.value.code == "input-hash-mismatch"
    with pytest.raises(InputHashMismatch, match="algorithm"):
        check_inputs(comp, RunInputs(other, datasets=(("data.csv", other),)))
    with pytest.raises(BadInput, match="no file was given for the manifest dataset 'data.csv'"):
        check_inputs(comp, RunInputs(party.inputs_dir / "sum.py"))
    with pytest.raises(BadInput, match="cannot read"):
        check_inputs(comp, RunInputs(party.inputs_dir / "missing.py"))


def test_a_run_without_attested_tls_is_refused(party) -> None:
    comp = party.computation("c")
    for config in (None, AgentConfig(attested_tls=False)):
        plain = type(comp)(id="c", algorithm=comp.algorithm, datasets=comp.datasets,
                           result_consumers=comp.result_consumers, agent_config=config)
        with pytest.raises(Refused) as caught:
            ComputationRun(manager_target="127.0.0.1:1", workspace=party.workspace, cvms_tls=party.tls,
                           computation=plain, inputs=party.inputs(), signer=party.signer, policy=None,
                           trust=TrustStore())
        assert caught.value.code == "atls-required"


def test_safe_extract_unpacks_nested_files(tmp_path) -> None:
    archive = _zip(tmp_path, {"sum.txt": b"40\n", "out/deep/a.bin": b"\x00\x01"})
    dest = tmp_path / "dest"
    written = safe_extract(archive, dest)
    assert [p.relative_to(dest).as_posix() for p in written] == ["sum.txt", "out/deep/a.bin"]
    assert (dest / "out" / "deep" / "a.bin").read_bytes() == b"\x00\x01"


@pytest.mark.parametrize("name", ["../escape.txt", "/etc/passwd", "a/../../b", "dir\\..\\x", "result.zip",
                                  "agent.log", "cvms-attestation-1.eat"])
def test_safe_extract_refuses_unsafe_members_and_writes_nothing(tmp_path, name) -> None:
    archive = _zip(tmp_path, {"fine.txt": b"ok", name: b"x"})
    dest = tmp_path / "dest"
    with pytest.raises(BadInput) as caught:
        safe_extract(archive, dest)
    assert repr(name) in str(caught.value)
    assert not dest.exists() and not (tmp_path / "escape.txt").exists()


@settings(max_examples=150)
@given(st.binary(max_size=600), st.integers(min_value=0, max_value=599), st.binary(min_size=1, max_size=8))
def test_fuzz_only_typed_errors_escape(tmp_path_factory, data, offset, patch) -> None:
    base = io.BytesIO()
    with zipfile.ZipFile(base, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("sum.txt", b"40\n" * 20)
    blob = bytearray(base.getvalue() if data[:1] != b"\x00" else data)
    if blob:
        position = offset % len(blob)
        blob[position:position + len(patch)] = patch
    folder = tmp_path_factory.mktemp("fuzz")
    (folder / "in.zip").write_bytes(bytes(blob))
    try:
        safe_extract(folder / "in.zip", folder / "out")
    except BadInput:
        pass
