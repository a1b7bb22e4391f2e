"""A whole joint seminar cycle through the API, from the call for topics to registration."""

from tests.helpers.seminars import AFTER_VOTING, IN_PROPOSALS, IN_VOTING, seminar_body


def test_a_joint_seminar_from_call_to_registration(client, clock, make_account):
    sedec = make_account("secretariat", "Sofia SEDEC", institution="cor_sedec")
    rtd = make_account("secretariat", "Rui RTD", institution="dg_rtd")
    jrc = make_account("secretariat", "Jo JRC", institution="jrc")
    members = [
        make_account("member", "Ana Norte", member_state="PT", region="Norte"),
        make_account("member", "Bert Vlaanderen", member_state="BE", region="Flanders"),
        make_account("member", "Clara Bayern", member_state="DE", region="Bavaria"),
    ]
    participant = make_account("participant", "Pia Public")

    # The secretariat opens seminar 1 of 2027.
    response = client.post("/seminars", headers=sedec.headers, json=seminar_body())
    assert response.status_code == 201, response.text
    seminar = response.json()
    seminar_path = f"/seminars/{seminar['id']}"
    assert seminar["phase"] == "upcoming"

    # Three members and a DG RTD official propose topics.
    clock.set(IN_PROPOSALS)
    assert client.get(seminar_path).json()["phase"] == "proposals"
    topics = [
        (members[0], "Smart specialisation in the outermost regions", [10], None),
        (members[1], "Valorising research in regional clusters", [8], [1]),
        (members[2], "Local leadership for a just transition", [11], None),
        (rtd, "Missions on the ground: climate-neutral cities", [3, 4], [2]),
    ]
    proposals = []
    for n, (proposer, title, actions, areas) in enumerate(topics):
        clock.advance(hours=1)
        body = {"title": title, "summary": f"Why: topic {n}.", "actions": actions}
        if areas is not None:
            body["priority_areas"] = areas
        response = client.post(f"{seminar_path}/proposals", headers=proposer.headers, json=body)
        assert response.status_code == 201, response.text
        proposals.append(response.json())
    valorisation, missions = proposals[1]["id"], proposals[3]["id"]

    # The clock moves into the voting phase; five voters support topics.
    clock.set(IN_VOTING)
    assert client.get(seminar_path).json()["phase"] == "voting"
    votes = [
        (members[0], [proposals[0]["id"], missions]),
        (members[1], [valorisation, missions]),
        (members[2], [valorisation, proposals[2]["id"], missions]),
        (jrc, [valorisation]),
        (sedec, [missions]),
    ]
    for voter, picks in votes:
        for pick in picks:
            response = client.put(f"/proposals/{pick}/support", headers=voter.headers)
            assert response.status_code == 200, response.text
    assert client.get(f"{seminar_path}/tally", headers=members[0].headers).status_code == 403

    # Voting closes and the tally is there for everyone.
    clock.set(AFTER_VOTING)
    tally = client.get(f"{seminar_path}/tally").json()
    assert tally["voters"] == 5
    assert [(e["proposal_id"], e["supports"]) for e in tally["proposals"]] == [
        (missions, 4),
        (valorisation, 3),
        (proposals[0]["id"], 1),
        (proposals[2]["id"], 1),
    ]
    assert tally["proposals"][0]["by_institution"] == {
        "cor": 3,
        "dg_rtd": 0,
        "cor_sedec": 1,
        "jrc": 0,
    }

    # DG RTD and SEDEC first disagree, then agree.
    agreement = f"{seminar_path}/agreement"
    first = client.put(agreement, headers=rtd.headers, json={"proposal_id": valorisation})
    assert first.json()["agreement"]["dg_rtd"] == valorisation
    second = client.put(agreement, headers=sedec.headers, json={"proposal_id": missions})
    assert second.json()["phase"] == "agreement"
    assert second.json()["agreement"]["agreed_proposal_id"] is None
    clock.advance(days=2)
    settled = client.put(agreement, headers=rtd.headers, json={"proposal_id": missions}).json()
    assert settled["phase"] == "agreed"
    assert settled["agreement"] == {
        "dg_rtd": missions,
        "cor_sedec": missions,
        "agreed_proposal_id": missions,
    }
    statuses = {
        p["id"]: p["status"] for p in client.get(f"{seminar_path}/proposals").json()["items"]
    }
    assert statuses[missions] == "agreed"
    assert sorted(statuses.values()) == ["agreed", "not_selected", "not_selected", "not_selected"]

    # The secretariat schedules it in Brussels.
    response = client.post(
        f"{seminar_path}/event",
        headers=sedec.headers,
        json={
            "starts_at": "2027-04-15T09:30:00",
            "ends_at": "2027-04-15T17:00:00",
            "timezone": "Europe/Brussels",
            "venue": {"name": "Jacques Delors building", "city": "Brussels", "country": "BE"},
            "capacity": 80,
        },
    )
    assert response.status_code == 201, response.text
    event = response.json()
    assert event["kind"] == "joint_seminar"
    assert event["title"] == "Missions on the ground: climate-neutral cities"
    assert event["actions"] == [3, 4]
    assert event["priority_areas"] == [2]
    assert client.get(seminar_path).json()["phase"] == "scheduled"
    assert client.get(seminar_path).json()["event_id"] == event["id"]

    # The agenda is set and confirmed.
    agenda = {
        "items": [
            {
                "starts_at": "2027-04-15T09:30:00",
                "ends_at": "2027-04-15T10:00:00",
                "title": "Opening",
                "description": "Welcome by the co-chairs.",
                "speakers": [
                    {"name": "Sofia SEDEC", "affiliation": "CoR SEDEC"},
                    {"name": "Rui RTD", "affiliation": "DG RTD"},
                ],
            },
            {
                "starts_at": "2027-04-15T10:00:00",
                "ends_at": "2027-04-15T12:00:00",
                "title": "Cities on the mission",
                "description": "",
                "speakers": [{"name": "Ana Norte", "affiliation": "Norte"}],
            },
        ]
    }
    response = client.put(f"/events/{event['id']}/agenda", headers=sedec.headers, json=agenda)
    assert response.status_code == 200, response.text
    response = client.post(f"/events/{event['id']}/agenda/confirm", headers=rtd.headers)
    assert response.status_code == 200, response.text
    assert response.json()["confirmed_at"] is not None
    assert response.json()["confirmed_by"]["id"] == rtd.id
    assert [item["title"] for item in response.json()["items"]] == [
        "Opening",
        "Cities on the mission",
    ]

    # A participant registers.
    response = client.post(f"/events/{event['id']}/registrations", headers=participant.headers)
    assert response.status_code == 201, response.text
    assert response.json()["status"] == "registered"
    assert client.get(f"/events/{event['id']}").json()["registered"] == 1

    # The audit trail tells the seminar's story.
    trail = client.get(
        "/audit",
        headers=jrc.headers,
        params={"entity_type": "seminar", "entity_id": str(seminar["id"])},
    ).json()["items"]
    assert [entry["action"] for entry in reversed(trail)] == [
        "seminar.created",
        "agreement.recorded",
        "agreement.recorded",
        "agreement.recorded",
        "seminar.agreed",
        "seminar.scheduled",
    ]
