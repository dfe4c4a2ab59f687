"""servicekit.logs: the one kafka-python shutdown race it drops, and nothing else."""

import logging
import sys

from servicekit.logs import closed_transport_race


def record(msg, args, exc):
    try:
        raise exc
    except BaseException:
        info = sys.exc_info()
    return logging.LogRecord("kafka.net.transport", logging.ERROR, "transport.py", 110, msg, args, info)


class Transport:
    def __init__(self, closed):
        self.closed = closed

    def __str__(self):
        return "<KafkaTCPTransport [none] (closed)>" if self.closed else "<KafkaTCPTransport 127.0.0.1:9092>"


def test_a_read_on_a_transport_closed_under_it_is_dropped():
    race = AttributeError("'NoneType' object has no attribute 'recv'")
    assert not closed_transport_race(record("%s: Error receiving network data closing socket", (Transport(True),),
                                            race))


def test_other_transport_errors_are_kept():
    assert closed_transport_race(record("%s: Error receiving network data closing socket", (Transport(False),),
                                        AttributeError("'NoneType' object has no attribute 'recv'")))
    assert closed_transport_race(record("%s: Error receiving network data closing socket", (Transport(True),),
                                        ConnectionResetError(104, "Connection reset by peer")))
    plain = logging.LogRecord("kafka.net.transport", logging.ERROR, "transport.py", 1, "%s: socket disconnected",
                              (Transport(True),), None)
    assert closed_transport_race(plain)
