"""The steps, expectation kinds and server actions of the flows: groups, contacts, privacy,
status, pictures, broadcasts, media upload, registration, the service's actions."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

from ruamel.yaml import YAML

from simulator.scenario import ScenarioFile, load_scenario, run_file, run_scenario_sync
from simulator.scenario.loader import check_file
from tests.scenario.conftest import FILES, WriteScenario

HEAD = """\
name: flows
world:
  accounts:
    - {phone: "491110000001", name: Alice}
    - {phone: "491110000002", name: Bob}
    - {phone: "491110000077", name: Nora, registered: false}
    - {phone: "491119999999", name: Echo}
  groups:
    - {name: team, creator: alice, participants: [bob]}
bot:
  account: echo
  python: tests.scenario.bots.broken:silent
steps:
"""


def flows_file(write: WriteScenario, steps: str) -> Path:
    return write(HEAD + textwrap.indent(textwrap.dedent(steps).strip("\n"), "  ") + "\n", raw=True)


def head_of(report: str, path: Path) -> list[str]:
    head = report.split("\ntranscript up to the failure")[0].rstrip("\n")
    return head.replace(str(path), "s.yaml").split("\n")


def test_every_flow_step_and_kind_passes() -> None:
    result = run_file(FILES / "flows.yaml")
    assert result.passed, result.report
    assert result.steps_run == result.steps_total == 80
    assert result.virtual_seconds == 6  # six expect_none of 1s


def test_the_flows_give_the_same_transcript_every_run() -> None:
    scenario = load_scenario(FILES / "flows.yaml")
    first, second = run_scenario_sync(scenario), run_scenario_sync(scenario)
    assert first.transcript_text == second.transcript_text


def test_problems_of_flow_steps_are_found_before_running(write: WriteScenario) -> None:
    path = flows_file(
        write,
        """
        - login: alice
        - add_participants: {from: alice, group: nosuch, participants: bob}
        - create_group: {from: alice, subject: S, as: bob}
        - create_group: {from: alice, subject: S, as: lunch, error: 403}
        - login: nora
        - send: {from: alice, to: bot, image: missing.png}
        - send: {from: alice, to: bot, image: {path: missing.png, size: 3}}
        - set_picture: {from: alice}
        - broadcast: {from: alice, text: x}
        - promote: {from: alice, group: team, participants: bob, error: 403, result: '<iq/>'}
        - expect: {to: alice, group: {add: bob, remove: bob}}
        - set_privacy: {from: alice}
        - server: {disconnect: bob}
        - send: {from: alice, to: lunch, text: hi}
        """,
    )
    assert [str(p).replace(str(path), "s.yaml") for p in check_file(path)[1]] == [
        "s.yaml:15: at steps[1].add_participants.group: unknown group 'nosuch' (groups: team)",
        "s.yaml:16: at steps[2].create_group.as: the name 'bob' is taken: choose another",
        "s.yaml:17: at steps[3].create_group.as: a refused create makes no group to name:"
        " remove `as`",
        "s.yaml:18: at steps[4].login: nora is not registered at this step (registered: false):"
        " register it with code_request and code_register first",
        f"s.yaml:19: at steps[5].send.image: no such file: {path.parent / 'missing.png'}",
        "s.yaml:20: at steps[6].send.image: an upload takes these from the file: remove size",
        "s.yaml:21: at steps[7].set_picture: set_picture needs exactly one of: file, base64,"
        " delete",
        "s.yaml:22: at steps[8].broadcast.to: name the recipients (to) or a list the user has"
        " (list)",
        "s.yaml:23: at steps[9].promote.result: give either error or result, not both",
        "s.yaml:24: at steps[10].expect.group: a notification carries one change; got add and"
        " remove",
        "s.yaml:25: at steps[11].set_privacy: set at least one of last, status, profile",
        "s.yaml:26: at steps[12].server.disconnect: bob is not logged in here",
        "s.yaml:27: at steps[13].send.to: unknown user 'lunch' (accounts: alice, bob, nora, bot;"
        " groups: team)",
    ]


def test_a_group_made_by_a_step_is_named_by_later_steps(write: WriteScenario) -> None:
    path = flows_file(
        write,
        """
        - login: alice
        - login: bob
        - create_group: {from: alice, subject: Lunch, participants: [bob, bot], as: lunch}
        - expect: {to: bot, group: {from: lunch, by: alice, create: Lunch}}
        - send: {from: bob, to: lunch, text: pizza?}
        - expect: {to: alice, message: {from: "{{lunch}}", participant: bob, body: pizza?}}
        - expect: {to: alice, node: '<message from="{{lunch}}"/>', optional: true}
        """,
    )
    result = run_file(path)
    assert result.passed, result.report
    assert 'type="result"><group id="491110000001-1420070400"/></iq>' in result.transcript_text
    assert (
        'alice <-- rx  <message from="491110000001-1420070400@g.us"'
        ' participant="491110000002@s.whatsapp.net"'
    ) in result.transcript_text


def test_an_unexpected_refusal_shows_the_error_answer(write: WriteScenario) -> None:
    path = flows_file(
        write,
        """
        - login: bob
        - remove_participants: {from: bob, group: team, participants: alice}
        """,
    )
    result = run_file(path)
    assert head_of(result.report, path) == [
        "FAILED s.yaml:15: at steps[1]: the answer to bob's iq does not match",
        "",
        "step:",
        "  - remove_participants: {from: bob, group: team, participants: alice}",
        "",
        "  expected (bob receives)   the answer (at +00:00:00.000)",
        "  <iq                     | <iq",
        '!   type="result"         !   type="error"',
        '                          |   from="491110000001-1400000000@g.us"',
        '                          |   id="1420070400-239465729"',
        '                          |   <error code="403" text="forbidden"/>',
        "  />                      | </iq>",
        "  (rows marked ! differ)",
        "",
        'first difference: iq@type: expected "result", got "error"',
    ]


def test_an_expected_refusal_that_does_not_come(write: WriteScenario) -> None:
    path = flows_file(
        write,
        """
        - login: alice
        - add_participants: {from: alice, group: team, participants: bot, error: 403}
        """,
    )
    result = run_file(path)
    head = head_of(result.report, path)
    assert head[0] == "FAILED s.yaml:15: at steps[1]: the answer to alice's iq does not match"
    assert head[6:13] == [
        "  <iq                       | <iq",
        '!   type="error"            !   type="result"',
        '                            |   from="491110000001-1400000000@g.us"',
        '                            |   id="1420070400-239465729"',
        '!   <error code="403"/>     !',
        '                            |   <add type="success"'
        ' participant="491119999999@s.whatsapp.net"/>',
        "  </iq>                     | </iq>",
    ]


def test_registration_makes_an_account_that_logs_in(write: WriteScenario) -> None:
    path = flows_file(
        write,
        """
        - code_request: {user: nora, method: voice, status: sent}
        - code_register: {user: nora, code: "{{bot}}", status: fail, reason: mismatch}
        - code_register: {user: nora, type: new}
        - login: nora
        - code_register: {user: nora, reason: missing}
        - code_request: {user: nora, identity: another-device, reason: too_recent}
        """,
    )
    result = run_file(path)
    assert result.passed, result.report
    assert (
        '-- nora\'s registration: <answer status="ok" login="491110000077"'
        in result.transcript_text
    )


def test_a_service_action_on_someone_offline_fails_the_step(write: WriteScenario) -> None:
    path = flows_file(
        write,
        """
        - login: alice
        - logout: alice
        - server: {call: {from: bob, to: alice}}
        """,
    )
    result = run_file(path)
    assert head_of(result.report, path)[0] == (
        "FAILED s.yaml:16: at steps[2]: the server cannot ring alice: not connected"
    )


def test_an_upload_binds_the_message_id(write: WriteScenario, tmp_path: Path) -> None:
    (tmp_path / "cat.png").write_bytes((FILES / "media" / "logo.png").read_bytes())
    path = flows_file(
        write,
        """
        - login: alice
        - send: {from: alice, to: bob, image: {path: cat.png, caption: meow}, id: "{{cat}}"}
        - expect: {to: alice, ack: {class: message, id: "{{cat}}"}}
        - login: bob
        - expect:
            to: bob
            message: {id: "{{cat}}", offline: true, media: {caption: meow, size: "74"}}
        """,
    )
    result = run_file(path)
    assert result.passed, result.report


def test_the_step_snippets_of_the_readme_are_valid() -> None:
    readme = (FILES.parent.parent.parent / "scenarios" / "README.md").read_text("utf-8")
    flows = readme[readme.index("## Steps of the flows") : readme.index("## The example library")]
    blocks = re.findall(r"```yaml\n(.*?)```", flows, re.S)
    steps = [step for block in blocks for step in YAML(typ="safe").load(block)]
    assert len(steps) == 39
    model = ScenarioFile
    model.model_validate({"name": "readme", "world": {}, "steps": steps})


def test_a_request_without_an_answer_in_time_fails(write: WriteScenario) -> None:
    path = flows_file(
        write,
        """
        - login: alice
        - block: {from: alice, user: bob, within: 0s}
        """,
    )
    result = run_file(path)
    assert head_of(result.report, path)[:4] == [
        "FAILED s.yaml:15: at steps[1]: alice got no answer within 0s",
        "",
        "step:",
        "  - block: {from: alice, user: bob, within: 0s}",
    ]
