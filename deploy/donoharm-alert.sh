#!/bin/sh
# Tell a person that a Do No Harm unit failed. Started by donoharm-alert@<unit>.service (OnFailure= in
# donoharm.service, donoharm-maintenance.service and donoharm-health.service).
#   DONOHARM_ALERT_EMAIL  an address: the message goes out with sendmail (e.g. Debian's msmtp-mta)
#   DONOHARM_ALERT_URL    a URL: the message is POSTed to it (a chat webhook, a monitor's ping URL)
# Neither set: the message goes to the journal at priority "crit" only.
# The message names the unit and the health check's answer; it never holds run data.
set -u
unit="${1:-unknown unit}"
host="$(hostname 2>/dev/null || echo server)"
health="$(curl -sS -m 10 "${DONOHARM_HEALTH_URL:-http://127.0.0.1:8000/healthz}" 2>&1 | head -c 4000)"
message="Do No Harm on ${host}: ${unit} failed at $(date -u +%Y-%m-%dT%H:%M:%SZ).
Health check: ${health}
See: journalctl -u ${unit} --since -1h"

logger -p user.crit -t donoharm-alert "${unit} failed" 2>/dev/null || true
status=0
if [ -n "${DONOHARM_ALERT_EMAIL:-}" ]; then
  printf 'To: %s\nSubject: Do No Harm: %s failed on %s\n\n%s\n' \
    "$DONOHARM_ALERT_EMAIL" "$unit" "$host" "$message" | /usr/sbin/sendmail -t || status=1
fi
if [ -n "${DONOHARM_ALERT_URL:-}" ]; then
  printf '%s\n' "$message" | curl -fsS -m 20 -H 'Content-Type: text/plain; charset=utf-8' \
    --data-binary @- "$DONOHARM_ALERT_URL" >/dev/null || status=1
fi
exit "$status"
