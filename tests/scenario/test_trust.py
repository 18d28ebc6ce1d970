"""A green run means the bot behaved: mutation tests of the runner, and the regressions of
issue 9 (a typo turning a failing scenario green, expect_none counting the past, ordering
for ``to: bot`` / ``to: server``)."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from simulator.scenario import run_file, validate_files
from tests.scenario.conftest import WriteScenario

BROKEN = "tests.scenario.bots.broken"

CONVERSATION = """
- login: alice
- login: bob
- send: {from: alice, to: bot, text: hello}
- expect: {to: alice, message: {from: bot, body: hello}}
- expect_none: {to: alice, message: {from: bot}, within: 2m}
- expect_none: {to: bob, message: {from: bot}, within: 1s}
"""
"""The echo contract: one answer, the same text, to the sender, within the default time."""

MUTANTS = {
    "twice": "answers twice",
    "slow": "answers an hour late",
    "wrong_party": "answers Bob instead",
    "shouting": "answers with the wrong body",
    "silent": "does not answer at all",
}

OPTIONS = [
    "",
    "options: {strict: [message]}\n",
    "options: {strict: []}\n",
    "options: {strict: [message, chatstate, call]}\n",
    "options: {within: 10s}\n",
    "options: {within: 500ms, seed: 7, start: 2016-06-01T12:00:00Z}\n",
]


@pytest.mark.parametrize(
    ("bot", "options"), list(itertools.product(MUTANTS, OPTIONS)), ids=lambda v: str(v).strip()
)
def test_every_broken_bot_fails_the_echo_contract_whatever_the_options(
    write: WriteScenario, bot: str, options: str
) -> None:
    if bot == "twice" and "strict: []" in options:
        # Both answers arrive in the same step; only the end-of-run check of the strict
        # tags can see the second, and `strict: []` switches it off (by design: see
        # test_strict_none_is_the_one_way_to_accept_extra_messages).
        return
    path = write(CONVERSATION, bot=f"{BROKEN}:{bot}", head=options)
    result = run_file(path)
    assert not result.passed, f"a bot that {MUTANTS[bot]} passed with {options!r}"


def test_strict_none_is_the_one_way_to_accept_extra_messages(write: WriteScenario) -> None:
    for options, passes in (("", False), ("options: {strict: []}\n", True)):
        result = run_file(write(CONVERSATION, bot=f"{BROKEN}:twice", head=options))
        assert result.passed is passes, options


@pytest.mark.parametrize("options", OPTIONS, ids=lambda v: v.strip() or "defaults")
def test_the_correct_bot_passes_the_echo_contract_whatever_the_options(
    write: WriteScenario, options: str
) -> None:
    result = run_file(write(CONVERSATION, bot=f"{BROKEN}:echo", head=options))
    assert result.passed, result.report


# One expectation per kind, met by the echo conversation (kind -> the step's YAML).
PRESENT = {
    "message": "{to: alice, message: {from: bot, body: hi}}",
    "message to bot": "{to: bot, message: {from: alice, body: hi}}",
    "message to server": (
        "{to: server, node: '<message to=\"{{alice}}\"><body>hi</body></message>'}"
    ),
    "receipt": "{to: alice, receipt: {from: bot}}",
    "ack": "{to: alice, ack: {class: message}}",
    "chatstate": "{to: bot, chatstate: {from: alice, state: composing}}",
    "node": "{to: alice, node: '<message from=\"{{bot}}\"><body>hi</body></message>'}",
    "node exact": (
        '{to: alice, exact: true, node: \'<ack class="message" id="/./" from="{{bot}}" t="/./"/>\'}'
    ),
    "presence": "{to: alice, presence: {from: bob}}",
    "iq": "{to: bot, iq: {type: get, xmlns: 'urn:xmpp:ping'}}",
    "notification": "{to: bot, notification: {type: web}}",
    "group": "{to: bob, group: {from: lunch, create: Lunch}}",
}
# The same expectations with one detail wrong: nothing received matches them.
ABSENT = {
    "message": "{to: alice, message: {from: bot, body: ho}}",
    "message to bot": "{to: bot, message: {from: bob, body: hi}}",
    "message to server": "{to: server, node: '<message to=\"{{bob}}\"><body>hi</body></message>'}",
    "receipt": "{to: alice, receipt: {from: bob}}",
    "ack": "{to: alice, ack: {class: notification}}",
    "chatstate": "{to: bot, chatstate: {from: alice, state: paused}}",
    "node": "{to: alice, node: '<message from=\"{{bot}}\"><body>ho</body></message>'}",
    "node exact": (
        '{to: alice, exact: true, node: \'<ack class="message" id="/./" from="{{bot}}"/>\'}'
    ),
    "presence": "{to: alice, presence: {from: bot}}",
    "iq": "{to: bot, iq: {type: set, xmlns: 'urn:xmpp:ping'}}",
    "notification": "{to: bot, notification: {type: account}}",
    "group": "{to: bob, group: {from: lunch, create: Dinner}}",
}

SETUP = """
- login: alice
- login: bob
- typing: {from: alice, to: bot}
- send: {from: alice, to: bot, text: hi}
"""
TRIGGER = {
    "chatstate": "- typing: {from: alice, to: bot}\n",
    "presence": "- presence: {from: alice, type: subscribe, to: bob}\n",
    "iq": "- server: {ping: bot}\n",
    "notification": "- server: {web: bot}\n",
    "group": "- create_group: {from: alice, subject: Lunch, participants: [bob], as: lunch}\n",
}
"""For ``expect_none``, the step that sets the stanza in motion comes right before it."""
ACCEPT_ALL = "options: {strict: []}\n"
FINISH = "- expect: {to: alice, message: {from: bot, body: hi}, optional: true, within: 1s}\n"
"""Takes the bot's answer if no step did (with the default options it must be taken)."""


@pytest.mark.parametrize("kind", PRESENT)
@pytest.mark.parametrize("options", ["", ACCEPT_ALL], ids=["defaults", "strict-none"])
def test_each_kind_passes_when_met_and_fails_when_not(
    write: WriteScenario, kind: str, options: str
) -> None:
    def run(step: str) -> bool:
        setup = SETUP + TRIGGER.get(kind, "")
        return run_file(write(setup + step + FINISH, bot=f"{BROKEN}:echo", head=options)).passed

    assert run(f"- expect: {PRESENT[kind]}\n")
    assert not run(f"- expect: {ABSENT[kind]}\n")
    assert not run(f"- expect: {dict_with(ABSENT[kind], 'within: 1h')}\n")
    assert not run(f"- expect_none: {PRESENT[kind]}\n")
    assert run(f"- expect_none: {ABSENT[kind]}\n- expect: {PRESENT[kind]}\n")
    assert not run(f"- unordered: [{ABSENT[kind]}]\n")
    assert run(f"- unordered: [{PRESENT[kind]}]\n")
    assert run(f"- expect: {dict_with(ABSENT[kind], 'optional: true')}\n")


def dict_with(flow: str, item: str) -> str:
    """A flow mapping with one more item."""
    return flow[:-1] + f", {item}}}"


# -------------------------------------------------------------------- the examples


def test_a_typo_in_strict_is_a_problem_with_a_suggestion(write: WriteScenario) -> None:
    path = write(CONVERSATION, bot=f"{BROKEN}:twice", head="options: {strict: [mesage]}\n")
    assert [str(p) for p in validate_files([path])] == [
        f"{path}:10: at options.strict[0]: 'mesage' is not one of message, receipt, ack,"
        " presence, chatstate, notification, iq, call, ib, stream:error (did you mean"
        " 'message'?)"
    ]


def test_a_bot_answering_twice_fails_at_the_end(write: WriteScenario) -> None:
    steps = """
    - login: alice
    - send: {from: alice, to: bot, text: hello}
    - expect: {to: alice, message: {from: bot, body: hello}}
    """
    result = run_file(write(steps, bot=f"{BROKEN}:twice"))
    assert not result.passed
    assert result.failure is not None and result.failure.where is not None
    assert result.failure.where.step == "the end"
    assert result.failure.where.line == 1  # the scenario's `name:`
    assert "alice received 1 <message> no step expected" in result.failure.summary


def test_expect_none_ignores_a_message_sent_before_the_step(write: WriteScenario) -> None:
    steps = """
    - login: alice
    - send: {from: alice, to: bot, text: hello}
    - expect: {to: alice, message: {from: bot, body: hello}}
    - expect_none: {to: bot, message: {from: alice}}
    """
    result = run_file(write(steps, bot=f"{BROKEN}:echo"))
    assert result.passed, result.report


def test_expect_none_ignores_a_receipt_left_over_from_earlier(write: WriteScenario) -> None:
    steps = """
    - login: alice
    - send: {from: alice, to: bot, text: hello}
    - expect: {to: alice, message: {from: bot, body: hello}}
    - wait: 1m
    - expect_none: {to: alice, receipt: {from: bot}}
    """
    result = run_file(write(steps, bot=f"{BROKEN}:echo"))
    assert result.passed, result.report


def test_expect_none_sees_what_the_previous_step_set_in_motion(write: WriteScenario) -> None:
    steps = """
    - login: alice
    - send: {from: alice, to: bot, text: hello}
    - expect_none: {to: alice, receipt: {from: bot}}
    """
    result = run_file(write(steps, bot=f"{BROKEN}:echo"))
    assert not result.passed
    assert result.failure is not None
    assert result.failure.summary == ("alice received a <receipt> the scenario says must not come")


def test_expect_none_sees_what_arrives_late_in_its_window(write: WriteScenario) -> None:
    steps = """
    - login: alice
    - send: {from: alice, to: bot, text: hello}
    - expect_none: {to: alice, message: {from: bot}, within: 2h}
    """
    result = run_file(write(steps, bot=f"{BROKEN}:slow"))
    assert not result.passed
    assert "+01:00:00.000" in result.report


def test_checking_one_message_the_bot_sent_does_not_force_checking_all(
    write: WriteScenario,
) -> None:
    steps = """
    - login: alice
    - send: {from: alice, to: bot, text: hello}
    - expect: {to: server, node: '<message to="{{alice}}"><body>again</body></message>'}
    - expect: {to: bot, receipt: {from: alice}}
    - expect: {to: alice, message: {from: bot, body: hello}}
    - expect: {to: alice, message: {from: bot, body: again}}
    """
    result = run_file(write(steps, bot=f"{BROKEN}:twice"))
    assert result.passed, result.report


def test_a_user_still_takes_messages_in_order(write: WriteScenario) -> None:
    steps = """
    - login: alice
    - send: {from: alice, to: bot, text: hello}
    - expect: {to: alice, message: {from: bot, body: again}}
    """
    result = run_file(write(steps, bot=f"{BROKEN}:twice"))
    assert not result.passed
    assert "hint: a matching <message> arrived later" in result.report


def test_the_report_says_when_the_candidate_is_left_over_from_earlier(
    write: WriteScenario,
) -> None:
    steps = """
    - login: alice
    - send: {from: alice, to: bot, text: hello}
    - wait: 1m
    - expect: {to: alice, message: {from: bot, body: bye}}
    """
    result = run_file(write(steps, bot=f"{BROKEN}:echo"))
    assert not result.passed
    assert (
        "the next <message> no step had matched, received before the previous step began"
        " (at +00:00:00.000)"
    ) in result.report


def test_a_fresh_candidate_is_not_called_left_over(write: WriteScenario) -> None:
    steps = """
    - login: alice
    - send: {from: alice, to: bot, text: hello}
    - expect: {to: alice, message: {from: bot, body: bye}}
    """
    result = run_file(write(steps, bot=f"{BROKEN}:echo"))
    assert not result.passed
    assert "received before the previous step began" not in result.report


def test_any_display_name_has_a_handle_for_templates_and_steps(tmp_path: Path) -> None:
    from simulator.scenario.builder import handle

    assert [handle(n) for n in ("Alice Smith", "José", "Dr. No!", "2pac", "☕", "bob")] == [
        "alice_smith",
        "jose",
        "dr_no",
        "_2pac",
        "",
        "bob",
    ]
    path = tmp_path / "names.yaml"
    path.write_text(
        "name: names with spaces\n"
        "world:\n"
        "  accounts:\n"
        '    - {phone: "491110000001", name: Alice Smith}\n'
        '    - {phone: "491110000002", name: José}\n'
        '    - {phone: "491119999999", name: Echo}\n'
        f"bot: {{account: echo, python: {BROKEN}:echo}}\n"
        "steps:\n"
        "  - login: alice_smith\n"
        "  - send: {from: Alice Smith, to: bot, text: 'for {{jose}}'}\n"
        "  - expect:\n"
        "      to: alice_smith\n"
        "      node: '<message from=\"{{bot}}\"><body>for {{jose}}</body></message>'\n",
        "utf-8",
    )
    result = run_file(path)
    assert result.passed, result.report
    assert "491110000002@s.whatsapp.net" in result.transcript_text


@pytest.mark.parametrize(
    ("bot", "passes"),
    [
        ("echo", True),
        ("twice", False),
        ("shouting", False),
        ("wrong_party", False),
        ("silent", True),  # optional: not coming at all is allowed
        ("slow", True),
    ],
)
def test_an_optional_answer_still_catches_a_wrong_one(
    write: WriteScenario, bot: str, passes: bool
) -> None:
    steps = """
    - login: alice
    - login: bob
    - send: {from: alice, to: bot, text: hello}
    - expect: {to: alice, message: {from: bot, body: hello}, optional: true, within: 1m}
    """
    result = run_file(write(steps, bot=f"{BROKEN}:{bot}"))
    assert result.passed is passes, result.report
