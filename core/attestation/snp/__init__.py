"""AMD SEV-SNP evidence: parse (report, certs, certtable), verify (verify), validate (policy)."""

from __future__ import annotations
