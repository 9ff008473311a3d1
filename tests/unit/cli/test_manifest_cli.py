"""`prism manifest checksum` reproduces cocos-cli's checksum --manifest (COCOS-PROTOCOL §6.3)."""

from __future__ import annotations

from app.cli import main

VECTOR_1 = b'{"id":"1234","name":"Example Computation","description":"This is an example computation"}'
VECTOR_1_SUM = "c8344428fca26ed8c4dfee031cf1459ebcf81bd6cb5f4318f72b3bbd68782146"
KEY = "MCowBQYDK2VwAyEAA6EHv/POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg="
VECTOR_2 = (
    '{"id":"1","name":"demo","description":"demo computation","datasets":[{"hash":[25,37,88,151,84,247,127,166,'
    '161,191,0,69,110,56,94,137,52,147,161,176,222,145,225,122,200,222,161,8,246,220,185,128],"user_key":"' + KEY
    + '","filename":"data.csv"}],"algorithm":{"hash":[8,67,174,126,150,61,119,170,103,228,178,1,107,220,211,60,'
    '155,151,207,140,156,19,58,66,231,239,175,0,104,87,237,248],"user_key":"' + KEY + '","algo_type":"python",'
    '"algo_args":["datasets/data.csv"]},"result_consumers":[{"user_key":"' + KEY + '"}]}'
).encode()


def _run(*args):
    lines: list[str] = []
    return main([str(a) for a in args], out=lines.append), "\n".join(lines)


def test_vectors(tmp_path):
    one, two = tmp_path / "one.json", tmp_path / "two.json"
    one.write_bytes(VECTOR_1)
    # pretty-printed input must give the same checksum: it is re-serialised, not hashed as is
    two.write_bytes(VECTOR_2.replace(b",", b",\n  "))
    assert _run("manifest", "checksum", one) == (0, VECTOR_1_SUM)
    assert _run("manifest", "checksum", two) == (0, "ac9029de3ded068e548f0fedd99e003c2d76cc64a344a235c5255502e05f97aa")
    assert _run("manifest", "checksum", "-b", two) == (0, "rJAp3j3tBo5Ujw/t2Z4APC12zGSjRKI1xSVVAuBfl6o=")


def test_bad_manifest_exits_2(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_bytes(b'{"datasets":[{"hash":"not an array"}]}')
    assert _run("manifest", "checksum", bad)[0] == 2
    assert _run("manifest", "checksum", tmp_path / "missing.json")[0] == 2
