"""The outbox collector's exposition, with the database read replaced by a function (no I/O)."""

from prometheus_client.parser import text_string_to_metric_families

from servicekit import metrics


def families(*collectors):
    body, _ = metrics.render(*collectors)
    return {f.name: f for f in text_string_to_metric_families(body.decode())}


def test_the_backlog_read_at_scrape_time_is_exposed_with_the_service_label():
    found = families(metrics.OutboxCollector("billing-service", lambda: (12, 4.5)))
    assert [(s.labels, s.value) for s in found["outbox_pending_events"].samples] == [({"service": "billing-service"},
                                                                                       12)]
    assert found["outbox_oldest_pending_seconds"].samples[0].value == 4.5


def test_an_empty_outbox_has_no_oldest_event_and_reports_zero_seconds():
    found = families(metrics.OutboxCollector("s", lambda: (0, None)))
    assert found["outbox_oldest_pending_seconds"].samples[0].value == 0


def test_a_backlog_that_cannot_be_read_leaves_it_out_and_the_rest_of_the_scrape_stands():
    def database_down():
        raise OSError("connection refused")

    found = families(metrics.OutboxCollector("s", database_down))
    assert "outbox_pending_events" not in found or not found["outbox_pending_events"].samples
    assert "http_requests" in found  # this process's own metrics are still there
