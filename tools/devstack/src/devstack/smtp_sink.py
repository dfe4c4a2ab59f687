"""A real SMTP server that keeps every message, and a JSON API to read them (tests and the demo).

python -m devstack.smtp_sink --smtp-port 1025 --http-port 8025 --store mail.jsonl
GET /messages[?to=addr] -> [{id, message_id, from, to, subject, date, text, html, headers}]
DELETE /messages        -> forget everything
"""

from __future__ import annotations

import argparse
import base64
import email
import email.policy
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

from aiosmtpd.controller import Controller


class Mailbox:
    def __init__(self, store: Path | None) -> None:
        self.store = store
        self.lock = threading.Lock()
        self.messages: list[dict] = []
        if store and store.exists():
            for line in store.read_text().splitlines():
                if line.strip():
                    self.messages.append(json.loads(line))

    def add(self, envelope_from: str, rcpt: list[str], raw: bytes) -> None:
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        text = html = None
        attachments = []
        for part in msg.walk() if msg.is_multipart() else [msg]:
            ctype = part.get_content_type()
            if part.get_content_disposition() == "attachment":  # kept whole, base64 (a receipt's PDF)
                data = part.get_payload(decode=True)
                attachments.append({"filename": part.get_filename(), "content_type": ctype,
                                    "base64": base64.b64encode(data if isinstance(data, bytes) else b"").decode()})
            elif ctype == "text/plain" and text is None:
                text = part.get_content()
            elif ctype == "text/html" and html is None:
                html = part.get_content()
        item = {
            "id": len(self.messages) + 1,
            "received_at": time.time(),
            "message_id": msg.get("Message-ID"),
            "from": msg.get("From") or envelope_from,
            "to": rcpt,
            "subject": msg.get("Subject"),
            "date": msg.get("Date"),
            "headers": {k: str(v) for k, v in msg.items()},
            "text": text,
            "html": html,
            "attachments": attachments,
        }
        with self.lock:
            item["id"] = len(self.messages) + 1
            self.messages.append(item)
            if self.store:
                with self.store.open("a") as f:
                    f.write(json.dumps(item) + "\n")

    def list(self, to: str | None = None) -> list[dict]:
        with self.lock:
            items = list(self.messages)
        if to:
            items = [m for m in items if to.lower() in (r.lower() for r in m["to"])]
        return items

    def clear(self) -> None:
        with self.lock:
            self.messages.clear()
            if self.store:
                self.store.write_text("")


class _SmtpHandler:
    def __init__(self, box: Mailbox) -> None:
        self.box = box

    async def handle_DATA(self, server, session, envelope):
        self.box.add(envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content or envelope.content)
        return "250 Message accepted for delivery"


def serve(smtp_port: int, http_port: int, store: Path | None) -> None:
    box = Mailbox(store)
    # a busy machine may answer aiosmtpd's own start-up probe later than its default allows
    controller = Controller(_SmtpHandler(box), hostname="127.0.0.1", port=smtp_port, ready_timeout=30)
    controller.start()

    class Api(BaseHTTPRequestHandler):
        def _send(self, code: int, payload: object) -> None:
            body = json.dumps(payload).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            url = urlparse(self.path)
            if url.path == "/messages":
                to = parse_qs(url.query).get("to", [None])[0]
                self._send(200, box.list(to))
            elif url.path == "/healthz":
                self._send(200, {"status": "ok"})
            else:
                self._send(404, {"error": "not found"})

        def do_DELETE(self) -> None:
            if urlparse(self.path).path == "/messages":
                box.clear()
                self._send(200, {"status": "cleared"})
            else:
                self._send(404, {"error": "not found"})

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", http_port), Api)
    try:
        server.serve_forever()
    finally:
        controller.stop()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--smtp-port", type=int, default=1025)
    parser.add_argument("--http-port", type=int, default=8025)
    parser.add_argument("--store", default=None)
    args = parser.parse_args()
    serve(args.smtp_port, args.http_port, Path(args.store) if args.store else None)


if __name__ == "__main__":
    main()
