"""The demo page's Block Kit renderer: known blocks, visible placeholders for unknown ones, and
no way for message text to put HTML into the page."""

from __future__ import annotations

from html.parser import HTMLParser

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.demo.blockkit import blocks_html, message_body, view_html
from bot.demo.controls import element_html
from bot.demo.mrkdwn import Directory, mrkdwn, plain

NAMES = Directory(users={"U0DEMOAPR1": "Alex Morgan"}, channels={"C0DEMOSEC1": "security"})
ALLOWED_TAGS = {
    "a", "b", "i", "s", "br", "code", "pre", "span", "div", "hr", "button", "img", "select",
    "option", "input", "textarea", "label", "small", "ul", "ol", "li",
}  # fmt: skip
ALLOWED_ATTRS = {
    "class", "href", "target", "rel", "title", "src", "alt", "loading", "type", "value",
    "name", "placeholder", "rows", "hidden", "style", "checked", "selected", "disabled",
    "multiple", "maxlength", "minlength", "step", "aria-label", "aria-hidden",
    "id", "for", "role", "aria-modal", "aria-labelledby", "draggable",
}  # fmt: skip


class Tags(HTMLParser):
    """Every tag and attribute in a piece of HTML, as a browser would parse it."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text += data


def parse(html: str) -> Tags:
    parser = Tags()
    parser.feed(html)
    parser.close()
    return parser


def assert_safe(html: str) -> None:
    for tag, attrs in parse(html).tags:
        assert tag in ALLOWED_TAGS, (tag, html)
        for name, value in attrs.items():
            assert name in ALLOWED_ATTRS or name.startswith("data-"), (name, html)
            if name == "href":
                assert (value or "").startswith(("http://", "https://", "mailto:", "/files/"))
            if name == "style":
                assert "url(" not in (value or "") and "expression" not in (value or "")


def section(text: str, **extra: object) -> dict[str, object]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}, **extra}


# -- known blocks ---------------------------------------------------------------------------


def test_a_result_message_renders_its_header_fields_context_and_buttons() -> None:
    blocks = [
        {"type": "header", "text": {"type": "plain_text", "text": "Root keys in 2 of 13"}},
        section(
            "*111111111111* · legacy-billing",
            block_id="finding:111111111111",
            fields=[{"type": "mrkdwn", "text": "*Age*\n2150 days"}],
            accessory={
                "type": "button",
                "action_id": "request",
                "text": {"type": "plain_text", "text": "Request remediation"},
                "style": "danger",
                "value": "111111111111",
            },
        ),
        {"type": "context", "elements": [{"type": "mrkdwn", "text": "asked by <@U0DEMOAPR1>"}]},
        {"type": "divider"},
        {
            "type": "actions",
            "block_id": "decide",
            "elements": [
                {
                    "type": "button",
                    "action_id": "approve",
                    "style": "primary",
                    "text": {"type": "plain_text", "text": "Approve"},
                    "confirm": {
                        "title": {"type": "plain_text", "text": "Delete the key?"},
                        "text": {"type": "mrkdwn", "text": "This *cannot* be undone."},
                        "confirm": {"type": "plain_text", "text": "Approve"},
                        "deny": {"type": "plain_text", "text": "Cancel"},
                    },
                }
            ],
        },
    ]
    html = blocks_html(blocks, NAMES)
    assert_safe(html)
    doc = parse(html)
    assert "Root keys in 2 of 13" in doc.text
    assert "2150 days" in doc.text
    assert "@Alex Morgan" in doc.text  # mentions show names, not ids
    buttons = [attrs for tag, attrs in doc.tags if tag == "button"]
    assert [b["data-action-id"] for b in buttons] == ["request", "approve"]
    assert buttons[0]["data-block-id"] == "finding:111111111111"
    assert "bk-danger" in (buttons[0]["class"] or "") and "bk-primary" in (
        buttons[1]["class"] or ""
    )
    assert "Delete the key?" in doc.text and any(
        "bk-confirm" in (a.get("class") or "") for _, a in doc.tags
    )
    assert "<b>cannot</b>" in html
    assert ("hr", {"class": "bk-divider"}) in [(t, {"class": a.get("class")}) for t, a in doc.tags]


def test_mrkdwn_formats_links_mentions_code_and_quotes() -> None:
    html = mrkdwn(
        "*bold* _it_ ~gone~ `AKIA****` <https://example.com/runbook|runbook> "
        "<#C0DEMOSEC1> <!here> :white_check_mark:\n> quoted\n```two\nlines```",
        NAMES,
    )
    assert "<b>bold</b>" in html and "<i>it</i>" in html and "<s>gone</s>" in html
    assert "<code>AKIA****</code>" in html
    assert '<a href="https://example.com/runbook" target="_blank"' in html
    assert "#security" in html and "@here" in html
    # the emoji is the page's own image, not a character needing a colour emoji font
    [icon] = [a for t, a in parse(html).tags if t == "img"]
    assert icon["src"] == "/static/emoji/white_check_mark.svg"
    assert icon["alt"] == ":white_check_mark:" and "✅" not in html
    assert '<span class="quote">quoted</span>' in html
    assert "<pre>two\nlines</pre>" in html


def test_slack_entities_are_shown_as_the_characters_they_stand_for() -> None:
    doc = parse(mrkdwn("keys &lt; 1 &amp;&amp; MFA &gt; 0"))
    assert doc.text == "keys < 1 && MFA > 0"


def test_a_thread_message_with_files_links_them_and_shows_images() -> None:
    message = {
        "text": "digest",
        "files": [
            {"id": "F1", "name": "trend.png", "title": "30 days", "mimetype": "image/png"},
            {"id": "F2", "name": "digest.csv", "mimetype": "text/csv", "size": 2048},
        ],
    }
    html = message_body(message, NAMES)
    assert_safe(html)
    tags = parse(html).tags
    assert ("img", "/files/F1") in [(t, a.get("src")) for t, a in tags]
    hrefs = [a.get("href") for t, a in tags if t == "a"]
    assert "/files/F2" in hrefs and "/files/F2?download=1" in hrefs
    assert "2.0 KB" in parse(html).text


def test_a_modal_renders_its_inputs_with_ids_the_page_submits() -> None:
    view = {
        "type": "modal",
        "id": "V1",
        "hash": "h1",
        "title": {"type": "plain_text", "text": "Request remediation"},
        "submit": {"type": "plain_text", "text": "Request"},
        "blocks": [
            {
                "type": "input",
                "block_id": "reason",
                "label": {"type": "plain_text", "text": "Reason"},
                "element": {"type": "plain_text_input", "action_id": "text", "multiline": True},
            },
            {
                "type": "input",
                "block_id": "mode",
                "optional": True,
                "label": {"type": "plain_text", "text": "Mode"},
                "element": {
                    "type": "static_select",
                    "action_id": "pick",
                    "options": [
                        {"text": {"type": "plain_text", "text": "Delete"}, "value": "delete"}
                    ],
                },
            },
        ],
    }
    html = view_html(view, NAMES)
    assert_safe(html)
    tags = parse(html).tags
    fields = {(a.get("data-block-id"), a.get("data-action-id")) for _, a in tags}
    assert ("reason", "text") in fields and ("mode", "pick") in fields
    assert ("textarea", "plain_text_input") in [(t, a.get("data-type")) for t, a in tags]
    assert "(optional)" in parse(html).text
    assert any("modal-submit" in (a.get("class") or "") for _, a in tags)
    # a dialog named by its title; each label tied to its control
    [dialog] = [a for _, a in tags if a.get("role") == "dialog"]
    assert dialog["aria-modal"] == "true"
    [title] = [a for _, a in tags if a.get("id") == dialog["aria-labelledby"]]
    assert "modal-title" in (title.get("class") or "")
    labels = {a["for"]: a for t, a in tags if t == "label" and a.get("for")}
    controls = {a.get("id"): (t, a) for t, a in tags if t in ("textarea", "select", "input")}
    assert controls[next(k for k in labels if "reason" in k)][1]["data-block-id"] == "reason"
    assert controls[next(k for k in labels if "mode" in k)][1]["data-block-id"] == "mode"


def test_a_users_picker_offers_people_and_a_channel_picker_channels() -> None:
    people = [("U0DEMOREQ1", "Riley Chen"), ("C0DEMOSEC1", "#security")]
    users = {"type": "users_select", "action_id": "owner"}
    channels = {"type": "conversations_select", "action_id": "where"}
    offered = {}
    for element in (users, channels):
        html = element_html(element, "b", NAMES, people)
        assert_safe(html)
        offered[element["type"]] = [
            a["value"] for t, a in parse(html).tags if t == "option" and a.get("value")
        ]
    assert offered == {"users_select": ["U0DEMOREQ1"], "conversations_select": ["C0DEMOSEC1"]}


# -- unknown types are visible --------------------------------------------------------------


def test_an_unknown_block_is_a_visible_placeholder_naming_its_type() -> None:
    html = blocks_html([section("before"), {"type": "carousel"}, section("after")], NAMES)
    doc = parse(html)
    assert "before" in doc.text and "after" in doc.text
    assert "Unsupported block" in doc.text and "carousel" in doc.text
    assert any("bk-unknown" in (a.get("class") or "") for _, a in doc.tags)


def test_an_unknown_element_is_a_visible_placeholder_too() -> None:
    html = blocks_html(
        [{"type": "actions", "elements": [{"type": "rating_stars", "action_id": "x"}]}], NAMES
    )
    assert "Unsupported element" in parse(html).text and "rating_stars" in html


def test_malformed_blocks_do_not_break_the_page() -> None:
    for blocks in ([None], ["text"], [{"type": "section", "fields": [None, 3]}], "not a list"):
        assert_safe(blocks_html(blocks, NAMES))  # type: ignore[arg-type]


# -- escaping -------------------------------------------------------------------------------

HOSTILE = [
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "<javascript:alert(1)|click me>",
    "<data:text/html,<b>x</b>|x>",
    "&lt;img src=x onerror=alert(1)&gt;",
    "*<b>bold</b>*",
    '<@U0DEMOAPR1|"><svg onload=alert(1)>>',
    "\ue0000\ue001",
    "`<i>code</i>` ```<pre></pre>```",
]


def test_message_text_never_becomes_html() -> None:
    for text in HOSTILE:
        for html in (
            mrkdwn(text, NAMES),
            plain(text),
            blocks_html([section(text), {"type": "header", "text": {"text": text}}], NAMES),
            message_body({"text": text, "attachments": [{"title": text, "color": text}]}, NAMES),
        ):
            assert_safe(html)
            assert "<script" not in html and "<img src=x" not in html


def test_a_javascript_link_is_shown_as_text_not_as_a_link() -> None:
    html = mrkdwn("<javascript:alert(1)|click me>")
    assert not [t for t, _ in parse(html).tags if t == "a"]
    assert "javascript:alert(1)" in parse(html).text


def test_an_external_image_is_not_loaded() -> None:
    html = blocks_html(
        [{"type": "image", "image_url": "https://tracker.example/p.png", "alt_text": "chart"}],
        NAMES,
    )
    assert not [t for t, _ in parse(html).tags if t == "img"]
    assert "chart" in parse(html).text


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from([*"<>&|*_~`:@#!^\"' \nabcU0123/.=", "\ue000"])))
def test_any_text_renders_to_safe_html(text: str) -> None:
    assert_safe(mrkdwn(text, NAMES))
    assert_safe(blocks_html([section(text)], NAMES))
    rendered = parse(plain(text)).text
    assert rendered == text.replace("\ue000", "") or ":" in text  # emoji codes may change
