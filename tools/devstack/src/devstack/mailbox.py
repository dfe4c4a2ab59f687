"""Reading the local mailbox, whichever it is: the project's SMTP sink (tests) or Mailpit (make run).

``messages(api_url, to)`` answers the sink's shape for both: ``[{id, to, subject, text, html}]``, oldest first,
``id`` increasing with arrival (Mailpit's own ids are strings: numbered here by arrival)."""

from __future__ import annotations

import functools
from typing import Any

import requests


@functools.lru_cache(maxsize=16)
def is_mailpit(api_url: str) -> bool:
    try:
        return requests.get(f"{api_url.rstrip('/')}/api/v1/info", timeout=5).ok
    except requests.RequestException:
        return False


def messages(api_url: str, to: str | None = None) -> list[dict[str, Any]]:
    base = api_url.rstrip("/")
    if not is_mailpit(base):  # remembered per address: a mailbox does not change kind while it runs
        return requests.get(f"{base}/messages", params={"to": to} if to else {}, timeout=10).json()
    found = requests.get(f"{base}/api/v1/messages", params={"limit": 10_000}, timeout=10).json()["messages"]
    out = []
    for n, summary in enumerate(reversed(found), start=1):  # Mailpit lists the newest first
        rcpt = [a["Address"] for a in summary.get("To") or []]
        if to and to.lower() not in (r.lower() for r in rcpt):
            continue
        full = requests.get(f"{base}/api/v1/message/{summary['ID']}", timeout=10).json()
        out.append({"id": n, "to": rcpt, "subject": summary.get("Subject"), "text": full.get("Text"),
                    "html": full.get("HTML"), "message_id": summary.get("MessageID")})
    return out
