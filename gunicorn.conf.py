"""Gunicorn settings, read automatically when gunicorn starts in this directory.

The access log never carries query strings or referrers: both can hold personal data
(a searched email address, a supporter's id). %(U)s is the path alone.
"""

accesslog = "-"
access_log_format = '%(h)s %(l)s %(u)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(B)s %(L)ss'
# The proxy in front terminates TLS and adds X-Forwarded-For / -Proto.
forwarded_allow_ips = "127.0.0.1,::1"
