"""The demo page in a real headless Chromium: from `/rootkey check all` to a verified fix.

The page talks to the demo's server, which signs every click and form as Slack would and posts
it to the real bot process; the bot audits the simulated Organization on moto's server and
answers through the demo's Web API. Nothing here calls the bot or AWS directly.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urljoin

import pytest

from bot.demo import identities as ids
from bot.demo.scenario import MEMBERS, MISSING_ROLE, ROOT_KEYS
from tests.e2e.test_demo_process import ROOT, DemoProcess

pytestmark = [pytest.mark.slow, pytest.mark.browser]

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
IMAGES = Path(__file__).resolve().parents[2] / "docs" / "images"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
WAIT = 90_000  # ms: a deadline for slow machines, never a speed assertion
FIXED = "legacy-billing"

if not CHROMIUM.exists():
    pytest.skip(
        "Chromium is not installed at /usr/bin/chromium (apt-get install chromium; .ci/run does)",
        allow_module_level=True,
    )

from playwright.sync_api import (  # noqa: E402
    BrowserContext,
    Locator,
    Page,
    Route,
    expect,
    sync_playwright,
)


@pytest.fixture(scope="module")
def demo() -> Iterator[DemoProcess]:
    process = DemoProcess()
    yield process
    assert process.stop(signal.SIGINT) == 0, process.errors()
    # Tabs were closed and reloaded with long polls open: normal for a page, so the terminal
    # shows no traceback (BrokenPipeError in the server's send).
    said = process.errors()
    assert "Traceback" not in said and "BrokenPipeError" not in said, said


@pytest.fixture(scope="module")
def browser() -> Iterator[BrowserContext]:
    profile = tempfile.mkdtemp(prefix="rootkey-chromium-")
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            profile,
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1440, "height": 900},
        )
        yield context
        context.close()
    shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture
def page(browser: BrowserContext, demo: DemoProcess) -> Iterator[Page]:
    page = browser.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    page.goto(demo.url)
    expect(page.locator("#channel-name")).to_have_text("#security", timeout=WAIT)
    yield page
    page.close()
    assert not problems, f"errors in the page's script: {problems}"


def picture(region: Locator, name: str) -> None:
    """A screenshot of ``region`` for the README (docs/images/): taken by the test that drives
    the demo to that point, so the pictures show what the code does now."""
    IMAGES.mkdir(exist_ok=True)
    page = region.page
    size = page.viewport_size
    # tall enough that the whole message shows below the channel's header, then as it was
    page.set_viewport_size({"width": 1440, "height": 2400})
    try:
        region.scroll_into_view_if_needed()
        region.screenshot(path=str(IMAGES / name), animations="disabled")
    finally:
        if size is not None:
            page.set_viewport_size(size)


def run(page: Page, command: str) -> None:
    page.fill("#composer", command)
    page.press("#composer", "Enter")


def act_as(page: Page, user_id: str) -> None:
    page.click(f'.person[data-user="{user_id}"]')
    expect(page.locator(f'.person.active[data-user="{user_id}"]')).to_be_visible()


def buttons_of(result: Locator, name: str) -> Locator:
    """A finding's buttons: the actions block right under the section naming ``name``."""
    return result.locator(
        f'.bk-section[data-block-id^="rootkey_finding:"]:has-text("{name}")'
        ' + .bk-actions[data-block-id^="rootkey_finding_actions:"]'
    )


# Pictographs a colour emoji font would be needed for (the page ships its emoji as images).
PICTOGRAPHS = re.compile("[\U0001f000-\U0001faff\u2600-\u27bf\u2b00-\u2bff]")


def assert_emoji_shipped(region: Locator, *names: str) -> None:
    """The status icons are images the page ships, loaded; no text needs an emoji font."""
    for name in names:
        icons = region.locator(f'img.emoji[alt=":{name}:"]')
        expect(icons.first).to_be_visible()
        assert icons.first.evaluate("img => img.complete && img.naturalWidth > 0"), name
    assert not PICTOGRAPHS.findall(region.inner_text()), region.inner_text()


def latest_result(page: Page, count_before: int) -> None:
    """Wait for a new audit result (a bot message with a Re-run button) after ``count_before``."""
    results = page.locator("#messages .msg:not(.ephemeral)", has=page.locator(".bk-actions"))
    expect(results).to_have_count(count_before + 1, timeout=WAIT)


def test_check_request_approve_verified(page: Page) -> None:
    results = page.locator("#messages .msg:not(.ephemeral)", has=page.locator(".bk-actions"))
    before = results.count()
    run(page, "/rootkey check all")
    latest_result(page, before)
    result = results.last

    # Every account with a root key has its own finding with a button; the others do not.
    for name in ROOT_KEYS:
        expect(
            buttons_of(result, name).get_by_role("button", name="Request remediation")
        ).to_be_visible()
        expect(buttons_of(result, name).get_by_role("button", name="Accept risk")).to_be_visible()
    expect(result.get_by_role("button", name="Request remediation")).to_have_count(len(ROOT_KEYS))
    expect(result).to_contain_text(MISSING_ROLE)  # could not be audited: said, not hidden
    for name in set(MEMBERS) - set(ROOT_KEYS) - {MISSING_ROLE}:
        expect(buttons_of(result, name)).to_have_count(0)
    account_id = re.search(r"(\d{12})\D+" + FIXED, result.inner_text())
    assert account_id, result.inner_text()
    # Red and green read without a colour emoji font: the icons are the page's own images.
    assert_emoji_shipped(result, "red_circle", "white_check_mark", "warning")
    picture(result, "check-result.png")  # the README's picture of a check result

    # Accepting a risk names an owner: the people picker offers people, never channels.
    other = next(name for name in ROOT_KEYS if name != FIXED)
    buttons_of(result, other).get_by_role("button", name="Accept risk").click()
    dialog = page.get_by_role("dialog", name="Accept risk")
    expect(dialog).to_be_visible(timeout=WAIT)
    owner = dialog.get_by_label("Owner of the risk")
    expect(owner).to_be_visible(timeout=WAIT)
    offered = owner.locator("option:not([disabled])").all_inner_texts()
    assert sorted(offered) == sorted(p.real_name for p in ids.PEOPLE), offered
    dialog.get_by_role("button", name="Cancel").click()
    expect(page.locator("#modal-root")).to_be_hidden(timeout=WAIT)

    # The requester asks for the fix through the modal (a dialog whose fields are labelled).
    buttons_of(result, FIXED).get_by_role("button", name="Request remediation").click()
    modal = page.get_by_role("dialog", name="Request remediation")
    expect(modal).to_be_visible(timeout=WAIT)
    expect(modal).to_contain_text(account_id.group(1))
    # The form is filled in twice (the audit, then what used the keys): each update redraws
    # it, as Slack does, so it is submitted once the second is there.
    expect(modal).to_contain_text("What used", timeout=WAIT)
    expect(modal).not_to_contain_text("Looking up", timeout=WAIT)
    modal.locator(".modal-submit").click()  # the reason is required: Slack refuses it empty
    expect(modal.locator(".bk-error:visible")).to_have_count(1)
    reason = modal.get_by_label("Reason")
    reason.fill("Unused by any workload; the owner confirmed it in the ticket.")
    modal.locator(".modal-submit").click()
    expect(page.locator("#modal-root")).to_be_hidden(timeout=WAIT)

    # The request lands in the finding's thread with Approve and Reject.
    result.locator(".replies-link").click()
    thread = page.locator("#thread")
    expect(thread).to_be_visible()
    approve = thread.get_by_role("button", name="Approve")
    expect(approve).to_be_visible(timeout=WAIT)

    # The requester is an approver too, but cannot approve their own request: told privately
    # at once, before any confirmation; nothing changes.
    private_before = thread.locator(".msg.ephemeral").count()
    approve.click()
    expect(thread.locator(".msg.ephemeral")).to_have_count(private_before + 1, timeout=WAIT)
    expect(thread.locator(".msg.ephemeral").last).to_contain_text("so you cannot approve it")
    expect(page.locator("#confirm-root")).to_be_hidden()
    expect(thread.locator(".msg.ephemeral").last).not_to_contain_text("cannot be undone")
    expect(approve).to_be_visible()

    # The approver is asked privately to confirm what cannot be undone, and approves; rootkey
    # deletes the key through centralized root access and re-audits: the thread ends at
    # "verified".
    act_as(page, ids.APPROVER.user_id)
    approve = page.locator("#thread").get_by_role("button", name="Approve", exact=True)
    expect(approve).to_be_visible(timeout=WAIT)
    approve.click()
    asked = page.locator("#thread .msg.ephemeral").filter(has_text="cannot be undone")
    expect(asked).to_be_visible(timeout=WAIT)
    asked.get_by_role("button", name="Approve deletion").click()
    expect(page.locator("#thread-messages")).to_contain_text("verified", timeout=WAIT)
    expect(page.locator("#thread").get_by_role("button", name="Approve")).to_have_count(0)
    # The finding itself shows the fix in place: green, without its buttons; the other
    # accounts keep theirs.
    entry = result.locator(f'.bk-section[data-block-id="rootkey_finding:{account_id.group(1)}"]')
    expect(entry).to_contain_text("Fixed: key deleted, verified", timeout=WAIT)
    expect(entry).to_contain_text("UTC by re-audit")
    expect(entry).to_contain_text(FIXED)  # still named
    assert_emoji_shipped(entry, "white_check_mark")
    expect(buttons_of(result, FIXED)).to_have_count(0)
    expect(result.get_by_role("button", name="Request remediation")).to_have_count(
        len(ROOT_KEYS) - 1
    )
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "demo-verified.png"))
    picture(page.locator("#thread"), "approval-thread.png")  # the README's approval thread

    # The audit log (the product's own export of the bot's database) records who did what.
    page.click("#open-log")
    rows = page.locator("#log-root .log-table tbody tr")
    expect(rows.filter(has_text="verified")).to_have_count(1, timeout=WAIT)
    approved = rows.filter(has_text=ids.APPROVER.real_name).filter(has_text="approved")
    expect(approved.first).to_be_visible()
    expect(
        rows.filter(has_text=ids.REQUESTER.real_name).filter(has_text="requested").first
    ).to_be_visible()
    expect(rows.first).to_contain_text(account_id.group(1))
    # Plain text for auditors: names beside ids, no Slack markup (mentions, emoji codes).
    expect(approved.first).to_contain_text(f"({ids.APPROVER.user_id})")
    table = page.locator("#log-root .log-table")
    for markup in ("<@", "<!", ":key:", ":wastebasket:", ":white_check_mark:"):
        expect(table).not_to_contain_text(markup)
    page.keyboard.press("Escape")
    expect(page.locator("#log-root")).to_be_hidden()

    # A fresh audit agrees: the fixed account no longer has a finding.
    page.click("#thread-close")
    before = results.count()
    run(page, "/rootkey check all")
    latest_result(page, before)
    again = results.last
    expect(again.get_by_role("button", name="Request remediation")).to_have_count(
        len(ROOT_KEYS) - 1
    )
    expect(buttons_of(again, FIXED)).to_have_count(0)

    # The account's history shows the finding and the fix.
    replies = page.locator("#messages .msg.ephemeral:not(.command)")
    before = replies.count()
    run(page, f"/rootkey history {account_id.group(1)}")
    expect(replies).to_have_count(before + 1, timeout=WAIT)
    expect(replies.last).to_contain_text(account_id.group(1))
    page.screenshot(path=str(ARTIFACTS / "demo-after-fix.png"))


def test_digest_on_demand_with_chart_and_csv(page: Page) -> None:
    page.click(f'#channel-list button[data-channel="{ids.DIGEST.channel_id}"]')
    expect(page.locator("#channel-name")).to_have_text(f"#{ids.DIGEST.name}")
    posted = page.locator("#messages .msg:not(.ephemeral)")
    before = posted.count()
    run(page, "/rootkey digest")
    digest = posted.nth(before)  # (the scheduled 09:00 digest, should it land now, is alike)
    expect(digest).to_be_visible(timeout=WAIT)
    for name in set(ROOT_KEYS) - {FIXED}:
        expect(digest).to_contain_text(name)
    expect(digest).to_contain_text(MISSING_ROLE)
    # The trend chart and the CSV arrive in the digest's thread, uploaded as files.
    replies = digest.locator(".replies-link")
    expect(replies).to_be_visible(timeout=WAIT)
    replies.click()
    thread = page.locator("#thread-messages")
    chart = thread.locator(".file-image img")
    expect(chart).to_be_visible(timeout=WAIT)
    assert chart.evaluate("img => img.complete && img.naturalWidth > 0")
    # The remediation log's head, in the digest at the top of its thread, is shown whole: it is
    # what `log --verify --anchor ID:HASH` needs (its 64 hex digits ran off the pane's edge).
    head = thread.locator("code").filter(has_text=re.compile(r"^\d+:[0-9a-f]{64}$"))
    expect(head.first).to_be_visible(timeout=WAIT)
    pane = page.locator("#thread-messages").bounding_box()
    shown = head.first.bounding_box()
    assert pane and shown and shown["x"] + shown["width"] <= pane["x"] + pane["width"], (
        shown,
        pane,
    )
    csv_link = thread.locator(".file-doc a.file-name")
    expect(csv_link).to_be_visible(timeout=WAIT)
    href = csv_link.get_attribute("href")
    assert href
    body = page.request.get(urljoin(page.url, href)).text()
    for name in set(ROOT_KEYS) - {FIXED}:
        assert name in body
    page.screenshot(path=str(ARTIFACTS / "demo-digest.png"))


def test_page_shows_the_web_api_answer_of_an_unknown_command_privately(page: Page) -> None:
    act_as(page, ids.REQUESTER.user_id)
    private = page.locator("#messages .msg.ephemeral")
    before = private.count()
    run(page, "/rootkey <b>frobnicate</b>")
    expect(private).to_have_count(before + 2, timeout=WAIT)  # the typed command, then help
    # Typed markup is shown as text, never as HTML.
    expect(page.locator("#messages b", has_text="frobnicate")).to_have_count(0)
    expect(private.nth(before)).to_contain_text("<b>frobnicate</b>")


def test_closed_and_reloaded_tabs_are_normal(
    browser: BrowserContext, demo: DemoProcess, page: Page
) -> None:
    """Tabs closed or reloaded while their long poll is open; the next change answers those
    polls into closed connections (the demo fixture checks the terminal stayed quiet)."""
    for _ in range(3):
        extra = browser.new_page()
        extra.goto(demo.url)
        expect(extra.locator("#channel-name")).to_have_text("#security", timeout=WAIT)
        extra.close()
    page.reload()
    expect(page.locator("#channel-name")).to_have_text("#security", timeout=WAIT)
    private = page.locator("#messages .msg.ephemeral")
    before = private.count()
    run(page, "/rootkey help")  # a change: every open long poll is answered
    expect(private).to_have_count(before + 2, timeout=WAIT)
    # The page's own chrome needs no emoji font either (the app's conversation has a key).
    key = page.locator("#dm-list img.emoji").first
    expect(key).to_be_visible()
    assert key.evaluate("img => img.complete && img.naturalWidth > 0")
    assert not PICTOGRAPHS.findall(page.locator("body").inner_text())


def test_a_command_typed_before_the_page_has_its_state_is_sent(
    browser: BrowserContext, demo: DemoProcess
) -> None:
    """Typed while the page is still loading (its settings held back here, as on a slow
    network), a command is never cleared and lost: it is sent once the page can send it."""
    early = browser.new_page()
    problems: list[str] = []
    early.on("pageerror", lambda exc: problems.append(str(exc)))
    held: list[Route] = []
    early.route("**/ui/config", lambda route: held.append(route))
    try:
        early.goto(demo.url, wait_until="domcontentloaded")
        word = f"early{uuid.uuid4().hex[:8]}"
        run(early, f"/rootkey {word}")
        expect(early.locator("#composer-hint")).to_contain_text(word, timeout=WAIT)
        deadline = time.monotonic() + WAIT / 1000
        while not held and time.monotonic() < deadline:
            early.wait_for_timeout(50)  # the settings' request, held by the route
        assert held, "the page never asked for its settings"
        held[0].continue_()
        # The command went through: the bot's private answer names it.
        typed = early.locator("#messages .msg.ephemeral", has_text=word)
        expect(typed.first).to_be_visible(timeout=WAIT)
    finally:
        early.unroute("**/ui/config")
        early.close()
    assert not problems, f"errors in the page's script: {problems}"


# ---- the whole product: the Home tab, tracked mode, a real-time root-key alert --------------


def open_home(page: Page) -> Locator:
    """The app's entry under Apps opens its Home tab, as in Slack."""
    page.locator("#dm-list button").first.click()
    expect(page.locator('#app-tabs [data-tab="home"][aria-selected="true"]')).to_be_visible()
    home = page.locator("#home")
    expect(home).to_be_visible()
    return home


def approve_in_thread(page: Page) -> None:
    """The approver clicks Approve in the open thread and confirms, however the page asks."""
    page.locator("#thread").get_by_role("button", name="Approve", exact=True).click()
    dialog = page.locator("#confirm-root .dialog")
    asked = page.locator("#thread .msg.ephemeral").get_by_role("button", name="Approve deletion")
    expect(dialog.or_(asked).first).to_be_visible(timeout=WAIT)
    if dialog.is_visible():
        dialog.locator(".dialog-foot button").last.click()
    else:
        asked.last.click()


def root_activity(page: Page, account: str, action: str) -> None:
    """The simulation's control: the root user of ``account`` creates, uses or deletes a key."""
    page.select_option("#root-account", label=account)
    page.select_option("#root-action", action)
    page.click("#root-go")


def test_the_apps_entry_opens_the_home_tab_the_bot_publishes(page: Page) -> None:
    home = open_home(page)
    # Drawn from the view the bot published (views.publish) for the signed app_home_opened.
    expect(home).to_contain_text("The Organization now", timeout=WAIT)
    expect(home).to_contain_text("Open findings")
    expect(page.locator("#composer-form")).to_be_hidden()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "demo-home.png"))
    # A finding's button on the Home tab opens the same form as in a channel.
    home.get_by_role("button", name="Request remediation").first.click()
    modal = page.get_by_role("dialog", name="Request remediation")
    expect(modal).to_be_visible(timeout=WAIT)
    modal.get_by_role("button", name="Cancel").click()
    expect(page.locator("#modal-root")).to_be_hidden(timeout=WAIT)
    # The Messages tab is the conversation with the app.
    page.click('#app-tabs [data-tab="messages"]')
    expect(page.locator("#messages")).to_be_visible()
    expect(home).to_be_hidden()
    expect(page.locator("#composer-form")).to_be_visible()


def test_tracked_mode_a_root_key_alert_its_buttons_and_the_reaudit(page: Page) -> None:
    act_as(page, ids.REQUESTER.user_id)
    mode = page.locator("#sim-mode")
    expect(mode).to_contain_text("assume-root")
    page.click("#switch-mode")  # the bot restarts with ROOTKEY_REMEDIATION=tracked
    expect(mode).to_contain_text("tracked", timeout=WAIT)
    expect(page.locator("#switch-mode")).to_be_enabled(timeout=WAIT)

    # The root user of a compliant account creates an access key: the alert comes in real time.
    target = "prod-web"
    alerts = page.locator("#messages .msg", has_text="Root access key created")
    before = alerts.count()
    root_activity(page, target, "create")
    expect(alerts).to_have_count(before + 1, timeout=WAIT)
    alert = alerts.last
    expect(alert).to_contain_text(target)
    found = re.search(r"(\d{12})\D+" + target, alert.inner_text())
    assert found, alert.inner_text()
    account_id = found.group(1)
    page.screenshot(path=str(ARTIFACTS / "demo-alert.png"))

    # Audit now: the re-audit of that account agrees, the key is there.
    results = page.locator("#messages .msg:not(.ephemeral)", has=page.locator(".bk-actions"))
    count = results.count()
    alert.get_by_role("button", name="Audit now").click()
    expect(results).to_have_count(count + 1, timeout=WAIT)
    expect(
        buttons_of(results.last, target).get_by_role("button", name="Request remediation")
    ).to_be_visible(timeout=WAIT)

    # Request remediation from the alert, in tracked mode: the root user is asked to do it.
    alert.get_by_role("button", name="Request remediation").click()
    modal = page.get_by_role("dialog", name="Request remediation")
    expect(modal).to_be_visible(timeout=WAIT)
    expect(modal).to_contain_text("tracked", timeout=WAIT)
    expect(modal).not_to_contain_text("Looking up", timeout=WAIT)
    modal.get_by_label("Reason").fill("Created by mistake during the demo.")
    modal.locator(".modal-submit").click()
    expect(page.locator("#modal-root")).to_be_hidden(timeout=WAIT)
    expect(alert.locator(".replies-link")).to_be_visible(timeout=WAIT)
    alert.locator(".replies-link").click()
    act_as(page, ids.APPROVER.user_id)
    expect(page.locator("#thread").get_by_role("button", name="Approve", exact=True)).to_be_visible(
        timeout=WAIT
    )
    approve_in_thread(page)
    thread = page.locator("#thread-messages")
    expect(thread).to_contain_text("Only the root user can do this", timeout=WAIT)
    # The root user deletes the key: the deletion is alerted and the re-audit verifies it.
    root_activity(page, target, "delete")
    expect(thread).to_contain_text("verified", timeout=WAIT)
    page.screenshot(path=str(ARTIFACTS / "demo-tracked-verified.png"))
    page.click("#thread-close")

    # A key in use: the alert names the call.
    used = page.locator("#messages .msg", has_text="Root access key used")
    before = used.count()
    root_activity(page, "analytics", "use")
    expect(used).to_have_count(before + 1, timeout=WAIT)
    expect(used.last).to_contain_text("analytics")

    # AWS allows two access keys per root user: a third is refused, in one clear line.
    root_activity(page, "analytics", "create")
    expect(page.locator("#toast")).to_contain_text("two access keys", timeout=WAIT)

    # The Home tab lists the root activity of the last days.
    home = open_home(page)
    expect(home).to_contain_text(f"root key created in {account_id}", timeout=WAIT)
    page.click('#app-tabs [data-tab="messages"]')

    # Back to the production's other mode, as the demo starts.
    page.click("#switch-mode")
    expect(mode).to_contain_text("assume-root", timeout=WAIT)
    expect(page.locator("#switch-mode")).to_be_enabled(timeout=WAIT)


def test_the_digests_log_command_works_as_printed(page: Page, demo: DemoProcess) -> None:
    """The digest's ``python -m bot log --verify --anchor …``, run as printed from the clone,
    reads the demo's database (named in the terminal at start)."""
    page.click(f'#channel-list button[data-channel="{ids.DIGEST.channel_id}"]')
    posted = page.locator("#messages .msg:not(.ephemeral)")
    before = posted.count()
    run(page, "/rootkey digest")
    digest = posted.nth(before)
    command = digest.locator("code", has_text="--anchor")
    expect(command).to_be_visible(timeout=WAIT)
    printed = command.inner_text()
    assert "DATABASE_URL=sqlite:///" in demo.errors(), demo.errors()
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env["PATH"] = f"{Path(sys.executable).parent}:{env.get('PATH', '')}"
    done = subprocess.run(
        ["bash", "-c", printed],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, (printed, done.stdout, done.stderr)
    assert "no database" not in done.stderr
