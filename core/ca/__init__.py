"""The workspace's local certificate authority.

``authority.CertificateAuthority`` is the entry point (issue, renew, revoke, CRL, OCSP, export);
``ocsp_server.OCSPResponder`` serves its OCSP answers on loopback. The other modules are the
pure pieces it is built from: X.509 profiles (builder), SAN strings (sans), CSRs (csr),
CRLs (crl), OCSP responses (ocsp), revocation reasons (reasons) and export formats (export).
"""
