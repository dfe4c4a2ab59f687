"""make run's mailbox: Mailpit started by devstack receives the platform's emails over SMTP, shows them on its web
page, and devstack.mailbox reads them through its API in the SMTP sink's shape (the demo reads sign-in links so)."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage
from pathlib import Path

import pytest
import requests

from devstack.infra import Mailpit
from devstack.mailbox import messages
from devstack.procs import ProcessTable, free_port
from devstack.testing import emailed_sign_in_token, last_message_id, wait_for

pytestmark = pytest.mark.integration


def test_mailpit_receives_an_email_shows_it_and_devstack_reads_it_like_the_sink(tmp_path):
    binary = Path(__file__).parents[2] / ".tools" / "bin" / "mailpit"  # make test builds it
    if not binary.exists():
        pytest.fail(f"{binary} is missing: make mailpit")
    box = Mailpit(ProcessTable(tmp_path), tmp_path, binary, free_port(), free_port())
    box.start()
    try:
        msg = EmailMessage()
        msg["From"], msg["To"], msg["Subject"] = "shop@example.org", "ann@example.org", "Your sign-in link"
        msg.set_content("Open http://127.0.0.1:8080/sign-in/rsl_abc to sign in.")
        with smtplib.SMTP("127.0.0.1", box.smtp_port, timeout=10) as smtp:
            smtp.send_message(msg)
        got = wait_for(lambda: messages(box.api_url, "ann@example.org"), 10, "the email in Mailpit")
        assert got[0]["subject"] == "Your sign-in link" and "/sign-in/rsl_abc" in got[0]["text"]
        assert messages(box.api_url, "bob@example.org") == []
        assert "Mailpit" in requests.get(box.web_url, timeout=10).text
        # the demo's customers sign in this way under make run (devstack.testing reads either mailbox)
        assert emailed_sign_in_token(box.api_url, "ann@example.org") == "rsl_abc"
        assert last_message_id(box.api_url) == 1
    finally:
        box.stop()
