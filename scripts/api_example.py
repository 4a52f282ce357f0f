#!/usr/bin/env python3
"""Carry out a whole protocol run through the JSON API, as a phone app or script would.

Usage: DONOHARM_PASSWORD=… python3 scripts/api_example.py BASE_URL USERNAME PROTOCOL_ID VERSION LABEL

Signs in with the login form, starts a practice run with a client-made UUID, answers every
step with a sample value, submits with an attestation, and prints the run's final status. Uses only
the standard library. The answers are placeholders: use it to try the API, not for a real operation.
"""
from __future__ import annotations

import http.cookiejar
import json
import os
import re
import sys
import urllib.error
import urllib.parse
import urllib.request
import uuid
from datetime import UTC, datetime

SAMPLES = {"check": True, "yesno": "yes", "count": 0, "time": "12:00", "text": "Placeholder answer."}


class Client:
    """A cookie-keeping HTTP client that sends the CSRF header on writes."""

    def __init__(self, base: str):
        self.base = base.rstrip("/")
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        self.csrf = ""

    def request(self, method: str, path: str, body: bytes | None = None, content_type: str = "application/json"):
        headers = {"Content-Type": content_type, "X-CSRFToken": self.csrf, "Accept": "application/json"}
        req = urllib.request.Request(self.base + path, data=body, method=method, headers=headers)
        try:
            with self.opener.open(req) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()

    def json(self, method: str, path: str, payload=None):
        status, text = self.request(method, path, json.dumps(payload).encode() if payload is not None else None)
        data = json.loads(text) if text.startswith(("{", "[")) else text
        if status >= 400:
            raise SystemExit(f"{method} {path} → {status}: {data}")
        return data

    def sign_in(self, username: str, password: str) -> None:
        _status, page = self.request("GET", "/login")
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
        form = urllib.parse.urlencode({"username": username, "password": password, "csrf_token": token})
        status, _page = self.request("POST", "/login", form.encode(), "application/x-www-form-urlencoded")
        session = self.request("GET", "/api/v1/session")
        if session[0] != 200:
            raise SystemExit("sign-in failed: check the username and password")
        self.csrf = json.loads(session[1])["csrf_token"]


def event(type_: str, step=None, value=None, note=None) -> dict:
    return {"id": str(uuid.uuid4()), "type": type_, "step": step, "value": value, "note": note,
            "at": datetime.now(UTC).isoformat(timespec="seconds")}


def main(base: str, username: str, protocol_id: str, version: str, label: str) -> None:
    client = Client(base)
    client.sign_in(username, os.environ.get("DONOHARM_PASSWORD") or input("Password: "))
    protocol = client.json("GET", f"/api/v1/protocols/{protocol_id}/{version}")
    run_id = str(uuid.uuid4())
    client.json("PUT", f"/api/v1/runs/{run_id}", {"protocol_id": protocol_id, "protocol_version": version,
                                                  "label": label, "mode": "practice"})
    answers = [event("step.set", step["id"], step["options"][0]["id"] if step["kind"] == "choice"
                     else SAMPLES[step["kind"]])
               for phase in protocol["phases"] for step in phase["steps"]]
    client.json("POST", f"/api/v1/runs/{run_id}/events", {"events": answers})
    submitted = event("run.submitted", value={"name": username, "confirmed": True})
    result = client.json("POST", f"/api/v1/runs/{run_id}/events", {"events": [submitted]})
    print(f"run {run_id}: {result['status']}, chain head {result['head']}")


if __name__ == "__main__":
    if len(sys.argv) != 6:
        raise SystemExit(__doc__)
    main(*sys.argv[1:])
