"""Regenerate the Python modules of the Cocos wire definitions.

Usage (from the repository root)::

    python -m proto.generate            # rewrite proto/<pkg>/*_pb2*.py(i) in place
    python -m proto.generate --check    # exit 1 if the committed modules are stale
    python -m proto.generate --out DIR  # write the tree somewhere else

protoc writes imports as if each package were top level (``from agent import agent_pb2``);
the modules live inside the ``proto`` package, so the output is rewritten to
``from proto.agent import agent_pb2`` and the registered module name to
``proto.agent.agent_pb2``. The rewrite is plain text substitution, so running the script
twice with the same grpcio-tools gives the same bytes.

Needs grpcio-tools (the ``dev`` extra); the app itself only needs protobuf and grpcio.
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

PROTO_ROOT = Path(__file__).resolve().parent

#: Cocos packages, one directory each: proto/<pkg>/<pkg>.proto
PACKAGES: tuple[str, ...] = ("agent", "manager", "cvms")

_SUFFIXES: tuple[str, ...] = ("_pb2.py", "_pb2.pyi", "_pb2_grpc.py")

_IMPORT = re.compile(r"^from (" + "|".join(PACKAGES) + r") import (\w+_pb2)\b", re.MULTILINE)
_MODULE_NAME = re.compile(
    r"(BuildTopDescriptorsAndMessages\(DESCRIPTOR, ')((?:" + "|".join(PACKAGES) + r")\.\w+_pb2')"
)


def _init_text(package: str) -> str:
    return f'"""Generated modules of the Cocos `{package}` package (regenerate with python -m proto.generate)."""\n'


def _rewrite_imports(text: str) -> str:
    return _IMPORT.sub(r"from proto.\1 import \2", text)


def _rewrite_module_name(text: str) -> str:
    return _MODULE_NAME.sub(r"\1proto.\2", text)


def _fixups(name: str) -> list[Callable[[str], str]]:
    """The rewrites each generated file needs; each must change something, else protoc moved on."""
    if name.endswith("_pb2_grpc.py"):
        return [_rewrite_imports]
    if name.endswith("_pb2.py"):
        return [_rewrite_module_name]
    return []


def _run_protoc(staging: Path) -> None:
    # Imported here so that importing proto (at run time) never needs grpcio-tools.
    from importlib.resources import files

    from grpc_tools import protoc

    well_known = str(files("grpc_tools") / "_proto")
    sources = [f"{pkg}/{pkg}.proto" for pkg in PACKAGES]
    args = [
        "protoc",
        f"-I{PROTO_ROOT}",
        f"-I{well_known}",
        f"--python_out={staging}",
        f"--pyi_out={staging}",
        f"--grpc_python_out={staging}",
        *sources,
    ]
    status = protoc.main(args)
    if status != 0:
        raise RuntimeError(f"protoc failed with status {status} on {', '.join(sources)}")


def render() -> dict[str, bytes]:
    """Every generated file, as {relative path: bytes}, after the import fix-up."""
    outputs: dict[str, bytes] = {}
    with tempfile.TemporaryDirectory(prefix="prism-protoc-") as tmp:
        staging = Path(tmp)
        _run_protoc(staging)
        for pkg in PACKAGES:
            outputs[f"{pkg}/__init__.py"] = _init_text(pkg).encode()
            for suffix in _SUFFIXES:
                rel = f"{pkg}/{pkg}{suffix}"
                text = (staging / rel).read_text(encoding="utf-8")
                for fix in _fixups(rel):
                    fixed = fix(text)
                    if fixed == text:
                        raise RuntimeError(f"the import fix-up {fix.__name__} found nothing to change in {rel}")
                    text = fixed
                outputs[rel] = text.encode("utf-8")
    return outputs


def write(out_dir: Path) -> list[Path]:
    """Write the generated tree under out_dir (proto/ by default); returns the paths written."""
    written = []
    for rel, data in render().items():
        path = out_dir / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        written.append(path)
    return written


def stale_files(out_dir: Path = PROTO_ROOT) -> list[str]:
    """Relative paths whose committed bytes differ from a fresh generation."""
    stale = []
    for rel, data in render().items():
        path = out_dir / rel
        if not path.is_file() or path.read_bytes() != data:
            stale.append(rel)
    return stale


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=PROTO_ROOT, help="output root (default: proto/)")
    parser.add_argument("--check", action="store_true", help="only report stale files; exit 1 if any")
    options = parser.parse_args(argv)
    if options.check:
        stale = stale_files(options.out)
        for rel in stale:
            sys.stderr.write(f"stale: {rel}\n")
        return 1 if stale else 0
    for path in write(options.out):
        sys.stdout.write(f"wrote {path}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
