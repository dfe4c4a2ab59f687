"""The reports' files and sums, without I/O: amounts a spreadsheet reads as numbers, times in the shop's zone,
headers in the manager's language, products grouped per supplier with a bucket for no supplier."""

import csv
import io
from datetime import UTC, datetime

from order_service.domain.reports import by_supplier, grand_total
from order_service.entrypoints import report_files as files


def _product(variant_id, supplier, quantity, amount, tax=0):
    return {"variant_id": variant_id, "product_name": variant_id.title(), "variant_name": None,
            "supplier": supplier, "quantity": quantity, "orders": 1, "amount": amount, "tax": tax}


def test_amounts_have_a_decimal_point_and_no_thousands_separator_whatever_the_currency():
    assert files.amount(123456789, "EUR") == "1234567.89"
    assert files.amount(5, "EUR") == "0.05"
    assert files.amount(-250, "EUR") == "-2.50"
    assert files.amount(1500, "JPY") == "1500"
    assert files.amount(None, "EUR") == ""


def test_times_are_written_in_the_shops_time_zone_and_the_header_names_it():
    c = files.Context("fr", "EUR", "Europe/Paris")
    assert c.time(datetime(2026, 7, 3, 15, 0, tzinfo=UTC)) == "2026-07-03 17:00"  # summer time
    assert c.time(datetime(2026, 1, 3, 15, 0, tzinfo=UTC)) == "2026-01-03 16:00"
    assert "Passée le (Europe/Paris)" in files.header(files.ORDERS, c)


def test_a_file_is_utf8_with_its_header_in_the_managers_language_and_one_row_per_record_in_chunks():
    rows = [_product(f"v{i}", "Ferme du Pré" if i % 2 else None, i, i * 100, i * 5) for i in range(1, 1202)]
    parts = list(files.chunks(files.PRODUCT_TOTALS, rows, files.Context("fr", "EUR", "Europe/Paris")))
    assert len(parts) == 3  # 500 rows a piece, then the rest
    text = b"".join(parts).decode("utf-8")
    assert text.startswith(files.BOM)
    table = list(csv.reader(io.StringIO(text[1:])))
    assert table[0] == ["Fournisseur", "Produit", "Variante", "Identifiant de la variante", "Quantité", "Commandes",
                        "Montant", "TVA", "Devise"]
    assert table[1] == ["Ferme du Pré", "V1", "", "v1", "1", "1", "1.00", "0.05", "EUR"]
    assert table[2][0] == "(sans fournisseur)" and len(table) == 1202


def test_an_unknown_language_falls_back_to_english():
    assert files.header(files.SUPPLIER_TOTALS, files.Context("de", "EUR", "UTC"))[0] == "Supplier"


def test_the_orders_file_ends_with_its_totals_under_their_columns():
    c = files.Context("en", "EUR", "UTC")
    row = files.orders_total_row({"item_total": 1000, "shipping_fee": 500, "payment_fee": 23, "total": 1523,
                                  "tax_total": 254, "paid": 1000, "refunded": 0}, c)
    head = files.header(files.ORDERS, c)
    assert dict(zip(head, row, strict=True)) == {
        **dict.fromkeys(head, ""), "Order": "Total", "Products": "10.00", "Shipping fee": "5.00",
        "Payment fee": "0.23", "Tax": "2.54", "Total": "15.23", "Paid": "10.00", "Refunded": "0.00", "Currency": "EUR"}


def test_products_are_summed_per_supplier_in_their_order_with_no_supplier_as_a_group_of_its_own():
    products = [_product("eggs", "Ferme A", 3, 960, 50), _product("jam", "Ferme A", 2, 900, 47),
                _product("milk", "Laiterie B", 5, 750, 39), _product("bread", None, 1, 300)]
    groups = by_supplier(products)
    assert [(g["supplier"], g["quantity"], g["amount"], g["tax"], [p["variant_id"] for p in g["products"]])
            for g in groups] == [("Ferme A", 5, 1860, 97, ["eggs", "jam"]), ("Laiterie B", 5, 750, 39, ["milk"]),
                                 (None, 1, 300, 0, ["bread"])]
    assert grand_total(products) == {"products": 4, "quantity": 11, "amount": 2910, "tax": 136}
    assert by_supplier([]) == [] and grand_total([]) == {"products": 0, "quantity": 0, "amount": 0, "tax": 0}


def test_the_packing_list_file_names_every_column_its_query_writes_in_the_managers_language():
    from order_service.adapters.reports import PACKING_FILE_COLUMNS, PACKING_FILE_SQL

    assert list(files.PACKING_LIST) == list(PACKING_FILE_COLUMNS)
    assert PACKING_FILE_SQL.count("%(pickup)s") == PACKING_FILE_SQL.count("%(no_supplier)s") == 1
    c = files.Context("fr", "EUR", "Europe/Paris")
    row = ("R00000001", "Martin", "Ann", None, None, "Tournée", "livraison", "12 rue des Lilas", None, "69003",
           "Lyon", "FR", "Œufs", "x6", "Ferme du Pré", 2)
    text = b"".join(files.written(PACKING_FILE_COLUMNS, [[row], [row]], c)).decode("utf-8")
    table = list(csv.reader(io.StringIO(text.removeprefix(files.BOM))))
    assert table[0][:3] == ["Commande", "Nom", "Prénom"] and len(table[0]) == len(row)
    assert table[1] == table[2] == ["R00000001", "Martin", "Ann", "", "", "Tournée", "livraison", "12 rue des Lilas",
                                    "", "69003", "Lyon", "FR", "Œufs", "x6", "Ferme du Pré", "2"]
    assert files.packing_words(c) == {"pickup": "retrait", "delivery": "livraison", "no_supplier": "(sans fournisseur)"}
