"""Issue 15 (OWASP ASVS level 2): one test module per finding, each failing before its fix."""
