#!/bin/sh
# Entry point of the panel image. The first argument names the role:
#   web | worker | beat | policyd | dkim | inbound | sender | migrate   run that process
#   healthcheck web|worker|beat|policyd|dkim|inbound  exit 0 if that process answers
#   anything else                         run as a command (e.g. `python manage.py shell`)
set -eu

cd /app

case "${1:-web}" in
web)
    shift || true
    exec gunicorn panel.wsgi:application \
        --bind 0.0.0.0:8000 \
        --workers "${GUNICORN_WORKERS:-3}" \
        --timeout "${GUNICORN_TIMEOUT:-60}" \
        --access-logfile - \
        "$@"
    ;;
worker)
    shift
    exec celery -A panel worker -l info --concurrency "${CELERY_CONCURRENCY:-2}" "$@"
    ;;
beat)
    shift
    # --enable-remote-control lets `healthcheck beat` ping it like a worker.
    exec celery -A panel beat -l info --enable-remote-control \
        --schedule "${PANEL_VAR_DIR:-/var/lib/panel}/celerybeat-schedule" "$@"
    ;;
policyd)
    shift
    # The outgoing-limit policy service Postfix asks (deploy/postfix/main.cf).
    exec python manage.py mail_policyd "$@"
    ;;
dkim)
    shift
    # The DKIM signer, the milter of Postfix's submission service (deploy/postfix/main.cf).
    exec python manage.py mail_dkim_milter "$@"
    ;;
inbound)
    shift
    # The receiver of campaign bounces, complaints and unsubscribe emails, to which
    # Postfix hands the bounce domain (deploy/postfix/main.cf, transport_maps).
    exec python manage.py newsletter_inbound "$@"
    ;;
sender)
    shift
    # A dedicated newsletter sending worker (beat's Celery tasks also send): run as many
    # as you like, they share the database's rows and Redis's quotas.
    exec python manage.py newsletter_deliver "$@"
    ;;
migrate)
    shift
    exec python manage.py migrate --noinput "$@"
    ;;
healthcheck)
    # Celery names its nodes after the host name: celery@<host> and celerybeat@<host>.
    node_host=$(python -c 'import socket; print(socket.gethostname())')
    case "${2:-web}" in
    web)
        # A real request through Django, which also checks the database: the host must be
        # one of PANEL_ALLOWED_HOSTS; /healthz/ is exempt from the HTTPS redirect.
        exec python - <<'PY'
import http.client, os, sys
host = (os.environ.get("PANEL_ALLOWED_HOSTS") or "localhost").split(",")[0].strip()
conn = http.client.HTTPConnection("127.0.0.1", 8000, timeout=5)
conn.request("GET", "/healthz/", headers={"Host": host})
status = conn.getresponse().status
print(f"web: HTTP {status}")
sys.exit(0 if status == 200 else 1)
PY
        ;;
    worker)
        exec celery -A panel inspect ping --timeout 10 --destination "celery@$node_host"
        ;;
    beat)
        exec celery -A panel inspect ping --timeout 10 --destination "celerybeat@$node_host"
        ;;
    policyd)
        # An anonymous request, answered DUNNO by a service that is up.
        exec python - <<'PY'
import os, socket, sys
port = int(os.environ.get("PANEL_MAIL_POLICY_PORT", "10040"))
with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
    sock.sendall(b"request=smtpd_access_policy\nprotocol_state=RCPT\n\n")
    answer = sock.recv(256)
print(f"policyd: {answer.decode().strip()}")
sys.exit(0 if answer.startswith(b"action=") else 1)
PY
        ;;
    dkim)
        # A milter answers the protocol's first message (option negotiation) at once.
        exec python - <<'PY'
import os, socket, struct, sys
port = int(os.environ.get("PANEL_MAIL_DKIM_MILTER_PORT", "8891"))
negotiate = b"O" + struct.pack("!III", 6, 0x1FF, 0x1FFFFF)
with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
    sock.sendall(struct.pack("!I", len(negotiate)) + negotiate)
    answer = sock.recv(64)
print(f"dkim: {answer[4:5]!r}")
sys.exit(0 if answer[4:5] == b"O" else 1)
PY
        ;;
    inbound)
        # An SMTP server greets first.
        exec python - <<'PY'
import os, socket, sys
port = int(os.environ.get("PANEL_NEWSLETTER_INBOUND_PORT", "2526"))
with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
    answer = sock.recv(256)
print(f"inbound: {answer.decode(errors='replace').strip()}")
sys.exit(0 if answer.startswith(b"220 ") else 1)
PY
        ;;
    *)
        echo "healthcheck: unknown role ${2}" >&2
        exit 2
        ;;
    esac
    ;;
*)
    exec "$@"
    ;;
esac
