"""The coverage report: every figure of a known programme, as JSON, as CSV and as a chart."""

import csv
import io
import xml.etree.ElementTree as ET

import pytest

from tests.helpers.events import create_event, published_event
from tests.helpers.programme import AZORES, Programme, build_programme
from tests.helpers.seminars import AFTER_VOTING, IN_PROPOSALS, open_seminar, propose

ACTIONS = range(1, 12)
AREAS = range(1, 5)
BCR = "BE: Brussels-Capital Region"
NORTE = "PT: Norte"
ACORES = f"PT: {AZORES}"


def F(
    held=0,
    upcoming=0,
    cancelled=0,
    joint=0,
    p2p=0,
    other=0,
    registered=0,
    waitlisted=0,
    states=(),
    regions=(),
    countries=(),
) -> tuple:
    """The figures of one row, in the order the CSV gives them."""
    return (
        held,
        upcoming,
        cancelled,
        joint,
        p2p,
        other,
        registered,
        waitlisted,
        list(states),
        list(regions),
        list(countries),
    )


ZERO = F()

E1 = F(held=1, other=1, registered=1, countries=["BE"])  # the one event of 2026
F1 = F(upcoming=1, other=1)  # the one event of 2028, online only

YEAR_2027 = {
    "actions": {
        1: F(held=1, other=1, registered=1, countries=["FI"]),
        2: F(held=1, joint=1, registered=2, waitlisted=1, countries=["BE"]),
        3: ZERO,
        4: ZERO,
        5: ZERO,  # a draft only
        6: ZERO,  # an event submitted, never published
        7: F(upcoming=1, p2p=1, registered=2, states=["BE"], regions=[BCR], countries=["BE"]),
        8: ZERO,
        9: F(cancelled=1),  # its registration does not count
        10: F(
            held=2,
            joint=1,
            p2p=1,
            registered=3,
            waitlisted=1,
            states=["PT"],
            regions=[NORTE],
            countries=["BE", "PT"],
        ),
        11: F(upcoming=1, p2p=1, registered=1, states=["PT"], regions=[ACORES], countries=["PT"]),
    },
    "areas": {
        1: F(
            held=3,
            upcoming=1,
            joint=1,
            p2p=2,
            other=1,
            registered=6,
            waitlisted=1,
            states=["BE", "PT"],
            regions=[BCR, NORTE],
            countries=["BE", "FI", "PT"],
        ),
        2: F(
            held=2,
            upcoming=1,
            joint=1,
            p2p=1,
            other=1,
            registered=4,
            waitlisted=1,
            states=["PT"],
            regions=[ACORES],
            countries=["BE", "FI", "PT"],
        ),
        3: F(
            held=2,
            upcoming=1,
            joint=1,
            p2p=1,
            other=1,
            registered=5,
            waitlisted=1,
            states=["BE"],
            regions=[BCR],
            countries=["BE", "FI"],
        ),
        4: F(
            held=2,
            cancelled=1,
            joint=1,
            other=1,
            registered=3,
            waitlisted=1,
            countries=["BE", "FI"],
        ),
    },
    "all": F(
        held=3,
        upcoming=2,
        cancelled=1,
        joint=1,
        p2p=3,
        other=1,
        registered=7,
        waitlisted=1,
        states=["BE", "PT"],
        regions=[BCR, NORTE, ACORES],
        countries=["BE", "FI", "PT"],
    ),
}

YEAR_2026 = {
    "actions": {number: E1 if number == 3 else ZERO for number in ACTIONS},
    "areas": {number: E1 if number != 4 else ZERO for number in AREAS},
    "all": E1,
}
YEAR_2028 = {
    "actions": {number: F1 if number == 4 else ZERO for number in ACTIONS},
    "areas": {number: F1 if number != 4 else ZERO for number in AREAS},
    "all": F1,
}
YEAR_2029 = {
    "actions": dict.fromkeys(ACTIONS, ZERO),
    "areas": dict.fromkeys(AREAS, ZERO),
    "all": ZERO,
}
TERM = {
    "actions": {
        **YEAR_2027["actions"],
        3: E1,
        4: F1,
    },
    "areas": {
        1: F(
            held=4,
            upcoming=2,
            joint=1,
            p2p=2,
            other=3,
            registered=7,
            waitlisted=1,
            states=["BE", "PT"],
            regions=[BCR, NORTE],
            countries=["BE", "FI", "PT"],
        ),
        2: F(
            held=3,
            upcoming=2,
            joint=1,
            p2p=1,
            other=3,
            registered=5,
            waitlisted=1,
            states=["PT"],
            regions=[ACORES],
            countries=["BE", "FI", "PT"],
        ),
        3: F(
            held=3,
            upcoming=2,
            joint=1,
            p2p=1,
            other=3,
            registered=6,
            waitlisted=1,
            states=["BE"],
            regions=[BCR],
            countries=["BE", "FI"],
        ),
        4: YEAR_2027["areas"][4],
    },
    "all": F(
        held=4,
        upcoming=3,
        cancelled=1,
        joint=1,
        p2p=3,
        other=3,
        registered=8,
        waitlisted=1,
        states=["BE", "PT"],
        regions=[BCR, NORTE, ACORES],
        countries=["BE", "FI", "PT"],
    ),
}


def from_json(figures: dict) -> tuple:
    return F(
        held=figures["events"]["held"],
        upcoming=figures["events"]["upcoming"],
        cancelled=figures["events"]["cancelled"],
        joint=figures["kinds"]["joint_seminar"],
        p2p=figures["kinds"]["peer_to_peer"],
        other=figures["kinds"]["other"],
        registered=figures["registrations"]["registered"],
        waitlisted=figures["registrations"]["waitlisted"],
        states=figures["hosts"]["member_states"],
        regions=[f"{r['member_state']}: {r['region']}" for r in figures["hosts"]["regions"]],
        countries=figures["countries"],
    )


def from_csv(row: dict) -> tuple:
    def listed(value: str) -> list[str]:
        return value.split("; ") if value else []

    return F(
        *(
            int(row[name])
            for name in (
                "held",
                "upcoming",
                "cancelled",
                "joint_seminar",
                "peer_to_peer",
                "other",
                "registered",
                "waitlisted",
            )
        ),
        states=listed(row["host_member_states"]),
        regions=listed(row["host_regions"]),
        countries=listed(row["countries"]),
    )


def gaps(expected: dict) -> tuple[list[int], list[int]]:
    """What the expected figures leave unserved: no event held or upcoming."""
    return (
        [n for n, figures in expected["actions"].items() if figures[0] + figures[1] == 0],
        [n for n, figures in expected["areas"].items() if figures[0] + figures[1] == 0],
    )


def assert_period(part: dict, expected: dict) -> None:
    assert [a["number"] for a in part["actions"]] == list(ACTIONS)
    assert {a["number"]: from_json(a["figures"]) for a in part["actions"]} == expected["actions"]
    assert [a["number"] for a in part["priority_areas"]] == list(AREAS)
    assert {a["number"]: from_json(a["figures"]) for a in part["priority_areas"]} == expected[
        "areas"
    ]
    assert from_json(part["all_events"]) == expected["all"]
    action_gaps, area_gaps = gaps(expected)
    assert [gap["number"] for gap in part["gaps"]["actions"]] == action_gaps
    assert [gap["number"] for gap in part["gaps"]["priority_areas"]] == area_gaps


@pytest.fixture
def programme(client, clock, make_account) -> Programme:
    return build_programme(client, clock, make_account)


def coverage(client, account, **params):
    response = client.get("/reports/coverage", headers=account.headers, params=params)
    assert response.status_code == 200, response.text
    return response


def test_coverage_of_a_year_gives_every_figure_per_action_and_priority_area(client, programme, jrc):
    report = coverage(client, jrc, year=2027).json()
    assert report["term"] == {"first_year": 2026, "last_year": 2029}
    assert report["as_of"] == "2027-06-15T12:00:00Z"
    assert report["total"] is None
    [year] = report["years"]
    assert year["year"] == 2027
    assert_period(year, YEAR_2027)

    # Retired actions are counted and marked, in their rows and in the gaps.
    actions = {a["number"]: a for a in year["actions"]}
    assert actions[7]["status"] == "retired"
    assert actions[7]["priority_areas"] == [1, 3]
    assert [a["status"] for n, a in actions.items() if n != 7] == ["active"] * 10
    assert year["gaps"]["actions"][0] == {
        "number": 3,
        "title": actions[3]["title"],
        "status": "active",
    }
    assert [gap["number"] for gap in year["gaps"]["actions"]] == [3, 4, 5, 6, 8, 9]
    assert year["gaps"]["priority_areas"] == []

    seminars = year["joint_seminars"]
    assert (seminars["target"], seminars["held_or_upcoming"], seminars["short_by"]) == (2, 1, 1)
    assert seminars["not_opened"] == []
    first, second = seminars["seminars"]
    assert first == {
        "id": programme.seminars["2027/1"],
        "number": 1,
        "phase": "scheduled",
        "agreed_topic": {
            "proposal_id": programme.proposals["topic"],
            "title": "Regional innovation valleys",
        },
        "event": {
            "id": programme.events["S1"],
            "status": "published",
            "starts_at": "2027-03-18T08:00:00Z",
            "timezone": "Europe/Brussels",
            "local_starts_at": "2027-03-18T09:00:00+01:00",
            "registered": 2,
            "waitlisted": 1,
        },
    }
    assert second == {
        "id": programme.seminars["2027/2"],
        "number": 2,
        "phase": "proposals",
        "agreed_topic": None,
        "event": None,
    }


def test_coverage_of_the_whole_term_has_a_part_per_year_and_the_total(client, programme, dg_rtd):
    report = coverage(client, dg_rtd).json()
    assert [part["year"] for part in report["years"]] == [2026, 2027, 2028, 2029]
    parts = {part["year"]: part for part in report["years"]}
    for year, expected in (
        (2026, YEAR_2026),
        (2027, YEAR_2027),
        (2028, YEAR_2028),
        (2029, YEAR_2029),
    ):
        assert_period(parts[year], expected)
    for year in (2026, 2028, 2029):
        seminars = parts[year]["joint_seminars"]
        assert seminars["seminars"] == []
        assert seminars["not_opened"] == [1, 2]
        assert (seminars["held_or_upcoming"], seminars["short_by"]) == (0, 2)

    total = report["total"]
    assert (total["first_year"], total["last_year"]) == (2026, 2029)
    assert_period(total, TERM)
    assert [gap["number"] for gap in total["gaps"]["actions"]] == [5, 6, 8, 9]
    assert total["joint_seminars"] == {"target": 8, "held_or_upcoming": 1, "short_by": 7}


def read_csv(response) -> list[dict]:
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.content.startswith("\ufeff".encode())  # the byte-order mark
    text = response.content.decode("utf-8")[1:]
    rows = list(csv.DictReader(io.StringIO(text)))
    assert rows, text
    return rows


def assert_csv_period(rows: list[dict], year: str, expected: dict) -> None:
    mine = [row for row in rows if row["year"] == year]
    actions = {int(r["number"]): r for r in mine if r["row"] == "action"}
    areas = {int(r["number"]): r for r in mine if r["row"] == "priority_area"}
    [everything] = [r for r in mine if r["row"] == "all_events"]
    assert {n: from_csv(r) for n, r in actions.items()} == expected["actions"]
    assert {n: from_csv(r) for n, r in areas.items()} == expected["areas"]
    assert from_csv(everything) == expected["all"]
    action_gaps, area_gaps = gaps(expected)
    assert [n for n, r in actions.items() if r["gap"] == "yes"] == action_gaps
    assert [n for n, r in areas.items() if r["gap"] == "yes"] == area_gaps
    assert {r["gap"] for r in [*actions.values(), *areas.values()]} <= {"yes", "no"}


def test_coverage_as_csv_holds_the_same_figures_one_row_per_action_and_area(
    client, programme, sedec
):
    response = coverage(client, sedec, year=2027, format="csv")
    assert response.headers["content-disposition"] == (
        'attachment; filename="kep-coverage-2027.csv"'
    )
    rows = read_csv(response)
    assert list(rows[0]) == [
        "year",
        "row",
        "number",
        "title",
        "status",
        "priority_areas",
        "held",
        "upcoming",
        "cancelled",
        "joint_seminar",
        "peer_to_peer",
        "other",
        "registered",
        "waitlisted",
        "host_member_states",
        "host_regions",
        "countries",
        "gap",
    ]
    assert [row["row"] for row in rows] == (
        ["action"] * 11 + ["priority_area"] * 4 + ["all_events", "seminar_target"] + ["seminar"] * 2
    )
    assert {row["year"] for row in rows} == {"2027"}
    assert_csv_period(rows, "2027", YEAR_2027)

    actions = {int(r["number"]): r for r in rows if r["row"] == "action"}
    assert (actions[7]["status"], actions[7]["priority_areas"]) == ("retired", "1; 3")
    assert actions[1]["title"] == "Maintaining the Knowledge Exchange Platform (KEP 2.0)"
    # Accents survive the trip: the Azores host's region, in UTF-8.
    assert actions[11]["host_regions"] == "PT: Região Autónoma dos Açores"

    [target] = [r for r in rows if r["row"] == "seminar_target"]
    assert (target["number"], target["joint_seminar"], target["gap"]) == ("2", "1", "yes")
    first, second = (r for r in rows if r["row"] == "seminar")
    assert (first["number"], first["title"], first["status"]) == (
        "1",
        "Regional innovation valleys",
        "scheduled",
    )
    assert from_csv(first) == F(held=1, joint=1, registered=2, waitlisted=1, countries=["BE"])
    assert first["gap"] == "no"
    assert (second["number"], second["title"], second["status"], second["gap"]) == (
        "2",
        "",
        "proposals",
        "yes",
    )
    assert from_csv(second) == ZERO


def test_coverage_of_the_term_as_csv_has_rows_per_year_and_total_rows(client, programme, sedec):
    response = coverage(client, sedec, format="csv")
    assert response.headers["content-disposition"] == (
        'attachment; filename="kep-coverage-2026-2029.csv"'
    )
    rows = read_csv(response)
    years = ["2026", "2027", "2028", "2029", "2026–2029"]
    assert list(dict.fromkeys(row["year"] for row in rows)) == years
    for year, expected in zip(
        years, [YEAR_2026, YEAR_2027, YEAR_2028, YEAR_2029, TERM], strict=True
    ):
        assert_csv_period(rows, year, expected)
    not_opened = [r for r in rows if r["row"] == "seminar" and r["status"] == "not opened"]
    assert [(r["year"], r["number"]) for r in not_opened] == [
        ("2026", "1"),
        ("2026", "2"),
        ("2028", "1"),
        ("2028", "2"),
        ("2029", "1"),
        ("2029", "2"),
    ]
    [term_target] = [r for r in rows if r["row"] == "seminar_target" and r["year"] == "2026–2029"]
    assert (term_target["number"], term_target["joint_seminar"]) == ("8", "1")


def test_a_title_a_spreadsheet_would_compute_is_kept_as_text(client, programme, sedec):
    rows = read_csv(client.get("/reports/events", headers=sedec.headers, params={"format": "csv"}))
    [row] = [r for r in rows if r["id"] == str(programme.events["P2"])]
    assert row["title"] == "'=Creative industries in Brussels"
    exported = client.get("/reports/events", headers=sedec.headers).json()["items"]
    [item] = [e for e in exported if e["id"] == programme.events["P2"]]
    assert item["title"] == "=Creative industries in Brussels"  # JSON keeps it as it is


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        ("text/csv", "text/csv; charset=utf-8"),
        ("application/json", "application/json"),
        ("*/*", "application/json"),
        ("text/csv;q=0.5, application/json", "application/json"),
        ("application/json;q=0.4, text/csv;q=0.9", "text/csv; charset=utf-8"),
        ("image/svg+xml", "image/svg+xml"),
        ("text/html", "application/json"),
        ("text/csv;q=0", "application/json"),
        ("text/csv;q=nonsense", "application/json"),
    ],
)
def test_the_accept_header_chooses_the_format(client, sedec, accept, expected):
    response = client.get(
        "/reports/coverage", headers={**sedec.headers, "Accept": accept}, params={"year": 2027}
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == expected


def test_format_wins_over_the_accept_header(client, sedec):
    response = client.get(
        "/reports/coverage",
        headers={**sedec.headers, "Accept": "text/csv"},
        params={"year": 2027, "format": "json"},
    )
    assert response.headers["content-type"] == "application/json"
    assert response.json()["years"][0]["year"] == 2027


def test_an_unknown_format_is_refused(client, sedec):
    response = client.get(
        "/reports/coverage", headers=sedec.headers, params={"year": 2027, "format": "xlsx"}
    )
    assert response.status_code == 422
    assert "json" in str(response.json()["detail"])
    response = client.get("/reports/events", headers=sedec.headers, params={"format": "svg"})
    assert response.status_code == 422  # the export is a table, not a chart


def svg_texts(response) -> list[str]:
    assert response.headers["content-type"] == "image/svg+xml"
    root = ET.fromstring(response.content)
    return [
        "".join(element.itertext())
        for element in root.iter()
        if element.tag.rsplit("}", 1)[-1] == "text"
    ]


def test_the_chart_names_every_action_and_priority_area(client, programme, sedec):
    response = coverage(client, sedec, year=2027, format="svg")
    assert response.headers["content-disposition"] == 'inline; filename="kep-coverage-2027.svg"'
    texts = svg_texts(response)
    chart = " ".join(texts)  # a label may wrap onto a second line
    assert "KEP 2.0 – Joint Action Plan: events held and upcoming, 2027" in texts
    actions = client.get("/actions").json()["items"]
    assert len(actions) == 11
    for action in actions:
        first_words = " ".join(action["title"].split()[:3])
        retired = " (retired)" if action["status"] == "retired" else ""
        assert f"Action {action['number']}{retired} · {first_words}" in chart, action
    for area in client.get("/priority-areas").json()["items"]:
        first_words = " ".join(area["title"].split()[:3])
        assert f"Priority area {area['number']} · {first_words}" in chart, area
    assert "Events per action" in texts and "Events per priority area" in texts
    assert texts.count("no event") == 6  # actions 3, 4, 5, 6, 8 and 9; every area is served
    assert "2  (2 held, 0 upcoming)" in texts  # action 10
    assert "4  (3 held, 1 upcoming)" in texts  # priority area 1
    assert "held" in texts and "upcoming" in texts  # the legend


@pytest.mark.parametrize(
    "title",
    [
        "Grants from $5k to $50k for regions",  # read as mathematics, the $ signs vanished
        r"Budget $\undefinedmacro$ and $x^$ lines",  # and this could not be drawn at all
    ],
)
def test_the_chart_draws_titles_as_they_were_typed(client, programme, sedec, title):
    added = client.post(
        "/actions",
        headers=sedec.headers,
        json={
            "title": title,
            "priority_areas": [1],
            "communication": {"reference": "Ares(2027)123", "date": "2026-11-20"},
        },
    )
    assert added.status_code == 201, added.text
    response = coverage(client, sedec, year=2027, format="svg")
    assert response.status_code == 200, response.text
    assert f"Action 12 · {title}" in " ".join(svg_texts(response))


def test_the_same_report_draws_the_same_chart(client, programme, sedec):
    first = coverage(client, sedec, year=2027, format="svg").content
    assert coverage(client, sedec, year=2027, format="svg").content == first


def test_the_openapi_document_offers_each_format(client):
    paths = client.get("/openapi.json").json()["paths"]
    formats = {
        path: sorted(paths[path]["get"]["responses"]["200"]["content"])
        for path in ("/reports/coverage", "/reports/events", "/reports/seminars")
    }
    assert formats == {
        "/reports/coverage": ["application/json", "image/svg+xml", "text/csv"],
        "/reports/events": ["application/json", "text/csv"],
        "/reports/seminars": ["application/json", "text/csv"],
    }


def test_the_chart_of_the_term_is_titled_with_the_term(client, programme, sedec):
    texts = svg_texts(coverage(client, sedec, format="svg"))
    assert "KEP 2.0 – Joint Action Plan: events held and upcoming, 2026–2029" in texts
    assert texts.count("no event") == 4  # actions 5, 6 and 8, and 9 whose one event was cancelled


def test_a_seminar_whose_event_is_cancelled_counts_again_once_scheduled_again(
    client, clock, dg_rtd, sedec, member
):
    seminar = open_seminar(client, sedec)
    clock.set(IN_PROPOSALS)
    topic = propose(client, member, seminar["id"])
    clock.set(AFTER_VOTING)
    for account in (dg_rtd, sedec):
        client.put(
            f"/seminars/{seminar['id']}/agreement",
            headers=account.headers,
            json={"proposal_id": topic["id"]},
        )
    where = {"timezone": "Europe/Brussels", "online_url": "https://meet.example.eu/seminar"}
    path = f"/seminars/{seminar['id']}/event"
    first = client.post(
        path,
        headers=sedec.headers,
        json={"starts_at": "2027-04-15T09:00", "ends_at": "2027-04-15T17:00", **where},
    ).json()
    client.post(f"/events/{first['id']}/cancel", headers=sedec.headers, json={"reason": "x"})

    def joint_seminars() -> dict:
        [year] = coverage(client, dg_rtd, year=2027).json()["years"]
        assert year["all_events"]["events"]["cancelled"] == 1  # the cancelled one is kept
        return year["joint_seminars"]

    cancelled = joint_seminars()
    assert (cancelled["held_or_upcoming"], cancelled["short_by"]) == (0, 2)
    [slot] = cancelled["seminars"]
    assert slot["phase"] == "agreed"
    assert (slot["event"]["id"], slot["event"]["status"]) == (first["id"], "cancelled")

    second = client.post(
        path,
        headers=sedec.headers,
        json={"starts_at": "2027-06-14T09:00", "ends_at": "2027-06-14T17:00", **where},
    ).json()
    scheduled = joint_seminars()
    assert (scheduled["held_or_upcoming"], scheduled["short_by"]) == (1, 1)
    [slot] = scheduled["seminars"]
    assert slot["phase"] == "scheduled"
    assert (slot["event"]["id"], slot["event"]["status"]) == (second["id"], "published")


def _agreed_seminar(client, clock, dg_rtd, sedec, member) -> dict:
    seminar = open_seminar(client, sedec)
    clock.set(IN_PROPOSALS)
    topic = propose(client, member, seminar["id"])
    clock.set(AFTER_VOTING)
    for account in (dg_rtd, sedec):
        response = client.put(
            f"/seminars/{seminar['id']}/agreement",
            headers=account.headers,
            json={"proposal_id": topic["id"]},
        )
        assert response.status_code == 200, response.text
    return seminar


def test_joint_seminar_events_of_no_seminar_do_not_meet_the_target(client, clock, dg_rtd):
    """The target is two seminars a year whose agreed topic is held or upcoming; a
    `joint_seminar` event made directly, of no seminar, is an event of that kind, not one
    of the year's seminars."""
    for day in ("2027-03-10", "2027-04-10"):
        published_event(
            client,
            dg_rtd.headers,
            kind="joint_seminar",
            starts_at=f"{day}T09:30",
            ends_at=f"{day}T17:00",
        )
    report = coverage(client, dg_rtd).json()
    [year] = [part for part in report["years"] if part["year"] == 2027]
    assert year["all_events"]["kinds"]["joint_seminar"] == 2  # still events of that kind
    seminars = year["joint_seminars"]
    assert seminars["not_opened"] == [1, 2]
    assert (seminars["target"], seminars["held_or_upcoming"], seminars["short_by"]) == (2, 0, 2)
    assert report["total"]["joint_seminars"] == {"target": 8, "held_or_upcoming": 0, "short_by": 8}

    rows = read_csv(coverage(client, dg_rtd, format="csv"))
    [everything] = [r for r in rows if r["row"] == "all_events" and r["year"] == "2027"]
    assert everything["joint_seminar"] == "2"
    targets = {r["year"]: r for r in rows if r["row"] == "seminar_target"}
    assert (targets["2027"]["joint_seminar"], targets["2027"]["gap"]) == ("0", "yes")
    assert (targets["2026–2029"]["joint_seminar"], targets["2026–2029"]["gap"]) == ("0", "yes")


def _scheduled_as_a_draft(client, sedec, seminar: dict):
    response = client.post(
        f"/seminars/{seminar['id']}/event",
        headers=sedec.headers,
        json={
            "starts_at": "2027-04-15T09:00",
            "ends_at": "2027-04-15T17:00",
            "timezone": "Europe/Brussels",
            "online_url": "https://meet.example.eu/seminar",
            "status": "draft",
        },
    )
    assert response.status_code == 201, response.text
    return response


def test_a_seminar_scheduled_as_a_draft_event_does_not_meet_the_target_yet(
    client, clock, dg_rtd, sedec, member
):
    seminar = _agreed_seminar(client, clock, dg_rtd, sedec, member)
    response = _scheduled_as_a_draft(client, sedec, seminar)
    [year] = coverage(client, dg_rtd, year=2027).json()["years"]
    seminars = year["joint_seminars"]
    assert (seminars["held_or_upcoming"], seminars["short_by"]) == (0, 2)
    [target] = [
        r
        for r in read_csv(coverage(client, dg_rtd, year=2027, format="csv"))
        if r["row"] == "seminar_target"
    ]
    assert (target["joint_seminar"], target["gap"]) == ("0", "yes")

    published = client.post(f"/events/{response.json()['id']}/publish", headers=sedec.headers)
    assert published.status_code == 200, published.text
    [year] = coverage(client, dg_rtd, year=2027).json()["years"]
    seminars = year["joint_seminars"]
    assert (seminars["held_or_upcoming"], seminars["short_by"]) == (1, 1)


def test_events_cancelled_before_they_were_ever_published_are_not_counted(client, dg_rtd, member):
    """A submitted event its host cancelled, and a draft the secretariat cancelled, were
    never part of the public programme: not counted as cancelled events, as on the plan's
    page. A published event cancelled since is."""
    submitted = create_event(
        client,
        member.headers,
        title="A peer-to-peer idea",
        starts_at="2027-05-10T10:00",
        ends_at="2027-05-10T12:00",
        actions=[9],
    )
    assert submitted["status"] == "submitted"
    draft = create_event(client, dg_rtd.headers, kind="other", status="draft", actions=[9])
    published = published_event(client, dg_rtd.headers, actions=[8])
    for event, account in ((submitted, member), (draft, dg_rtd), (published, dg_rtd)):
        response = client.post(
            f"/events/{event['id']}/cancel", headers=account.headers, json={"reason": "Plans"}
        )
        assert response.status_code == 200, response.text

    [year] = coverage(client, dg_rtd, year=2027).json()["years"]
    assert year["all_events"]["events"]["cancelled"] == 1
    actions = {a["number"]: a["figures"]["events"]["cancelled"] for a in year["actions"]}
    assert (actions[8], actions[9]) == (1, 0)
    areas = {a["number"]: a["figures"]["events"]["cancelled"] for a in year["priority_areas"]}
    assert areas[4] == 0  # action 9's one area

    rows = read_csv(coverage(client, dg_rtd, year=2027, format="csv"))
    [everything] = [r for r in rows if r["row"] == "all_events"]
    assert everything["cancelled"] == "1"
    [action9] = [r for r in rows if r["row"] == "action" and r["number"] == "9"]
    assert action9["cancelled"] == "0"


def test_a_seminar_event_cancelled_as_a_draft_is_no_cancelled_event_in_the_csv(
    client, clock, dg_rtd, sedec, member
):
    seminar = _agreed_seminar(client, clock, dg_rtd, sedec, member)
    response = _scheduled_as_a_draft(client, sedec, seminar)
    cancelled = client.post(
        f"/events/{response.json()['id']}/cancel", headers=sedec.headers, json={"reason": "x"}
    )
    assert cancelled.status_code == 200, cancelled.text
    rows = read_csv(coverage(client, dg_rtd, year=2027, format="csv"))
    [first, _second] = [r for r in rows if r["row"] == "seminar"]
    assert from_csv(first) == ZERO
    assert first["gap"] == "yes"
    [year] = coverage(client, dg_rtd, year=2027).json()["years"]
    assert year["all_events"]["events"]["cancelled"] == 0
