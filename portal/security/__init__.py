"""Security controls that compose the apps: the audit trail's verification and the logging of
failed authorisation (issue 9, OWASP ASVS level 2)."""
