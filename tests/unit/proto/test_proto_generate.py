"""The committed generated modules: reproducible from the .proto sources, importable inside `proto`."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import proto
from proto import generate

PROTO_DIR = Path(proto.__file__).resolve().parent


def _committed(rel: str) -> bytes:
    return (PROTO_DIR / rel).read_bytes()


def test_generated_imports_resolve_inside_the_proto_package():
    for package in generate.PACKAGES:
        grpc_module = _committed(f"{package}/{package}_pb2_grpc.py").decode()
        assert f"from proto.{package} import {package}_pb2 as" in grpc_module
        assert not re.search(rf"^from {package} import", grpc_module, re.MULTILINE)
        pb2 = _committed(f"{package}/{package}_pb2.py").decode()
        assert f"'proto.{package}.{package}_pb2'" in pb2


def test_message_classes_report_their_real_module():
    from proto.cvms import cvms_pb2

    assert cvms_pb2.ComputationRunReq.__module__ == "proto.cvms.cvms_pb2"


def test_regeneration_is_byte_identical_to_the_committed_files(tmp_path):
    pytest.importorskip("grpc_tools", reason="grpcio-tools (the dev extra) is not installed")
    import grpc_tools

    generated_with = re.search(r"GRPC_GENERATED_VERSION = '([^']+)'", _committed("agent/agent_pb2_grpc.py").decode())
    installed = getattr(grpc_tools, "__version__", None)
    if installed is None:
        from importlib.metadata import version

        installed = version("grpcio-tools")
    if generated_with is None or generated_with.group(1) != installed:
        pytest.skip(f"committed code comes from grpcio-tools {generated_with and generated_with.group(1)}, "
                    f"this machine has {installed}")
    written = generate.write(tmp_path)
    assert sorted(p.relative_to(tmp_path).as_posix() for p in written) == sorted(
        f"{pkg}/{name}" for pkg in generate.PACKAGES
        for name in ("__init__.py", f"{pkg}_pb2.py", f"{pkg}_pb2.pyi", f"{pkg}_pb2_grpc.py")
    )
    for path in written:
        rel = path.relative_to(tmp_path).as_posix()
        assert path.read_bytes() == _committed(rel), f"{rel} differs from a fresh generation"
    # A second run into the same place changes nothing.
    assert generate.stale_files(tmp_path) == []


def test_stale_files_reports_a_hand_edit(tmp_path):
    pytest.importorskip("grpc_tools", reason="grpcio-tools (the dev extra) is not installed")
    generate.write(tmp_path)
    target = tmp_path / "cvms" / "cvms_pb2.py"
    target.write_bytes(target.read_bytes() + b"# edited\n")
    assert generate.stale_files(tmp_path) == ["cvms/cvms_pb2.py"]


def test_fixup_rewrites_only_the_cocos_imports():
    assert generate._rewrite_imports("import grpc\n") == "import grpc\n"
    assert generate._rewrite_imports("from cvms import cvms_pb2 as x\n") == "from proto.cvms import cvms_pb2 as x\n"
    assert generate._rewrite_module_name(
        "_builder.BuildTopDescriptorsAndMessages(DESCRIPTOR, 'agent.agent_pb2', _globals)"
    ) == "_builder.BuildTopDescriptorsAndMessages(DESCRIPTOR, 'proto.agent.agent_pb2', _globals)"
