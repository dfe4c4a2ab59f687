"""One realistic example payload per event type: the source of the golden samples and the catalogue."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

SHOP = "7f3c8a52-1d2e-4f6a-9b0c-1a2b3c4d5e6f"
CUSTOMER = "c1d2e3f4-a5b6-4c7d-8e9f-0a1b2c3d4e5f"
SCHEDULE = "5c4e0f6a-8b9d-4e1f-a2b3-c4d5e6f7a8b9"
CYCLE = "0c1e2d3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f"
SUB = "9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d"
ORDER = "4d5e6f7a-8b9c-4d0e-9f1a-2b3c4d5e6f7a"
PAYMENT = "2b3c4d5e-6f7a-4b8c-9d0e-1f2a3b4c5d6e"
TOKEN = "6e7f8a9b-0c1d-4e2f-a3b4-c5d6e7f8a9b0"
SHIP = "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d"
PAYM = "3c4d5e6f-7a8b-4c9d-8e0f-1a2b3c4d5e6f"
T_OPEN = datetime(2026, 3, 31, 7, 0, tzinfo=UTC)  # Tuesday 09:00 Europe/Paris (summer time)
T_CLOSE = datetime(2026, 4, 3, 15, 0, tzinfo=UTC)  # Friday 17:00 Europe/Paris
T_REMIND = datetime(2026, 4, 2, 15, 0, tzinfo=UTC)  # 24 h before the close
ACTOR = {"type": "manager", "id": TOKEN}
ADDRESS = {"first_name": "Camille", "last_name": "Durand", "address1": "12 rue des Lilas", "address2": None,
           "city": "Lyon", "zipcode": "69003", "state": None, "country": "FR", "phone": "+33 4 72 00 00 00"}
ITEMS = [{"variant_id": "veg-box-large", "quantity": 1, "price_estimate": 2500},
         {"variant_id": "eggs-6", "quantity": 2, "price_estimate": 320}]
TOTALS = {"item_total": 3140, "shipping_fee": 500, "payment_fee": 0, "total": 3640}
LINE = {"line_id": "l-1", "variant_id": "veg-box-large", "name": "Vegetable box - large", "unit_price": 2500,
        "requested_quantity": 1, "quantity": 1, "total": 2500}
LINE2 = {"line_id": "l-2", "variant_id": "eggs-6", "name": "Eggs - half dozen", "unit_price": 320,
         "requested_quantity": 3, "quantity": 2, "total": 640}
ORD = {"order_id": ORDER, "shop_id": SHOP, "subscription_id": SUB, "order_cycle_id": CYCLE, "customer_id": CUSTOMER}
PAY = {"payment_id": PAYMENT, "order_id": ORDER, "shop_id": SHOP, "customer_id": CUSTOMER}
SETTINGS = {"name": "La Ruche de Lyon", "timezone": "Europe/Paris", "currency": "EUR", "locale": "fr",
            "contact_email": "bonjour@ruche-lyon.example", "owner_email": "owner@ruche-lyon.example",
            "subscriptions_enabled": True, "allow_order_changes": True, "allow_customer_skip": False,
            "allocation_policy": "first_come", "late_placement": "while_open",
            "payment_retry": {"delays_hours": [24, 72], "max_attempts": 3}, "stripe_account_id": None}
BOUNDARY = {"order_cycle_id": CYCLE, "shop_id": SHOP, "opens_at": T_OPEN, "closes_at": T_CLOSE}

EXAMPLES: dict[str, dict[str, Any]] = {
    "TokenIssued": {"token_id": TOKEN, "token_hash": "9f" * 32, "role": "manager", "shop_ids": [SHOP],
                    "customer_id": None, "label": "Camille (manager)", "expires_at": None,
                    "actor": {"type": "admin", "id": "00000000-0000-0000-0000-000000000000"}, "reason": None},
    "TokenRevoked": {"token_id": TOKEN, "actor": {"type": "admin", "id": "00000000-0000-0000-0000-000000000000"},
                     "reason": "laptop lost"},
    "ShopCreated": {"shop_id": SHOP, "settings": SETTINGS, "actor": {"type": "admin", "id": "admin"},
                    "reason": None},
    "ShopUpdated": {"shop_id": SHOP, "changes": {"subscriptions_enabled": False},
                    "previous": {"subscriptions_enabled": True}, "actor": ACTOR, "reason": "winter break"},
    "ShippingMethodSaved": {"shop_id": SHOP, "method_id": SHIP, "name": "Home delivery", "description": None,
                            "fee_flat": 500, "fee_percent_bp": 0, "active": True, "pickup": False, "actor": ACTOR,
                            "reason": None},
    "ShippingMethodRemoved": {"shop_id": SHOP, "method_id": SHIP, "actor": ACTOR, "reason": None},
    "PaymentMethodSaved": {"shop_id": SHOP, "method_id": PAYM, "name": "Card", "description": "Charged at close",
                           "fee_flat": 0, "fee_percent_bp": 150, "active": True, "kind": "stripe", "actor": ACTOR,
                           "reason": None},
    "PaymentMethodRemoved": {"shop_id": SHOP, "method_id": PAYM, "actor": ACTOR, "reason": None},
    "CustomerCreated": {"customer_id": CUSTOMER, "shop_id": SHOP,
                        "details": {"email": "camille@example.org", "first_name": "Camille", "last_name": "Durand",
                                    "locale": "fr", "bill_address": ADDRESS, "ship_address": ADDRESS},
                        "actor": ACTOR, "reason": None},
    "CustomerUpdated": {"customer_id": CUSTOMER, "shop_id": SHOP, "changes": {"last_name": "Martin"},
                        "previous": {"last_name": "Durand"}, "actor": ACTOR, "reason": None},
    "StripeCustomerCreated": {"customer_id": CUSTOMER, "shop_id": SHOP, "stripe_customer_id": "cus_Q1w2E3r4",
                              "actor": {"type": "customer", "id": TOKEN}, "reason": None},
    "CustomerCardSet": {"customer_id": CUSTOMER, "shop_id": SHOP, "stripe_customer_id": "cus_Q1w2E3r4",
                        "payment_method_id": "pm_1Abc", "card_brand": "visa", "card_last4": "4242",
                        "card_exp_month": 12, "card_exp_year": 2034, "setup_intent_id": "seti_1Abc",
                        "actor": {"type": "customer", "id": TOKEN}, "reason": None},
    "CustomerCardRemoved": {"customer_id": CUSTOMER, "shop_id": SHOP, "actor": {"type": "customer", "id": TOKEN},
                            "reason": None},
    "CustomerChargesAllowed": {"customer_id": CUSTOMER, "shop_id": SHOP, "payment_method_id": "pm_1Abc",
                               "consent": {"at": datetime(2026, 3, 20, 18, 4, tzinfo=UTC),
                                           "method": "email_sign_in_link", "session_id": TOKEN,
                                           "text": "J'autorise La Ruche de Lyon à débiter ma carte ...",
                                           "locale": "fr", "email": "camille@example.org"},
                               "actor": {"type": "customer", "id": TOKEN}, "reason": None},
    "CustomerChargesRevoked": {"customer_id": CUSTOMER, "shop_id": SHOP,
                               "actor": {"type": "customer", "id": TOKEN}, "reason": "default card changed"},
    "CustomerDeleted": {"customer_id": CUSTOMER, "shop_id": SHOP, "actor": ACTOR, "reason": None},
    "OrderCycleCreated": {"order_cycle_id": CYCLE, "shop_id": SHOP, "name": "Week 14", "opens_at": T_OPEN,
                          "closes_at": T_CLOSE, "actor": ACTOR, "reason": None},
    "OrderCycleMoved": {"order_cycle_id": CYCLE, "shop_id": SHOP, "name": "Week 14", "opens_at": T_OPEN,
                        "closes_at": datetime(2026, 4, 3, 17, 0, tzinfo=UTC), "previous_opens_at": T_OPEN,
                        "previous_closes_at": T_CLOSE, "actor": ACTOR, "reason": "Easter"},
    "OrderCycleDeleted": {"order_cycle_id": CYCLE, "shop_id": SHOP, "actor": ACTOR, "reason": None},
    "ScheduleCreated": {"schedule_id": SCHEDULE, "shop_id": SHOP, "name": "Weekly box", "order_cycle_ids": [CYCLE],
                        "actor": ACTOR, "reason": None},
    "ScheduleRenamed": {"schedule_id": SCHEDULE, "shop_id": SHOP, "name": "Weekly veg box", "actor": ACTOR,
                        "reason": None},
    "ScheduleOrderCyclesChanged": {"schedule_id": SCHEDULE, "shop_id": SHOP, "added": [], "removed": [CYCLE],
                                   "order_cycle_ids": [], "actor": ACTOR, "reason": None},
    "ScheduleDeleted": {"schedule_id": SCHEDULE, "shop_id": SHOP, "actor": ACTOR, "reason": None},
    "SubscriptionCreated": {"subscription_id": SUB, "shop_id": SHOP, "customer_id": CUSTOMER,
                            "schedule_id": SCHEDULE, "currency": "EUR",
                            "terms": {"items": ITEMS, "shipping_method_id": SHIP, "payment_method_id": PAYM,
                                      "payment_kind": "stripe", "bill_address": ADDRESS, "ship_address": ADDRESS,
                                      "begins_at": datetime(2026, 3, 30, 22, 0, tzinfo=UTC), "ends_at": None,
                                      "shipping_fee_estimate": 500, "payment_fee_estimate": 47},
                            "sequence": 17, "actor": ACTOR, "reason": None},
    "SubscriptionUpdated": {"subscription_id": SUB, "shop_id": SHOP,
                            "changes": {"items": [{"variant_id": "veg-box-large", "quantity": 2,
                                                   "price_estimate": 2500}]},
                            "previous": {"items": ITEMS}, "actor": ACTOR, "reason": "customer phoned"},
    "SubscriptionPaused": {"subscription_id": SUB, "shop_id": SHOP, "open_orders": "keep",
                           "open_order_cycle_ids": [CYCLE], "actor": ACTOR, "reason": "holidays"},
    "SubscriptionUnpaused": {"subscription_id": SUB, "shop_id": SHOP, "actor": ACTOR, "reason": None},
    "SubscriptionCancelled": {"subscription_id": SUB, "shop_id": SHOP, "open_orders": "cancel",
                              "open_order_cycle_ids": [CYCLE], "actor": ACTOR, "reason": "moved away"},
    "OccurrenceSkipped": {"subscription_id": SUB, "shop_id": SHOP, "order_cycle_id": CYCLE,
                          "actor": {"type": "customer", "id": TOKEN}, "reason": "away that week"},
    "OccurrenceResumed": {"subscription_id": SUB, "shop_id": SHOP, "order_cycle_id": CYCLE, "actor": ACTOR,
                          "reason": None},
    "OrderDue": {"subscription_id": SUB, "order_cycle_id": CYCLE, "shop_id": SHOP, "customer_id": CUSTOMER,
                 "schedule_id": SCHEDULE, "opens_at": T_OPEN, "closes_at": T_CLOSE, "due_at": T_OPEN,
                 "reason": "cycle_opened", "lateness_seconds": 0.042, "late": False},
    "OrderDueMissed": {"subscription_id": SUB, "order_cycle_id": CYCLE, "shop_id": SHOP, "customer_id": CUSTOMER,
                       "schedule_id": SCHEDULE, "opens_at": T_OPEN, "closes_at": T_CLOSE, "due_at": T_OPEN,
                       "due_reason": "cycle_opened", "reason": "open_processed_after_close",
                       "late_placement": "while_open", "lateness_seconds": 302400.0},
    "PauseEnded": {"subscription_id": SUB, "shop_id": SHOP, "paused_version": 4, "resumes_at": T_OPEN,
                   "lateness_seconds": 0.03},
    "OrderCycleOpened": {**BOUNDARY, "boundary_at": T_OPEN, "lateness_seconds": 0.05, "due_count": 1},
    "OrderCycleClosed": {**BOUNDARY, "boundary_at": T_CLOSE, "lateness_seconds": 0.05},
    "OrderCycleClosingSoon": {**BOUNDARY, "boundary_at": T_REMIND, "lateness_seconds": 0.05, "hours_before_close": 24},
    "OrderPlaced": {**ORD, "number": "R2026-000123", "status": "placed", "currency": "EUR", "lines": [LINE, LINE2],
                    "totals": TOTALS, "shipping_method_id": SHIP, "payment_method_id": PAYM,
                    "payment_kind": "stripe", "bill_address": ADDRESS, "ship_address": ADDRESS, "opens_at": T_OPEN,
                    "closes_at": T_CLOSE, "late": False, "allocation_policy": "first_come",
                    "stock_delta": [{"variant_id": "veg-box-large", "delta": 1}, {"variant_id": "eggs-6", "delta": 2}],
                    "actor": {"type": "system", "id": "order-service"}, "reason": None},
    "OrderLineChanged": {**ORD, "line_id": "l-2", "variant_id": "eggs-6", "quantity": 1, "previous_quantity": 2,
                         "by": "customer", "totals": {**TOTALS, "item_total": 2820, "total": 3320},
                         "stock_delta": [{"variant_id": "eggs-6", "delta": -1}],
                         "actor": {"type": "customer", "id": TOKEN}, "reason": None},
    "OrderLineAdded": {**ORD, "line": {**LINE2, "line_id": "l-3", "requested_quantity": 1, "quantity": 1,
                                       "total": 320},
                       "by": "manager", "totals": TOTALS, "stock_delta": [{"variant_id": "eggs-6", "delta": 1}],
                       "actor": ACTOR, "reason": None},
    "OrderLineRemoved": {**ORD, "line_id": "l-2", "variant_id": "eggs-6", "by": "manager",
                         "totals": {**TOTALS, "item_total": 2500, "total": 3000},
                         "stock_delta": [{"variant_id": "eggs-6", "delta": -2}], "actor": ACTOR, "reason": None},
    "OrderDetailsChanged": {**ORD, "shipping_method_id": SHIP, "by": "subscription", "totals": TOTALS,
                            "actor": ACTOR, "reason": None},
    "OrderUpdateIssuesRecorded": {**ORD, "subscription_event_id": "8d1f0c36-2f0e-4d8a-9c4e-1b2a3c4d5e6f",
                                  "issues": [{"kind": "line_hand_edited", "variant_id": "eggs-6",
                                              "message": "Eggs - half dozen: the quantity was changed by hand on "
                                                         "this order, so the subscription's new quantity was not "
                                                         "applied."}],
                                  "actor": ACTOR, "reason": None},
    "OrderCancelled": {**ORD, "by": "manager", "cause": "subscription_paused",
                       "stock_delta": [{"variant_id": "veg-box-large", "delta": -1}], "actor": ACTOR,
                       "reason": None},
    "OrderResumed": {**ORD, "by": "manager", "lines": [LINE], "totals": TOTALS,
                     "stock_delta": [{"variant_id": "veg-box-large", "delta": 1}], "actor": ACTOR, "reason": None},
    "OrderConfirmed": {**ORD, "number": "R2026-000123", "currency": "EUR", "totals": TOTALS, "payment_kind": "stripe",
                       "payment_required": True, "confirmed_at": T_CLOSE,
                       "actor": {"type": "system", "id": "order-service"}, "reason": None},
    "PaymentRequested": {**ORD, "number": "R2026-000123", "amount": 3640, "currency": "EUR",
                         "payment_kind": "stripe", "payment_method_id": PAYM,
                         "actor": {"type": "system", "id": "order-service"}, "reason": None},
    "PaymentPending": {**PAY, "amount": 3640, "currency": "EUR", "method": "stripe", "order_number": "R2026-000123",
                       "actor": {"type": "system", "id": "billing-service"}, "reason": None},
    "PaymentAttemptStarted": {**PAY, "attempt": 1, "idempotency_key": f"order-{ORDER}-attempt-1", "amount": 3640,
                              "actor": {"type": "system", "id": "billing-service"}, "reason": None},
    "PaymentSucceeded": {**PAY, "attempt": 1, "amount": 3640, "currency": "EUR",
                         "stripe_payment_intent_id": "pi_3Abc", "stripe_charge_id": "ch_3Abc",
                         "actor": {"type": "system", "id": "billing-service"}, "reason": None},
    "PaymentFailed": {**PAY, "attempt": 1, "code": "card_declined", "decline_code": "insufficient_funds",
                      "message": "Your bank declined the payment: there were not enough funds on the card.",
                      "retryable": True, "final": False, "next_attempt_at": datetime(2026, 4, 4, 15, 0, tzinfo=UTC),
                      "stripe_payment_intent_id": "pi_3Abc", "actor": {"type": "system", "id": "billing-service"},
                      "reason": None},
    "PaymentAuthorizationRequired": {**PAY, "attempt": 1, "amount": 3640, "currency": "EUR",
                                     "stripe_payment_intent_id": "pi_3Abc",
                                     "authorization_url": "https://billing.example/pay/authorize/pi_3Abc?t=...",
                                     "actor": {"type": "system", "id": "billing-service"}, "reason": None},
    "PaymentMarkedPaid": {**PAY, "amount": 3640, "note": "paid in cash at pickup", "actor": ACTOR, "reason": None},
    "PaymentRefunded": {**PAY, "refund_id": "8b9c0d1e-2f3a-4b5c-9d6e-7f8a9b0c1d2e", "amount": 500,
                        "total_refunded": 500, "currency": "EUR", "stripe_refund_id": "re_3Abc", "actor": ACTOR,
                        "reason": "damaged eggs"},
    "VariantUpdated": {"variant_id": "veg-box-large", "shop_id": SHOP, "product_name": "Vegetable box",
                       "variant_name": "large", "unit_price": 2500, "currency": "EUR", "on_hand": 40,
                       "available": True, "supplier": "Ferme des Trois Chênes"},
    "StockAdjusted": {"variant_id": "veg-box-large", "shop_id": SHOP, "delta": 20, "reason": "delivery from farm"},
    "VariantDeleted": {"variant_id": "veg-box-large", "shop_id": SHOP},
}

AGGREGATE_IDS: dict[str, str] = {
    "Token": TOKEN, "Shop": SHOP, "Customer": CUSTOMER, "OrderCycle": CYCLE, "Schedule": SCHEDULE,
    "Subscription": SUB, "Occurrence": f"{SUB}:{CYCLE}",
    "OrderCycleReminder": f"{CYCLE}:closing-soon", "Order": ORDER, "Payment": PAYMENT,
    "Variant": f"{SHOP}:veg-box-large", "PauseEnd": f"{SUB}:pause:4",
}
