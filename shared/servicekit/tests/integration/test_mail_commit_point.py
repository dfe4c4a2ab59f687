"""servicekit.mail's commit point, against Mailpit: the sender's record of "sent" is made while the server holds
the whole message but has not taken it; a record that fails leaves nothing at the server."""

import uuid

import pytest
import requests

from servicekit.mail import Email, Smtp, build_message

pytestmark = pytest.mark.integration


def _mails(infra, to):
    return requests.get(f"{infra.smtp_api}/messages", params={"to": to}, timeout=10).json()


def _message(to, text):
    return build_message(Email(to, "Week 14", text, "<p>Week 14</p>"), sender="Orders <o@orders.example>",
                         message_id=f"<{uuid.uuid4()}@orders.example>")


def test_the_message_arrives_whole_once_the_commit_is_made_and_lines_starting_with_a_dot_keep_it(infra):
    to = f"camille-{uuid.uuid4().hex[:8]}@example.org"
    text = "Your order:\n.\n.5 kg of honey\n..and more\n"
    smtp = Smtp("127.0.0.1", infra.smtp_port, 10)
    committed = []
    smtp.send(_message(to, text), commit=lambda: committed.append(_mails(infra, to)))
    smtp.send(_message(to, "a second one on the same connection"), commit=lambda: None)
    smtp.close()
    assert committed == [[]]  # at the commit the server holds the message but has not taken it
    mails = _mails(infra, to)
    assert len(mails) == 2
    assert sorted(m["text"].replace("\r\n", "\n") for m in mails) == sorted([text, "a second one on the same "
                                                                              "connection\n"])


def test_a_commit_that_fails_leaves_nothing_at_the_server_and_the_next_message_goes_through(infra):
    to = f"camille-{uuid.uuid4().hex[:8]}@example.org"
    smtp = Smtp("127.0.0.1", infra.smtp_port, 10)

    def lost() -> None:
        raise ConnectionError("PostgreSQL went away")

    with pytest.raises(ConnectionError):
        smtp.send(_message(to, "never taken"), commit=lost)
    smtp.send(_message(to, "taken"), commit=lambda: None)
    smtp.close()
    assert [m["text"].strip() for m in _mails(infra, to)] == ["taken"]
