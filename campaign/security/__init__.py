"""Sign-in protection, session limits, security headers and the account audit trail.

README "Security and privacy" describes what each part protects.
"""
