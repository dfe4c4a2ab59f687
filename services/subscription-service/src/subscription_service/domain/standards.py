"""The names the world keeps lists of: IANA time zones and ISO 4217 currencies, from the lists themselves.

Time zones: the IANA database's own data as the ``tzdata`` package ships it (the data ``zoneinfo`` reads). A name
is accepted when the database defines it as a Zone (``tzdata.zi``, except ``Factory``: "local time is unknown"),
or lists it as a location of a country (``zone.tab``, ``zone1970.tab``: e.g. Europe/Amsterdam, kept there though
the database now links it to Europe/Brussels), or is ``UTC`` (the name everyone uses for Etc/UTC). Other Links
(US/Eastern, Asia/Calcutta, Europe/Kiev) are refused with the name to use instead, and so is every file of a
zoneinfo directory that names no zone (``localtime``, ``posixrules``): with those, cycles were made in whatever
zone the server happened to have.

Currencies: Babel's copy of CLDR's currency data, which says which currencies are legal tender in which territory
from when to when. A code is accepted when some territory uses it as legal tender on the given day: ``XXX`` (no
currency), ``XTS`` (testing), ``XAU`` (gold) and withdrawn ones such as ``HRK`` are not.
"""

from __future__ import annotations

import zoneinfo
from datetime import date
from functools import lru_cache
from importlib import resources

from babel.core import get_global
from babel.numbers import get_territory_currencies

EXTRA_ZONES = frozenset({"UTC"})
NOT_A_ZONE = frozenset({"Factory"})


def _zoneinfo_file(name: str) -> str:
    return resources.files("tzdata.zoneinfo").joinpath(name).read_text(encoding="utf-8")


@lru_cache(maxsize=1)
def _zones() -> tuple[frozenset[str], dict[str, str]]:
    """(canonical names, alias -> the zone it links to)."""
    zones: set[str] = set()
    links: dict[str, str] = {}
    for line in _zoneinfo_file("tzdata.zi").splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0] == "Z":
            zones.add(parts[1])
        elif len(parts) == 3 and parts[0] == "L":
            links[parts[2]] = parts[1]
    for table in ("zone.tab", "zone1970.tab"):
        for line in _zoneinfo_file(table).splitlines():
            parts = line.split("\t")
            if not line.startswith("#") and len(parts) >= 3:
                zones.add(parts[2])
    canonical = (zones | EXTRA_ZONES) - NOT_A_ZONE
    return frozenset(canonical & zoneinfo.available_timezones()), links


def canonical_timezones() -> frozenset[str]:
    return _zones()[0]


def timezone_error(name: str) -> str | None:
    """Why ``name`` may not be a shop's or a rule's time zone (None: it may)."""
    canonical, links = _zones()
    if name in canonical:
        return None
    target = links.get(name)
    while target is not None and target not in canonical:  # a link to a link (none today, cheap to follow)
        target = links.get(target)
    if target is not None:
        return f"{name!r} is an old alias of {target!r}: use {target!r}."
    return f"{name!r} is not an IANA time zone (e.g. Europe/Paris)."


@lru_cache(maxsize=8)
def active_currencies(on: date) -> frozenset[str]:
    """ISO 4217 codes that some territory uses as legal tender on ``on``."""
    found: set[str] = set()
    for territory in get_global("territory_currencies"):
        found.update(get_territory_currencies(territory, start_date=on, end_date=on, tender=True))
    return frozenset(found)


def currency_error(code: str, on: date) -> str | None:
    """Why ``code`` may not be a shop's currency on ``on`` (None: it may)."""
    if code in active_currencies(on):
        return None
    return f"{code!r} is not an ISO 4217 currency in use (e.g. EUR, GBP, USD)."
