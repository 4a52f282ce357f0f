"""gunicorn settings for Do No Harm behind a TLS reverse proxy on the same machine (README: Running in production).

Run from the project folder: gunicorn -c deploy/gunicorn.conf.py app:app
"""
import multiprocessing
import os

# Loopback only: the reverse proxy (Caddy or nginx) terminates TLS and is the only way in.
bind = os.environ.get("DONOHARM_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("DONOHARM_WORKERS", multiprocessing.cpu_count() * 2 + 1))
worker_class = "gthread"
threads = 4
timeout = 60
graceful_timeout = 30
# Trust X-Forwarded-* only from the proxy on this machine.
forwarded_allow_ips = "127.0.0.1,::1"
accesslog = "-"
errorlog = "-"
loglevel = "info"
# %(U)s is the path without its query string, so a one-time /setup?token=… never reaches the log.
# Every logged value escaped (\x0a for a line feed): a path with %0d%0a in it cannot forge a log line.
logger_class = "donoharm.web.access_log.EscapingLogger"
access_log_format = '%(h)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(B)s %(M)sms'
# gunicorn 24+ opens a control socket in $HOME; the service needs none (and its home is read-only).
control_socket_disable = True
