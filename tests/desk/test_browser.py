"""The desk end to end: ``simulator desk`` in a subprocess, the page in a headless Chromium.

Playwright for Python drives Debian's ``chromium`` (``python3 dev.py setup`` installs it;
Playwright's own browser download is not used). Every wait is on page state (Playwright's
``expect`` retries until the page shows it), never a sleep. Screenshots of each state go
to ``test-output/desk/``.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

pytestmark = pytest.mark.browser
expect.set_options(timeout=20_000)  # patience on a loaded CI machine; passing steps take ms

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = ROOT / "scenarios"
SHOTS = ROOT / "test-output" / "desk"
CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: python3 dev.py setup installs it (as root)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield browser
        browser.close()


class Desk:
    """``simulator desk`` running in a subprocess; ``url`` is the page."""

    def __init__(self, *args: str) -> None:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "simulator", "desk", "--port", "0", *args],
            cwd=SCENARIOS,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
        )
        assert self.process.stdout is not None
        first = self.process.stdout.readline()
        found = re.fullmatch(r"desk on (http://127\.0\.0\.1:\d+/)\n", first)
        if found is None:
            rest = self.process.communicate(timeout=30)[0] if self.process.poll() is None else ""
            pytest.fail(f"simulator desk did not start: {first}{rest}")
        self.url = found[1]

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        self.process.communicate(timeout=30)
        return self.process.returncode


@pytest.fixture
def desk_factory() -> Iterator[type[Desk]]:
    started: list[Desk] = []

    class Started(Desk):
        def __init__(self, *args: str) -> None:
            super().__init__(*args)
            started.append(self)

    yield Started
    for desk in started:
        assert desk.stop() == 0, "simulator desk ends with exit 0 on SIGTERM"


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    yield page
    context.close()
    assert errors == [], "the page logged errors"


def shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"))


PHONES = {"Alice": "491110000001", "Bob": "491110000002", "Carol": "491110000003"}


def play_as(page: Page, name: str) -> None:
    """Pick the user; returns once the desk says it is logged in (● in its option)."""
    jid = f"{PHONES[name]}@s.whatsapp.net"
    page.select_option("#me", jid)
    expect(page.locator(f"#me option[value='{jid}']")).to_contain_text("●")


def open_chat(page: Page, name: str) -> None:
    page.locator("#chats button", has_text=name).first.click()
    expect(page.locator("#peer")).to_contain_text(name)


def say(page: Page, text: str) -> None:
    page.fill("#text", text)
    page.press("#text", "Enter")


def test_alice_writes_and_the_echo_bot_answers_with_ticks(
    desk_factory: type[Desk], page: Page
) -> None:
    desk = desk_factory("--bot", "bots.echo:run")
    page.goto(desk.url)
    expect(page.locator("#conn")).to_have_text("live")
    expect(page.locator("#bot")).to_contain_text("running")
    play_as(page, "Alice")
    open_chat(page, "Bot")
    expect(page.locator("#peer-state")).to_have_text("online")  # Alice subscribed on opening
    say(page, "hello desk")
    mine = page.locator(".msg.mine", has_text="hello desk")
    expect(mine).to_have_attribute("data-status", "delivered")
    expect(mine.locator(".ticks")).to_have_text("✓✓")
    answer = page.locator(".msg:not(.mine)", has_text="hello desk")
    expect(answer).to_have_count(1)
    shot(page, "1-echo-ticks")

    # Selecting the message highlights its stanzas: the message, its ack, its receipt.
    mine.click()
    expect(mine).to_have_attribute("aria-pressed", "true")
    highlighted = page.locator("#stanzas li.hl")
    expect(highlighted.filter(has_text="<message ")).not_to_have_count(0)
    expect(highlighted.filter(has_text="<ack ")).not_to_have_count(0)
    expect(highlighted.filter(has_text="<receipt ")).not_to_have_count(0)
    page.keyboard.press("Escape")  # the keyboard clears the selection...
    expect(mine).to_have_attribute("aria-pressed", "false")
    expect(highlighted).to_have_count(0)
    mine.focus()
    assert page.evaluate("() => document.activeElement.dataset.id")  # a message has it
    page.keyboard.press("Enter")  # ...and selects again
    expect(mine).to_have_attribute("aria-pressed", "true")
    row = highlighted.filter(has_text="<ack ").first
    row.locator("summary").click()
    expect(row.locator("pre")).to_be_visible()
    shot(page, "2-selected-stanzas")

    # The inspector filters by party and tag, and searches.
    page.select_option("#f-tag", "receipt")
    expect(page.locator("#stanzas li").first).to_have_attribute("data-tag", "receipt")
    page.select_option("#f-tag", "")
    page.fill("#f-text", "hello desk")
    expect(page.locator("#stanzas li")).not_to_have_count(0)
    for item in page.locator("#stanzas li").all():
        expect(item).to_contain_text("hello desk")

    # An image goes out through the file picker and shows inline (served by the desk).
    page.click("#attach")
    page.set_input_files("#media", str(SCENARIOS / "media" / "logo.png"))
    image = page.locator(".msg.mine img")
    expect(image).to_be_visible()
    page.wait_for_function("document.querySelector('.msg.mine img').naturalWidth > 0")
    expect(page.locator(".msg.mine").last).to_have_attribute("data-status", "delivered")
    page.click("#attach")

    page.set_viewport_size({"width": 420, "height": 900})
    expect(answer).to_be_visible()
    shot(page, "3-narrow")


def test_a_bot_that_reads_turns_the_ticks_blue(desk_factory: type[Desk], page: Page) -> None:
    desk = desk_factory("--bot", "bots.helpdesk:run")
    page.goto(desk.url)
    play_as(page, "Alice")
    open_chat(page, "Bot")
    say(page, "my printer is on fire")
    mine = page.locator(".msg.mine", has_text="my printer is on fire")
    expect(mine).to_have_attribute("data-status", "read")
    expect(mine.locator(".ticks")).to_have_attribute("aria-label", "read")
    expect(page.locator(".msg:not(.mine)", has_text="Ticket 1: my printer")).to_have_count(1)
    shot(page, "1b-read-ticks")


def test_user_actions_from_the_side_panel_and_the_chat(
    desk_factory: type[Desk], page: Page
) -> None:
    desk = desk_factory("--bot", "bots.echo:run")
    page.goto(desk.url)
    play_as(page, "Bob")
    play_as(page, "Alice")
    open_chat(page, "Bob")
    expect(page.locator("#peer-state")).to_have_text("online")

    page.click("#attach")
    page.fill("form[data-op=send_location] input[name=latitude]", "52.52")
    page.fill("form[data-op=send_location] input[name=longitude]", "13.405")
    page.fill("form[data-op=send_location] input[name=name]", "Alexanderplatz")
    page.click("form[data-op=send_location] button")
    page.fill("form[data-op=send_vcard] input[name=name]", "Carol")
    page.fill("form[data-op=send_vcard] input[name=phone]", "491110000003")
    page.click("form[data-op=send_vcard] button")
    expect(page.locator(".msg.mine", has_text="Location: Alexanderplatz")).to_have_count(1)
    expect(page.locator(".msg.mine", has_text="Contact: Carol")).to_have_count(1)

    page.click("#profile summary")
    page.fill("form[data-op=status] input", "on holiday")
    page.click("form[data-op=status] button")
    page.fill("form[data-op=sync] input", "491110000002 491110000099")
    page.click("form[data-op=sync] button")
    expect(page.locator("#toast")).to_have_text("on the service: 491110000002")
    page.click("#block")
    expect(page.locator("#block")).to_have_text("Unblock")
    page.click("#online")
    expect(page.locator("#online")).to_have_text("Go online")

    # Bob sees what Alice did: her messages, and that she went offline.
    play_as(page, "Bob")
    open_chat(page, "Alice")
    expect(page.locator(".msg", has_text="Location: Alexanderplatz")).to_have_count(1)
    expect(page.locator(".msg", has_text="Contact: Carol")).to_contain_text("TEL")
    page.click("#last-seen")  # Alice blocked Bob: the service does not tell him
    expect(page.locator("#toast")).to_contain_text("last_seen: ")
    expect(page.locator("#toast")).to_contain_text("401 not-authorized")
    expect(page.locator("#peer-state")).to_have_text("offline")
    shot(page, "8-user-actions")


def test_a_group_action_shows_in_the_chat_and_the_inspector(
    desk_factory: type[Desk], page: Page
) -> None:
    desk = desk_factory("--bot", "bots.echo:run")
    page.goto(desk.url)
    # Before a user is picked, the page shows the world: accounts and groups.
    expect(page.locator("#chats-title")).to_have_text("The world")
    expect(page.locator("#chats button", has_text="Carol")).to_be_enabled()
    expect(page.locator("#chats button", has_text="Bot")).to_be_disabled()
    shot(page, "0-world")
    play_as(page, "Bob")  # Bob online, so the notification reaches him live
    play_as(page, "Alice")
    page.click("#groups summary")
    page.fill("#group-create input[name=subject]", "Lunch")
    page.check("#group-members label:has-text('Bob') input")
    page.click("#group-create button")
    expect(page.locator("#peer")).to_have_text("Lunch")
    expect(page.locator(".system")).to_have_text('You created the group "Lunch"')

    page.click("#group-admin summary")
    page.select_option("#add-member", label="Carol")
    page.click("#group-admin form[data-op=group_add] button")
    expect(page.locator(".system").last).to_have_text("You added Carol")
    expect(page.locator("#members")).to_contain_text("Carol")

    page.select_option("#f-party", label="Bob")
    page.select_option("#f-tag", "notification")
    notes = page.locator("#stanzas li")
    expect(notes.filter(has_text="<add ")).to_have_count(1)
    expect(notes.filter(has_text="<create ")).to_have_count(1)
    shot(page, "4-group-alice")

    play_as(page, "Bob")
    open_chat(page, "Lunch")
    expect(page.locator(".system").first).to_have_text('Alice created the group "Lunch"')
    expect(page.locator(".system").last).to_have_text("Alice added Carol")
    shot(page, "5-group-bob")


def test_advancing_the_clock_fires_the_reminder(desk_factory: type[Desk], page: Page) -> None:
    desk = desk_factory("--bot", "bots.reminder:run")
    page.goto(desk.url)
    play_as(page, "Alice")
    open_chat(page, "Bot")
    say(page, "remind me in 1d to renew the domain")
    expect(page.locator(".msg:not(.mine)", has_text="OK, I will remind you")).to_have_count(1)
    before = page.locator("#clock").inner_text()
    page.click("[data-advance='86400']")
    expect(page.locator(".msg:not(.mine)", has_text="Reminder: renew the domain")).to_have_count(1)
    expect(page.locator("#clock")).not_to_have_text(before[:10] + re.escape(""))
    shot(page, "6-reminder")


def test_a_fault_from_the_panel_drops_the_echo_and_a_restart_keeps_the_chat(
    desk_factory: type[Desk], page: Page
) -> None:
    desk = desk_factory("--bot", "bots.echo:run")
    page.goto(desk.url)
    play_as(page, "Alice")
    open_chat(page, "Bot")
    page.locator("#faults-panel summary").click()
    page.select_option("#fault-action", "drop")
    page.fill("#fault-add input[name='selector']", "message to alice")
    page.fill("#fault-add input[name='times']", "1")
    page.locator("#fault-add button").click()
    expect(page.locator("#faults li")).to_have_count(1)
    expect(page.locator("#faults li")).to_contain_text("0 hits")
    say(page, "lost on the way back")
    expect(page.locator("#faults li")).to_have_count(0)  # used up by the dropped echo
    say(page, "this one comes back")
    expect(page.locator(".msg:not(.mine)", has_text="this one comes back")).to_have_count(1)
    expect(page.locator(".msg:not(.mine)", has_text="lost on the way back")).to_have_count(0)
    shot(page, "7-fault-dropped")
    page.locator("#restart").click()
    expect(page.locator("#toast")).to_contain_text("service restarted")
    # The echo bot takes one client and ends with it; the page says so. Alice logs in again
    # and the service, which kept her account and chat, acks what she sends.
    expect(page.locator("#bot")).not_to_contain_text("running")
    say(page, "after the restart")
    mine = page.locator(".msg.mine", has_text="after the restart")
    expect(mine).to_have_attribute("data-status", "sent")
    shot(page, "8-restarted")


def test_save_as_scenario_replays_green(
    desk_factory: type[Desk], page: Page, tmp_path: Path
) -> None:
    desk = desk_factory("--bot", "bots.echo:run")
    page.goto(desk.url)
    play_as(page, "Alice")
    open_chat(page, "Bot")
    say(page, "hello")
    expect(page.locator(".msg:not(.mine)", has_text="hello")).to_have_count(1)
    say(page, "order 42")
    expect(page.locator(".msg:not(.mine)", has_text="order 42")).to_have_count(1)
    page.click("#mark-read")
    expect(page.locator("#stanzas li[data-tag=receipt]", has_text='type="read"')).not_to_have_count(
        0
    )
    with page.expect_download() as download:
        page.click("#save")
    saved = tmp_path / "desk-session.yaml"
    download.value.save_as(saved)
    text = saved.read_text()
    assert "python: bots.echo:run" in text
    assert "text: order 42" in text
    with page.expect_download() as transcript:
        page.click("a[href='transcript.txt']")
    lines = Path(transcript.value.path()).read_text().splitlines()
    assert any(" tx 491110000001@s.whatsapp.net <message " in line for line in lines)
    shot(page, "7-saved")

    replay = subprocess.run(
        [sys.executable, "-m", "simulator", "run", str(saved)],
        cwd=SCENARIOS,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert replay.returncode == 0, replay.stdout + replay.stderr
    assert replay.stdout.startswith("PASS")
