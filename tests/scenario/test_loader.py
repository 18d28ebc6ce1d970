"""Loading: every problem of a file reported at once, with file, line and step path."""

from __future__ import annotations

from pathlib import Path

import pytest

from simulator.errors import ScenarioError, ScenarioSyntaxError
from simulator.scenario import collect_paths, load_scenario, validate_files
from simulator.scenario import plan as plan_module
from simulator.scenario.loader import check_file, import_bot
from tests.scenario.conftest import EXAMPLES, EXPECTATION_KINDS, FILES, STEP_KEYS, WriteScenario


def problems_of(path: Path) -> list[str]:
    return [str(p) for p in check_file(path)[1]]


def test_a_malformed_file_lists_every_problem_with_its_line() -> None:
    path = FILES / "bad.yaml"
    assert problems_of(path) == [
        f"{path}:8: at bot.python: cannot import the bot module 'nosuchpackage.bot':"
        " No module named 'nosuchpackage'",
        f"{path}:10: at options.within: a duration is a number of seconds or a number with a unit:"
        " 500ms, 5s, 2m, 1h, 1d; got '5 parsecs'",
        f"{path}:13: at steps[1]: unknown step 'sned' (did you mean 'send'?); the steps are:"
        f" {STEP_KEYS}",
        f"{path}:14: at steps[2].send.to: unknown user 'bob' (accounts: alice, bot)",
        f"{path}:14: at steps[2].send.text: {{{{name}}}} is used before any step binds it (an"
        " expectation binds a capture the first time it matches)",
        f"{path}:15: at steps[3].send: a send needs exactly one of: text, image, audio, video,"
        " location, vcard; got none",
        f"{path}:16: at steps[4].expect.message.colour: unknown key 'colour'",
        f"{path}:17: at steps[5].expect.node: not a node in the tx/rx notation: mismatched closing"
        " tag for <body> at offset 26 in '<message><body>hi</message>'",
        f"{path}:18: at steps[6].expect.to: unknown user 'carol' (accounts: alice, bot)",
        f"{path}:18: at steps[6].expect.message.body: bad regular expression /(unclosed/: missing"
        " ),"
        " unterminated subpattern at position 0",
        f"{path}:19: at steps[7].wait: a duration is a number of seconds or a number with a unit:"
        " 500ms, 5s, 2m, 1h, 1d; got 'soon'",
        f"{path}:21: at steps[9].send.from: alice is not logged in at this step: add `- login:"
        " alice`"
        " before it",
        f"{path}:22: at steps[10].expect: an expectation needs exactly one of:"
        f" {EXPECTATION_KINDS}; got none",
        f"{path}:23: at steps[11]: a step is a mapping with one key, like `- wait: 2s`; got keys"
        " wait, login",
    ]


def test_load_scenario_raises_with_every_problem() -> None:
    with pytest.raises(ScenarioSyntaxError) as exc_info:
        load_scenario(FILES / "bad.yaml")
    assert len(exc_info.value.problems) == 14
    assert str(exc_info.value).count("\n") == 13


def test_semantic_checks(write: WriteScenario) -> None:
    path = write(
        """
        - send: {from: alice, to: bot, text: hi}
        - login: alice
        - login: alice
        - send: {from: bot, to: alice, text: hi}
        - raw: {from: alice, node: '<presence to="{{nobody}}"/>'}
        - iq: {from: alice, node: '<presence/>'}
        - server: {deliver: {to: alice, node: '<iq/>'}}
        - expect: {to: alice, message: {from: bot}, exact: true}
        - expect_none: {to: alice, message: {}, optional: true}
        - login: bot
        - presence: {from: alice, type: subscribe}
        - logout: bob
        """
    )
    assert [p.split(": ", 1)[1] for p in problems_of(path)] == [
        "at steps[0].send.from: alice is not logged in at this step: add `- login: alice` before"
        " it",
        "at steps[2].login: alice is already logged in here",
        "at steps[3].send.from: the bot is the account under test: steps act as users, not as the"
        " bot",
        "at steps[4].raw.node: {{nobody}} is used before any step binds it (an expectation binds a"
        " capture the first time it matches)",
        "at steps[5].iq.node: an iq step sends an <iq>, not <presence>",
        "at steps[6].server.deliver.node: the server keeps only messages, receipts and"
        " notifications,"
        " not <iq>; use push",
        "at steps[7].expect.exact: exact applies to node patterns only",
        "at steps[8].expect_none.optional: expect_none cannot be optional",
        "at steps[9].login: the bot is already running here (it starts by itself unless"
        " bot.autostart is false)",
        "at steps[10].presence.to: a subscribe presence needs `to`",
        "at steps[11].logout: bob is not logged in here",
    ]


def test_captures_bound_by_expectations_and_send_ids(write: WriteScenario) -> None:
    path = write(
        """
        - login: alice
        - send: {from: alice, to: bot, text: one, id: "{{first}}"}
        - expect: {to: alice, message: {id: "{{reply}}", body: '/(?P<word>\\w+)/'}}
        - send: {from: alice, to: bot, text: "{{first}} {{reply}} {{word}}"}
        - read: {from: alice, to: bot, id: ["{{reply}}", "{{first}}"]}
        - expect: {to: alice, message: {}}
        """
    )
    scenario = load_scenario(path)
    kinds = [type(step).__name__ for step in scenario.steps]
    assert kinds == ["Login", "Transmit", "Expect", "Transmit", "Transmit", "Expect"]
    send = scenario.steps[1]
    assert isinstance(send, plan_module.Transmit)
    assert send.bind_id == "first"
    assert str(send.node) == (
        '<message to="491119999999@s.whatsapp.net" type="text"'
        ' id="{{first}}"><body>one</body></message>'
    )
    read = scenario.steps[4]
    assert isinstance(read, plan_module.Transmit)
    assert str(read.node) == (
        '<receipt to="491119999999@s.whatsapp.net" id="{{reply}}" type="read">'
        '<list><item id="{{first}}"/></list></receipt>'
    )


def test_names_phones_and_jids(write: WriteScenario) -> None:
    path = write(
        """
        - login: ALICE
        - send: {from: "491110000001", to: "491110000002@s.whatsapp.net", text: hi}
        - send: {from: alice, to: "4915550000", text: "hi {{bob}} {{server}}"}
        - expect: {to: bot, message: {from: "/^49111/"}}
        """,
        bot="",
        head="",
    )
    problems = problems_of(path)
    assert [p.split(": ", 1)[1] for p in problems] == [
        "at steps[3].expect.to: there is no bot in this scenario"
    ]


def test_reserved_and_ambiguous_names(write: WriteScenario) -> None:
    path = write(
        """
        name: names
        world:
          accounts:
            - {phone: "491110000001", name: Server}
            - {phone: "491110000002", name: Ann}
            - {phone: "491110000003", name: ann}
        steps:
          - login: ann
        """,
        raw=True,
    )
    assert [p.split(": ", 1)[1] for p in problems_of(path)] == [
        "at world.accounts[0].name: the name 'Server' is reserved; rename the account",
        "at steps[0].login: several accounts are named 'ann': name them by phone",
    ]


def test_a_shared_world_file() -> None:
    scenario = load_scenario(FILES / "features.yaml")
    assert [p.label for p in scenario.parties] == ["alice", "bob", "bot"]
    assert scenario.builtins["bob"] == "491110000002@s.whatsapp.net"
    assert scenario.builtins["echo"] == scenario.builtins["bot"] == "491119999999@s.whatsapp.net"


def test_world_file_problems_are_located_in_the_world_file(tmp_path: Path) -> None:
    (tmp_path / "w.world.yaml").write_text(
        "accounts:\n  - {phone: abc}\n  - {phone: '123456', size: 3}\n"
    )
    (tmp_path / "s.yaml").write_text("name: s\nworld: w.world.yaml\nsteps:\n  - wait: 1s\n")
    (tmp_path / "t.yaml").write_text(
        "name: t\nworld: {file: missing.world.yaml}\nsteps:\n  - wait: 1s\n"
    )
    world = tmp_path / "w.world.yaml"
    assert problems_of(tmp_path / "s.yaml") == [
        f"{world}:2: at accounts[0].phone: a phone is 5 to 15 digits, country code first"
        " (like 491110000001); got 'abc'",
        f"{world}:3: at accounts[1].size: unknown key 'size'",
    ]
    assert problems_of(tmp_path / "t.yaml") == [
        f"{tmp_path / 't.yaml'}:2: at world: cannot read the world file"
        f" {tmp_path / 'missing.world.yaml'}: No such file or directory"
    ]


def test_yaml_syntax_and_unreadable_files(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("name: a\nsteps: [\n")
    assert problems_of(tmp_path / "a.yaml") == [
        f"{tmp_path / 'a.yaml'}:3: invalid YAML: expected the node content, but found '<stream"
        " end>'"
    ]
    assert problems_of(tmp_path / "nope.yaml") == [
        f"{tmp_path / 'nope.yaml'}: cannot read the file: No such file or directory"
    ]
    (tmp_path / "b.yaml").write_text("- just a list\n")
    assert problems_of(tmp_path / "b.yaml") == [
        f"{tmp_path / 'b.yaml'}:1: the file holds a list, not a mapping (name:, world:, steps: ...)"
    ]


def test_the_step_source_is_kept_for_reports(write: WriteScenario) -> None:
    path = write(
        """
        - login: alice
        - expect:
            to: alice
            # a comment inside the step
            message: {from: bot}

        - wait: 1s
        """
    )
    where = load_scenario(path).steps[1].where
    assert (where.line, where.step) == (12, "steps[1]")
    assert (
        where.source
        == "- expect:\n    to: alice\n    # a comment inside the step\n    message: {from: bot}"
    )


def test_import_bot() -> None:
    assert callable(import_bot("tests.scenario.bots.broken:shouting"))
    with pytest.raises(ScenarioError, match="has no 'nothing'"):
        import_bot("tests.scenario.bots.broken:nothing")
    with pytest.raises(ScenarioError, match="NOT_CALLABLE is not callable"):
        import_bot("tests.scenario.bots.broken:NOT_CALLABLE")
    with pytest.raises(ScenarioError, match=r"package\.module:callable, not 'broken'"):
        import_bot("broken")


def test_collect_paths(tmp_path: Path) -> None:
    (tmp_path / "b.yaml").write_text("")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "a.yml").write_text("")
    (tmp_path / "sub" / "shared.world.yaml").write_text("")
    (tmp_path / "notes.txt").write_text("")
    assert collect_paths([tmp_path]) == [tmp_path / "b.yaml", tmp_path / "sub" / "a.yml"]
    assert collect_paths([tmp_path / "sub" / "a.yml", tmp_path]) == [
        tmp_path / "sub" / "a.yml",
        tmp_path / "b.yaml",
    ]
    with pytest.raises(ScenarioError, match="nothing-here: no such file or directory"):
        collect_paths([tmp_path / "nothing-here"])


def test_the_examples_are_valid() -> None:
    assert validate_files([EXAMPLES]) == []


TEN_MISTAKES = """\
name: ten mistakes
world:
  accounts:
    - {phone: "491110000001", name: Alice}
    - {phone: "491110000001", name: Bob}
    - {phone: "491119999999", name: Echo}
bot: {account: echo}
options: {strict: [mesage], within: soon}
steps:
  - login: alice
  - send: {from: alice, to: bot, txet: hi}
  - send: {from: carol, to: bot, text: hi}
  - expect: {to: dave, message: {from: bot}}
  - expect: {to: alice, message: {from: bot, body: '/(unclosed/'}}
  - send: {from: alice, to: bot, text: "{{nothing}}"}
  - expect: {to: alice, node: '<message><body>hi</body>'}
  - wait: 3 parsecs
"""


def test_validate_lists_every_mistake_of_a_file_in_one_pass(tmp_path: Path) -> None:
    path = tmp_path / "ten.yaml"
    path.write_text(TEN_MISTAKES, "utf-8")
    assert [str(p).removeprefix(f"{path}:") for p in validate_files([path])] == [
        "3: at world.accounts: phone 491110000001 is listed twice",
        "8: at options.within: a duration is a number of seconds or a number with a unit:"
        " 500ms, 5s, 2m, 1h, 1d; got 'soon'",
        "8: at options.strict[0]: 'mesage' is not one of message, receipt, ack, presence,"
        " chatstate, notification, iq, call, ib, stream:error (did you mean 'message'?)",
        "11: at steps[1].send.txet: unknown key 'txet' (did you mean 'text'?)",
        "12: at steps[2].send.from: unknown user 'carol' (accounts: alice, bob, bot)",
        "13: at steps[3].expect.to: unknown user 'dave' (accounts: alice, bob, bot)",
        "14: at steps[4].expect.message.body: bad regular expression /(unclosed/: missing ),"
        " unterminated subpattern at position 0",
        "15: at steps[5].send.text: {{nothing}} is used before any step binds it (an"
        " expectation binds a capture the first time it matches)",
        "16: at steps[6].expect.node: not a node in the tx/rx notation: unterminated element"
        " <message> at offset 24 in '<message><body>hi</body>'",
        "17: at steps[7].wait: a duration is a number of seconds or a number with a unit:"
        " 500ms, 5s, 2m, 1h, 1d; got '3 parsecs'",
    ]


def test_a_broken_world_file_still_lets_the_steps_be_checked(tmp_path: Path) -> None:
    world = tmp_path / "bad.world.yaml"
    world.write_text(
        "accounts:\n"
        '  - {phone: "491110000001", name: Alice}\n'
        '  - {phone: "491110000001", name: Bob}\n'
        '  - {phone: "12", name: Carol}\n'
        '  - {phone: "491119999999", name: Echo}\n'
        "groups:\n"
        "  - {name: team, creator: zed, participants: [alice]}\n",
        "utf-8",
    )
    path = tmp_path / "s.yaml"
    path.write_text(
        "name: x\nworld: bad.world.yaml\nbot: {account: echo}\nsteps:\n"
        "  - login: carol\n"
        "  - send: {from: carol, to: team, text: hi}\n"
        "  - send: {from: erin, to: bot, text: hi}\n",
        "utf-8",
    )
    assert [str(p) for p in validate_files([path])] == [
        f"{path}:7: at steps[2].send.from: unknown user 'erin' (accounts: alice, bob, carol,"
        " bot; groups: team)",
        f"{world}:1: at accounts: phone 491110000001 is listed twice",
        f"{world}:4: at accounts[2].phone: a phone is 5 to 15 digits, country code first"
        " (like 491110000001); got '12'",
        f"{world}:7: at groups[0].creator: unknown account 'zed' (accounts: alice, bob, carol,"
        " echo)",
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "the file is empty: a scenario is a mapping with name, world and steps"),
        (
            "# only a comment\n",
            "the file is empty: a scenario is a mapping with name, world and steps",
        ),
        ("hello\n", "the file holds a plain string, not a mapping (name:, world:, steps: ...)"),
        ("42\n", "the file holds a number, not a mapping (name:, world:, steps: ...)"),
    ],
)
def test_a_file_that_is_no_mapping_says_so(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "odd.yaml"
    path.write_text(text, "utf-8")
    assert [p.message for p in validate_files([path])] == [message]


def test_common_slips_get_a_hint(write: WriteScenario) -> None:
    path = write(
        """
        - login: alice
        - send: {from: alice, to: 491119999999, txet: hi}
        - send: {from: alice, to: bot, text: 42}
        """,
        head="bot: {account: echo}\n",
        bot="",
    )
    # An unquoted phone is read as the phone where a name goes (``to:``); other text
    # fields say to quote a number.
    assert [str(p).removeprefix(f"{path}:") for p in validate_files([path])] == [
        "10: at steps[1].send.txet: unknown key 'txet' (did you mean 'text'?)",
        '11: at steps[2].send.text: expected text, got the number 42: quote it ("42")',
    ]
