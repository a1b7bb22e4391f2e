"""Which time zones an event may name: the tz database's region zones, and UTC.

``zoneinfo.available_timezones()`` lists every file the database ships, which is more
than anyone should pick: ``localtime`` (a symlink to whatever the host is set to),
``Factory`` (a placeholder), POSIX-style rules such as ``EST5EDT``, ``Etc/GMT+1``
(whose sign is the reverse of what it reads), and legacy aliases such as
``US/Eastern`` or ``Europe/Kiev``. The database's own ``zone.tab`` lists the zones meant
for people to choose, one per region of a country, by their current names.
"""

from functools import cache
from importlib import resources

ACCEPTED = (
    "a region zone of the IANA tz database, written Area/Location as in its zone.tab "
    "(such as Europe/Brussels), or UTC"
)


def _table(name: str) -> list[str]:
    text = resources.files("tzdata").joinpath("zoneinfo", name).read_text(encoding="utf-8")
    return [line for line in text.splitlines() if line and not line.startswith("#")]


@cache
def region_zones() -> frozenset[str]:
    """Every zone ``zone.tab`` names, and UTC."""
    return frozenset(line.split("\t")[2] for line in _table("zone.tab")) | {"UTC"}


@cache
def _current_names() -> dict[str, str]:
    """Old names and aliases, each with the zone it stands for today (from ``tzdata.zi``)."""
    links = {}
    for line in _table("tzdata.zi"):
        if line.startswith("L "):
            _, target, alias = line.split()
            links[alias] = target
    return links


def zone_name(name: str) -> str:
    """``name`` if it is an accepted zone; otherwise a message that says which are."""
    if name in region_zones():
        return name
    shown = name if len(name) <= 64 else name[:64] + "…"
    message = f"{shown!r} is not accepted: a time zone is {ACCEPTED}"
    current = _current_names().get(name, name)
    if current in region_zones():
        message += f"; {name} is another name of {current}"
    elif current in ("Etc/UTC", "Etc/GMT"):
        message += f"; {name} is another name of UTC"
    elif current.startswith("Etc/"):
        message += "; for a fixed offset, give the times with their offset instead"
    raise ValueError(message)
