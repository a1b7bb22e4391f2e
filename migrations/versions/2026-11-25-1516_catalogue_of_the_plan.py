"""Load the plan's catalogue: four priority areas and eleven actions (Annex, April 2026)

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 15:16:00

The data is written out here, not imported from the application, so that this
migration loads the same catalogue whatever the code becomes. Later changes to the
catalogue are made through the API and kept in each action's history.
"""

from collections.abc import Sequence
from datetime import UTC, date, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ADOPTED = date(2026, 4, 24)
REFERENCE = "Joint Action Plan CoR–EC (DG RTD, JRC), Annex, Brussels, 24 April 2026"

PRIORITY_AREAS = [
    (
        1,
        "Building strong local and regional innovation ecosystems",
        "Implementing the European Research Area and supporting knowledge transfer and "
        "valorisation from concept research into innovation output, ensuring attraction "
        "and retention of talent.",
    ),
    (
        2,
        "Facilitating the green and digital transition",
        "Supporting place-based innovation for sustainable and inclusive territorial "
        "transformation.",
    ),
    (
        3,
        "Raising awareness and dissemination of funding opportunities and results",
        "Raising awareness and dissemination of funding opportunities and the results of "
        "framework programmes for R&I, creating synergies among funds and exchanging best "
        "practices (including simplification) in the fields of research and innovation.",
    ),
    (
        4,
        "Supporting evidence-based policymaking in the regions",
        "Supporting evidence-based policymaking in the regions, including territorial "
        "foresight and resilience.",
    ),
]

# (number, title, summary, priority areas, focus priority area)
ACTIONS = [
    (
        1,
        "Maintaining the Knowledge Exchange Platform (KEP 2.0)",
        "Two joint DG RTD-CoR seminars per year on research and innovation topics, agreed "
        "jointly between DG RTD and the CoR's SEDEC Commission based on the interests of "
        "their members, and possible peer-to-peer events hosted by CoR members.",
        [1, 2, 3, 4],
        None,
    ),
    (
        2,
        "Ensuring the involvement of CoR representatives in designing and implementing the "
        "European Research Area",
        "CoR representatives participate in the ERA Forum and relevant sub-groups as "
        "observers, including the RIMA network and the ERA Action on R&I investments for "
        "Europe's industrial transformation.",
        [1],
        None,
    ),
    (
        3,
        "Collaborating with Horizon Europe's five missions and related EU R&I flagship "
        "initiatives, bringing a regional/local perspective",
        "Strengthening the territorial dimension of EU missions and flagship initiatives "
        "such as regional innovation valleys, the Circular Cities and Regions Initiative, "
        "hydrogen valleys and 'Nuclear meets Regions'.",
        [1, 2, 3],
        None,
    ),
    (
        4,
        "Expanding the cooperation working arrangement (CWA) under the 2Zero EU partnership",
        "Boosting cooperation between the 2Zero partnership and regional authorities towards "
        "a carbon-neutral road transport system by 2050.",
        [1, 2, 3],
        None,
    ),
    (
        5,
        "Implementing the cooperative, connected and automated mobility (CCAM) urban "
        "deployment roadmap",
        "Moving from research and pilots to large-scale CCAM deployment in cities and "
        "regions, with local and regional representatives involved.",
        [1],
        None,
    ),
    (
        6,
        "Strengthening cooperation on health research",
        "Regular dialogue with the CoR and its members on health and wellbeing research at "
        "regional and local levels, including clinical research and knowledge from the JRC.",
        [1],
        None,
    ),
    (
        7,
        "Promoting opportunities for the cultural and creative industries (CCIs)",
        "Exchanges of views with local and regional authorities on cultural and creative "
        "industries and smart specialisation strategies.",
        [1, 3],
        None,
    ),
    (
        8,
        "Promoting the Knowledge Valorisation Platform and endorsing the Charter for Access "
        "to Research and Technology Infrastructures",
        "Helping regions and cities gain access to and benefit from research and technology "
        "infrastructures, including JRC sites with openly accessible infrastructure.",
        [1, 3],
        None,
    ),
    (
        9,
        "Collaborating on territorial vulnerability and resilience evidence",
        "Developing and disseminating territorial evidence and analytics, including the Risk "
        "Data Hub, for regional and local decisions on disaster resilience and preparedness.",
        [4],
        None,
    ),
    (
        10,
        "Providing support to territories through place-based innovation",
        "JRC research and the EU preparatory action on innovation for place-based "
        "transformation: capacity building, synergies among actors and funds, action "
        "research and actionable knowledge tools.",
        [1, 2, 3, 4],
        1,
    ),
    (
        11,
        "Promoting the New European Bauhaus, strengthening local leadership for a just "
        "transition and resilience in the built environment",
        "Targeted events between the JRC and the CoR, including the New European Bauhaus "
        "experimentation journey and synergies with 'Boost for Small Municipalities'.",
        [2],
        None,
    ),
]

priority_areas = sa.table(
    "priority_areas",
    sa.column("number", sa.Integer),
    sa.column("title", sa.String),
    sa.column("description", sa.Text),
)
actions = sa.table(
    "actions",
    sa.column("number", sa.Integer),
    sa.column("title", sa.String),
    sa.column("summary", sa.Text),
    sa.column("status", sa.String),
    sa.column("focus_priority_area", sa.Integer),
    sa.column("created_at", sa.DateTime(timezone=True)),
    sa.column("updated_at", sa.DateTime(timezone=True)),
)
action_priority_areas = sa.table(
    "action_priority_areas",
    sa.column("action_number", sa.Integer),
    sa.column("priority_area_number", sa.Integer),
)
action_changes = sa.table(
    "action_changes",
    sa.column("action_number", sa.Integer),
    sa.column("at", sa.DateTime(timezone=True)),
    sa.column("actor_id", sa.Integer),
    sa.column("change", sa.String),
    sa.column("communication_reference", sa.String),
    sa.column("communication_date", sa.Date),
    sa.column("before", sa.JSON),
    sa.column("after", sa.JSON),
)


def upgrade() -> None:
    adopted_at = datetime(2026, 4, 24, tzinfo=UTC)
    if op.get_bind().dialect.name == "sqlite":
        adopted_at = adopted_at.replace(tzinfo=None)  # stored as naive UTC, as the models do
    op.bulk_insert(
        priority_areas,
        [{"number": n, "title": t, "description": d} for n, t, d in PRIORITY_AREAS],
    )
    op.bulk_insert(
        actions,
        [
            {
                "number": number,
                "title": title,
                "summary": summary,
                "status": "active",
                "focus_priority_area": focus,
                "created_at": adopted_at,
                "updated_at": adopted_at,
            }
            for number, title, summary, _areas, focus in ACTIONS
        ],
    )
    op.bulk_insert(
        action_priority_areas,
        [
            {"action_number": number, "priority_area_number": area}
            for number, _title, _summary, areas, _focus in ACTIONS
            for area in areas
        ],
    )
    op.bulk_insert(
        action_changes,
        [
            {
                "action_number": number,
                "at": adopted_at,
                "actor_id": None,
                "change": "added",
                "communication_reference": REFERENCE,
                "communication_date": ADOPTED,
                "before": None,
                "after": {
                    "title": title,
                    "summary": summary,
                    "priority_areas": areas,
                    "focus_priority_area": focus,
                    "status": "active",
                },
            }
            for number, title, summary, areas, focus in ACTIONS
        ],
    )


def downgrade() -> None:
    numbers = [number for number, *_rest in ACTIONS]
    op.execute(action_changes.delete().where(action_changes.c.action_number.in_(numbers)))
    op.execute(
        action_priority_areas.delete().where(action_priority_areas.c.action_number.in_(numbers))
    )
    op.execute(actions.delete().where(actions.c.number.in_(numbers)))
    op.execute(priority_areas.delete())
