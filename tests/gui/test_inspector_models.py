"""The inspector's models, without widgets: rows, roles, colours, and qtmodeltester on each."""

from __future__ import annotations

from datetime import timedelta

from PySide6.QtCore import Qt

from app.models.cert_chain_model import COL_STATUS as CERT_COL_STATUS
from app.models.cert_chain_model import CertChainModel, CertInfoRole
from app.models.checks_model import (
    COL_EXPLANATION,
    COL_STAGE,
    COL_STATUS,
    CheckRole,
    ChecksModel,
    policy_comparison,
)
from app.models.comparison_model import COL_ACTUAL, COL_EXPECTED, ComparisonModel
from app.models.fields_model import FieldsModel, SpanRole, field_spans, tdx_span
from app.models.tcb_model import COL_MINIMUM, COL_RESULT, TcbModel, TcbRow, tcb_rows
from app.views.inspector_work import headline, sort_dropped
from core.attestation.evidence import describe, load_evidence
from core.attestation.snp.fields import FIELD_BY_NAME
from core.attestation.snp.policy import SnpPolicy, TcbMinimum
from core.attestation.verdict import Check, Stage, Status, Verdict

CHECKS = [
    Check("snp.signature", Status.PASS, "The report is signed by the VCEK."),
    Check("snp.crl", Status.SKIP, "No revocation list was supplied."),
    Check("policy.debug", Status.FAIL, "The guest allows debugging.", expected="debug off",
          actual="debug on", stage=Stage.VALIDATE),
    Check("snp.debug", Status.WARN, "Debug is allowed.", expected="debug off", actual="policy 0xb0000"),
]


def _synthetic_evidence():
    from tests.unit.attestation.snp.synth import MILAN_TCB, build_report

    return load_evidence(build_report(reported_tcb=MILAN_TCB, measurement=b"\xab" * 48))


def test_checks_model_rows_roles_and_colours(qtmodeltester):
    model = ChecksModel()
    qtmodeltester.check(model)
    model.set_rows(CHECKS)
    qtmodeltester.check(model)
    assert model.rowCount() == 4 and model.columnCount() == 4
    assert model.data(model.index(2, COL_STATUS)) == "FAIL"
    assert model.data(model.index(2, COL_STATUS), Qt.ItemDataRole.ForegroundRole).name() == "#b3261e"
    assert not model.data(model.index(2, COL_STATUS), Qt.ItemDataRole.DecorationRole).isNull()
    assert model.data(model.index(2, COL_STAGE)) == "policy"
    assert model.data(model.index(0, COL_EXPLANATION)) == "The report is signed by the VCEK."
    assert model.data(model.index(1, 0), CheckRole) is CHECKS[1]
    assert model.row_of("policy.debug") == 2 and model.row_of("nope") == -1
    assert [c.id for c in policy_comparison(CHECKS)] == ["policy.debug"]  # policy checks only
    ordered = policy_comparison([Check("policy.vmpl", Status.PASS, "ok", stage=Stage.VALIDATE), CHECKS[2]])
    assert [c.id for c in ordered] == ["policy.debug", "policy.vmpl"]  # failures first


def test_comparison_model_shows_expected_and_actual(qtmodeltester):
    model = ComparisonModel()
    model.set_rows(policy_comparison(CHECKS))
    qtmodeltester.check(model)
    assert model.data(model.index(0, COL_EXPECTED)) == "debug off"
    assert model.data(model.index(0, COL_ACTUAL)) == "debug on"
    model.set_rows([Check("policy.vmpl", Status.PASS, "ok", stage=Stage.VALIDATE)])
    assert model.data(model.index(0, COL_EXPECTED)) == "—"


def test_fields_model_groups_and_spans(qtmodeltester):
    evidence = _synthetic_evidence()
    model = FieldsModel()
    spans = field_spans(evidence)
    model.set_fields(describe(evidence), spans)
    qtmodeltester.check(model)
    groups = [model.index(r, 0).data() for r in range(model.rowCount())]
    assert groups[:3] == ["Evidence", "Identity", "Measurements"]
    index = model.find("measurement")
    assert index.siblingAtColumn(1).data() == "ab" * 48
    spec = FIELD_BY_NAME["measurement"]
    assert index.data(SpanRole) == (spec.offset, spec.end)
    assert model.find("cpuid").data(SpanRole) == (0x188, 0x18B)
    assert model.find("current_firmware").data(SpanRole) == (0x1E8, 0x1EB)
    assert model.find("sha256").data(SpanRole) is None
    assert not model.find("no_such_field").isValid()
    assert tdx_span([("body.mr_td", 10, 58), ("qe_report.isv_svn", 3, 5)], "mr_td") == (10, 58)
    assert tdx_span([("qe_report.isv_svn", 3, 5)], "qe_isv_svn") == (3, 5)


def test_tcb_model_compares_each_component(qtmodeltester):
    from tests.unit.attestation.snp.synth import MILAN_TCB

    evidence = _synthetic_evidence()
    policy = SnpPolicy(minimum_tcb=TcbMinimum(microcode=MILAN_TCB.microcode + 1, tee=0))
    model = TcbModel()
    model.set_rows(tcb_rows(evidence.report, policy))
    qtmodeltester.check(model)
    rows = {model.row(r).component: r for r in range(model.rowCount())}
    assert list(rows) == ["bootloader", "tee", "snp", "microcode"]
    assert model.data(model.index(rows["microcode"], COL_RESULT)) == "BELOW the minimum"
    assert model.data(model.index(rows["microcode"], COL_MINIMUM)) == str(MILAN_TCB.microcode + 1)
    assert model.data(model.index(rows["tee"], COL_RESULT)) == "meets the minimum"
    assert model.data(model.index(rows["snp"], COL_RESULT)) == "not checked"
    assert TcbRow("snp", 5, 5, 5, 3, None, 4).result == "below"  # the launch TCB counts too


def test_cert_chain_model_nests_and_dates(qtmodeltester):
    from tests.unit.attestation.snp.synth import AT, MILAN_TCB, synth_chain, synth_leaf

    chain = synth_chain()
    leaf = synth_leaf(chain, MILAN_TCB)
    model = CertChainModel()
    model.set_certificates([leaf, chain.ask, chain.ark, chain.ark], AT)
    qtmodeltester.check(model)
    assert model.rowCount() == 1  # the ARK once, as the only root
    root = model.index(0, 0)
    assert root.data() == "ARK-Milan"
    ask = model.index(0, 0, root)
    assert ask.data() == "SEV-Milan" and model.index(0, 0, ask).data() == "SEV-VCEK"
    assert model.index(0, CERT_COL_STATUS, ask).data() == "valid"
    model.set_certificates([leaf], AT + timedelta(days=20 * 365))
    assert model.index(0, CERT_COL_STATUS).data() == "expired"
    assert model.index(0, 0).data(CertInfoRole).role == "VCEK"


def test_headline_in_plain_language():
    verdict = Verdict("snp", [CHECKS[0]])
    assert headline(verdict).state == "ok" and "No policy" in headline(verdict).detail
    verdict.policy_applied = True
    verdict.add(CHECKS[2])
    line = headline(verdict)
    assert line.state == "unacceptable" and "policy.debug" in line.detail
    verdict.add(Check("snp.signature.r", Status.FAIL, "The signature does not verify."))
    assert headline(verdict).state == "bad" and headline(verdict).title.startswith("NOT authentic")


def test_dropped_files_are_routed_by_kind(tmp_path):
    from pathlib import Path

    names = [Path("report.bin"), Path("vcek.pem"), Path("chain.der"), Path("policy.json")]
    evidence, certs, policy, collateral = sort_dropped(names + [tmp_path])
    assert evidence == Path("report.bin") and certs == names[1:3]
    assert policy == Path("policy.json") and collateral == [tmp_path]
    assert sort_dropped([Path("only.json")])[0] == Path("only.json")  # alone, it is the evidence (EAT)


# --- untrusted input: only our typed errors escape ---------------------------------------------

from hypothesis import given, strategies as st  # noqa: E402


@given(st.binary(max_size=2048))
def test_inspect_of_arbitrary_bytes_raises_only_typed_errors(tmp_path_factory, data):
    from app.views.inspector_work import InspectionInputs, inspect
    from core.errors import PrismError

    path = tmp_path_factory.mktemp("fuzz") / "evidence.bin"
    path.write_bytes(data)
    try:
        result = inspect(InspectionInputs(path))
    except PrismError as error:
        assert str(error)  # a message a person can act on, never empty
        return
    assert result.verdict.checks, "parsed evidence always yields checks"


def test_tdx_tcb_model_compares_each_svn_with_the_policy_and_the_matched_level(qtmodeltester):
    from app.models.tdx_tcb_model import (
        COL_LEVEL, COL_MINIMUM as TDX_COL_MINIMUM, COL_RESULT as TDX_COL_RESULT, TdxTcbModel, tdx_tcb_rows,
    )

    svn = bytes([5, 0, 2, 1] + [0] * 12)             # a TDX 1.0 module: every byte is compared
    policy_min = bytes([5, 0, 3] + [0] * 13)          # the policy wants byte 2 at 3 or more
    level = (4, 0, 2, 2) + (0,) * 12                  # Intel's matched level wants byte 3 at 2
    model = TdxTcbModel()
    model.set_rows(tdx_tcb_rows(svn, policy_min, level))
    qtmodeltester.check(model)
    assert model.rowCount() == 16
    assert model.index(0, 0).data() == "TEE_TCB_SVN[0] (TDX module SVN)"
    assert [model.index(r, TDX_COL_RESULT).data() for r in range(4)] == [
        "meets the minimum", "meets the minimum", "BELOW the minimum", "BELOW the minimum"]
    assert model.index(2, TDX_COL_MINIMUM).data() == "3" and model.index(3, COL_LEVEL).data() == "2"
    assert model.index(2, TDX_COL_RESULT).data(Qt.ItemDataRole.ForegroundRole).name() == "#b3261e"

    module_15 = bytes([3, 1, 2, 2] + [0] * 12)         # TDX 1.5: bytes 0-1 are judged by module identity
    rows = tdx_tcb_rows(module_15, None, level)
    assert [r.level_minimum for r in rows[:4]] == [None, None, 2, 2]
    assert [r.result for r in rows[:4]] == ["none", "none", "meets", "meets"]
    assert all(r.result == "none" for r in tdx_tcb_rows(svn, None, None))   # nothing to compare with
