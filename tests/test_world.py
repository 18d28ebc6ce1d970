"""Worlds: what a world file may declare, the problems it reports, and the state it builds."""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest

from simulator.cli import main
from simulator.errors import ScenarioSyntaxError
from simulator.scenario.loader import check_file
from simulator.server.state import BroadcastList, Group, Picture, Status
from simulator.world import WORLD_TIME, World, build_state, load_world

ROOT = Path(__file__).resolve().parent.parent
TEAM = ROOT / "scenarios" / "worlds" / "team.world.yaml"
PHONES = {name: f"49111000000{n}" for n, name in enumerate(["alice", "bob", "carol", "dave"], 1)}
JIDS = {name: f"{phone}@s.whatsapp.net" for name, phone in PHONES.items()}
MODERATOR = "491119999991@s.whatsapp.net"


def world(**parts: object) -> World:
    accounts = [
        {"phone": "491110000001", "name": "Alice"},
        {"phone": 491110000002, "name": "Bob"},
        {"phone": "491110000077", "name": "Nora", "registered": False},
    ]
    return World.model_validate({"accounts": accounts, **parts})


def test_the_team_world_builds_its_state() -> None:
    state = build_state(load_world(TEAM))
    gjid = "491110000001-1400000000@g.us"
    assert state.groups == {
        gjid: Group(
            gjid,
            "Release team",
            JIDS["alice"],
            WORLD_TIME,
            JIDS["alice"],
            WORLD_TIME,
            {JIDS["alice"]: "admin", MODERATOR: "admin", JIDS["bob"]: None, JIDS["carol"]: None},
        )
    }
    assert state.contacts[JIDS["carol"]] == ["491110000001", "491110000002", "491110000099"]
    assert state.broadcast_lists == {
        JIDS["alice"]: {
            "1400000000@broadcast": BroadcastList(
                "1400000000@broadcast", "news", [JIDS["bob"], JIDS["carol"]]
            )
        }
    }
    logo = (ROOT / "scenarios" / "media" / "logo.png").read_bytes()
    assert state.pictures[gjid] == Picture(str(WORLD_TIME), logo, logo)
    assert state.pictures[JIDS["alice"]].image.startswith(b"\x89PNG")
    christmas_eve = int(datetime.datetime(2014, 12, 24, 18, tzinfo=datetime.UTC).timestamp())
    assert state.statuses == {
        JIDS["bob"]: Status(b"At the gym", WORLD_TIME),
        JIDS["carol"]: Status(b"Shipping it", christmas_eve),
    }
    assert state.privacy == {JIDS["carol"]: {"last": "none", "profile": "contacts"}}
    assert state.blocked == {JIDS["dave"]: [JIDS["carol"]]}
    assert state.can_see(JIDS["carol"], JIDS["alice"], "profile")
    assert not state.can_see(JIDS["carol"], JIDS["dave"], "profile")


def test_jids_are_deterministic() -> None:
    spec = world(
        groups=[
            {"name": "a", "creator": "alice"},
            {"name": "b", "creator": "Alice", "subject": "Bee"},
            {"name": "c", "creator": "491110000002", "creation": "2015-01-01T00:00:00Z"},
        ],
        broadcast_lists=[
            {"name": "l1", "owner": "alice", "recipients": "bob"},
            {"name": "l2", "owner": "alice", "recipients": ["bob"]},
            {"name": "l3", "owner": "bob", "recipients": ["alice"], "id": "77"},
        ],
    )
    assert spec.group_jids() == {
        "a": "491110000001-1400000000@g.us",
        "b": "491110000001-1400000001@g.us",
        "c": "491110000002-1420070400@g.us",
    }
    assert spec.list_jids() == {
        "l1": "1400000000@broadcast",
        "l2": "1400000001@broadcast",
        "l3": "77@broadcast",
    }
    state = build_state(spec)
    assert state.groups["491110000001-1400000001@g.us"].creation == WORLD_TIME  # the true time
    assert state.groups["491110000001-1400000001@g.us"].subject == "Bee"
    assert state.groups["491110000001-1400000000@g.us"].subject == "a"


def test_unregistered_accounts_are_not_on_the_service_yet() -> None:
    state = build_state(world(contacts={"alice": ["nora"]}))
    assert sorted(state.accounts) == [JIDS["alice"], JIDS["bob"]]
    assert state.contacts == {JIDS["alice"]: ["491110000077"]}


def test_every_broken_reference_is_a_problem_at_its_place() -> None:
    spec = world(
        contacts={
            "zoe": ["bob"],
            "alice": ["somebody", "491110000099", "491110000002@s.whatsapp.net"],
        },
        groups=[
            {"name": "Alice", "creator": "bob"},
            {"name": "team", "creator": "nora", "participants": ["zoe"]},
            {"name": "TEAM", "creator": "alice", "admins": "nobody"},
            {"name": "bot", "creator": "alice"},
        ],
        broadcast_lists=[
            {"name": "team", "owner": "alice", "recipients": ["bob"]},
            {"name": "l", "owner": "alice", "recipients": ["x"], "id": "5"},
            {"name": "m", "owner": "alice", "recipients": ["bob"], "id": "5@broadcast"},
        ],
        pictures={"ghost": {"base64": "aGk="}, "team": {"base64": "aGk="}},
        statuses={"zoe": "hi"},
        privacy={"zoe": {"last": "none"}},
        blocked={"alice": ["nobody"]},
    )
    known = "(accounts: alice, bob, nora)"
    assert spec.problems() == [
        ("'Alice' is already the name of an account", ("groups", 0, "name")),
        ("'TEAM' is already the name of a group", ("groups", 2, "name")),
        ("the name 'bot' is reserved; rename the group", ("groups", 3, "name")),
        ("'team' is already the name of a group", ("broadcast_lists", 0, "name")),
        ("nora is not registered (registered: false) and cannot be used here",
         ("groups", 1, "creator")),
        (f"unknown account 'zoe' {known}", ("groups", 1, "participants", 0)),
        (f"unknown account 'nobody' {known}", ("groups", 2, "admins", 0)),
        (f"unknown account or phone number 'x' {known}", ("broadcast_lists", 1, "recipients", 0)),
        ("alice has two lists with the id 5@broadcast", ("broadcast_lists", 2)),
        (f"unknown account 'zoe' {known}", ("contacts", "zoe")),
        (f"unknown account or phone number 'somebody' {known}", ("contacts", "alice", 0)),
        (f"unknown account or phone number 'nobody' {known}", ("blocked", "alice", 0)),
        (f"unknown account 'zoe' {known}", ("statuses", "zoe")),
        (f"unknown account 'zoe' {known}", ("privacy", "zoe")),
        (f"unknown account or group 'ghost' {known}", ("pictures", "ghost")),
    ]  # fmt: skip
    with pytest.raises(ValueError, match=r"^the world has problems: at groups\[0\]\.name: 'Alice'"):
        build_state(spec)


def test_a_world_file_reports_every_problem_at_its_line(tmp_path: Path) -> None:
    path = tmp_path / "w.world.yaml"
    path.write_text(
        "accounts:\n"
        "  - {phone: '491110000001', name: Alice}\n"
        "groups:\n"
        "  - {name: g, creator: bob}\n"
        "pictures:\n"
        "  alice: missing.jpg\n"
        "  g: {base64: '***'}\n"
        "privacy:\n"
        "  alice: {last: nobody}\n"
    )
    with pytest.raises(ScenarioSyntaxError) as exc_info:
        load_world(path)
    assert exc_info.value.problems == [
        f"{path}:6: at pictures.alice: cannot read {tmp_path / 'missing.jpg'}: No such file or"
        " directory",
        f"{path}:7: at pictures.g: base64 is not valid base64",
        f"{path}:9: at privacy.alice.last: 'nobody' is not one of all, contacts, none",
    ]
    path.write_text(path.read_text().split("pictures:")[0])
    with pytest.raises(ScenarioSyntaxError) as exc_info:
        load_world(path)
    assert exc_info.value.problems == [
        f"{path}:4: at groups[0].creator: unknown account 'bob' (accounts: alice)"
    ]


def test_serve_refuses_a_world_with_problems(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "w.world.yaml"
    path.write_text("accounts:\n  - {phone: '491110000001'}\nblocked:\n  '491110000001': [bob]\n")
    assert main(["serve", "--world", str(path)]) == 1
    err = capsys.readouterr().err
    assert f"{path} is not a valid world file:" in err
    assert f"{path}:4: at blocked.491110000001[0]: unknown account or phone number 'bob'" in err


def test_an_inline_world_reports_problems_in_the_scenario(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(
        "name: s\n"
        "world:\n"
        "  accounts: [{phone: '491110000001', name: Alice}]\n"
        "  statuses: {bob: hi}\n"
        "steps:\n"
        "  - wait: 1s\n"
    )
    assert [str(p) for p in check_file(path)[1]] == [
        f"{path}:4: at world.statuses.bob: unknown account 'bob' (accounts: alice)"
    ]
