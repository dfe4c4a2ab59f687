"""The strict request fields: what the API refuses before any rule runs (no I/O)."""

from datetime import UTC, datetime

import marshmallow as ma
import pytest

from subscription_service.entrypoints.api.common import StrictBool, StrictSchema, Text, When, page_args
from subscription_service.entrypoints.api.subscriptions import SubscriptionCreateIn


class Probe(StrictSchema):
    text = Text()
    flag = StrictBool()
    at = When()


def load(**data):
    return Probe().load(data)


@pytest.mark.parametrize("value", ["a\x00b", "bell\x07", "\ud800"])
def test_text_refuses_control_characters_and_broken_unicode(value):
    with pytest.raises(ma.ValidationError):
        load(text=value)


def test_text_keeps_accents_newlines_and_tabs():
    assert load(text="Zoé\n\tÉté")["text"] == "Zoé\n\tÉté"


@pytest.mark.parametrize("value", [1, 0, "true", "yes", None])
def test_booleans_are_only_true_or_false(value):
    with pytest.raises(ma.ValidationError):
        load(flag=value)


def test_instants_need_an_offset_and_are_stored_in_utc():
    assert load(at="2026-03-31T09:00:00+02:00")["at"] == datetime(2026, 3, 31, 7, tzinfo=UTC)
    with pytest.raises(ma.ValidationError):
        load(at="2026-03-31T09:00:00")


@pytest.mark.parametrize("value", ["1999-12-31T23:00:00Z", "2300-01-01T00:00:00Z", "9999-12-31T23:59:59-14:00",
                                   "0001-01-01T00:00:00+14:00"])
def test_instants_out_of_range_are_refused_not_crashing(value):
    with pytest.raises(ma.ValidationError):
        load(at=value)


def test_unknown_fields_are_refused():
    with pytest.raises(ma.ValidationError) as err:
        load(colour="blue")
    assert "colour" in err.value.messages


def test_a_subscription_request_reports_every_missing_field_and_strict_quantities():
    with pytest.raises(ma.ValidationError) as err:
        SubscriptionCreateIn().load({"items": [{"variant_id": "eggs", "quantity": "2"}]})
    messages = err.value.messages
    assert {"customer_id", "schedule_id", "begins_at", "bill_address"} <= set(messages)
    assert "quantity" in messages["items"][0]


def test_page_arguments_are_bounded_and_sorts_listed():
    args = page_args(["created_at", "name"], "created_at")()
    assert args.load({}) == {"limit": 50, "cursor": None, "sort": "created_at"}
    assert args.load({"sort": "-name", "limit": "200"})["sort"] == "-name"
    for bad in ({"limit": "0"}, {"limit": "201"}, {"sort": "price"}):
        with pytest.raises(ma.ValidationError):
            args.load(bad)


def test_a_subscription_item_of_negative_quantity_or_with_more_than_three_substitutes_is_refused_by_its_field():
    """A 0 passes the schema: the rules refuse it on a new line or a changed quantity, and keep it on a line saved
    with it before it was refused (validation.py)."""
    from subscription_service.entrypoints.api.subscriptions import SubscriptionUpdateIn

    with pytest.raises(ma.ValidationError) as err:
        SubscriptionUpdateIn().load({"items": [{"variant_id": "eggs", "quantity": -1},
                                               {"variant_id": "milk", "quantity": 1,
                                                "substitutes": ["a", "b", "c", "d"]}]})
    assert set(err.value.messages["items"][0]) == {"quantity"}
    assert set(err.value.messages["items"][1]) == {"substitutes"}
    loaded = SubscriptionUpdateIn().load({"items": [{"variant_id": "eggs", "quantity": 1}]})
    assert loaded["items"] == [{"variant_id": "eggs", "quantity": 1, "substitutes": []}]
