"""Block Kit elements (buttons, selects, inputs, images) to HTML for the demo page.

The blocks around them are ``bot.demo.blockkit``'s. A type this renderer does not know is shown
as a visible placeholder naming it, never dropped silently; all text is escaped.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlparse

from bot.demo.mrkdwn import Directory, esc, plain, text_object

Json = dict[str, Any]
IMAGE_HOSTS = {"127.0.0.1", "localhost"}
TEXT_INPUTS = {
    "plain_text_input": "text",
    "url_text_input": "url",
    "email_text_input": "email",
    "number_input": "number",
}
SELECTS = {"static_select", "external_select", "multi_static_select", "multi_external_select"}
PICKERS = {
    "users_select": "users",
    "multi_users_select": "users",
    "conversations_select": "channels",
    "multi_conversations_select": "channels",
    "channels_select": "channels",
    "multi_channels_select": "channels",
}


def unknown(kind: str, what: object) -> str:
    return (
        f'<div class="bk-unknown" title="not rendered by the demo page">'
        f"Unsupported {kind}: <code>{esc(str(what))}</code></div>"
    )


def control_id(block_id: str) -> str:
    """The HTML id of an input block's control (block ids are unique within a view), so its
    label is tied to it (``<label for>``) and a screen reader names the field."""
    return "field-" + re.sub(r"[^A-Za-z0-9_-]", "_", block_id)


def id_attr(html_id: str | None) -> str:
    return f' id="{esc(html_id)}"' if html_id else ""


def attrs(**values: object) -> str:
    """``data-*`` attributes, escaped; None values left out."""
    out = []
    for key, value in values.items():
        if value is None:
            continue
        name = "data-" + key.replace("_", "-")
        out.append(f'{name}="{esc(value if isinstance(value, str) else json.dumps(value))}"')
    return " ".join(out)


def image_src(element: Json) -> str | None:
    """Only the demo's own files and local URLs are loaded: the page reaches nothing else."""
    slack_file = element.get("slack_file")
    if isinstance(slack_file, dict) and slack_file.get("id"):
        return f"/files/{slack_file['id']}"
    url = element.get("image_url") or (slack_file or {}).get("url")
    if not isinstance(url, str):
        return None
    if url.startswith("/files/"):
        return url
    parsed = urlparse(url)
    if parsed.scheme in ("http", "https") and parsed.hostname in IMAGE_HOSTS:
        return url
    return None


def image(element: Json, css: str) -> str:
    alt = str(element.get("alt_text", ""))
    src = image_src(element)
    if src is None:
        note = "external image, not loaded by the demo"
        return f'<span class="{css} bk-image-off" title="{note}">{plain(alt)}</span>'
    return f'<img class="{css}" src="{esc(src)}" alt="{esc(alt)}" loading="lazy">'


def option_label(option: Json, names: Directory) -> str:
    return text_object(option.get("text", ""), names)


def options_of(element: Json) -> list[Json]:
    options = list(element.get("options") or [])
    for group in element.get("option_groups") or []:
        options.extend(group.get("options") or [])
    return [o for o in options if isinstance(o, dict)]


def confirm_dialog(confirm: object, names: Directory) -> str:
    if not isinstance(confirm, dict):
        return ""
    return (
        f'<div class="bk-confirm" hidden {attrs(style=confirm.get("style"))}>'
        f'<div class="bk-confirm-title">{text_object(confirm.get("title", "Are you sure?"), names)}'
        f"</div>"
        f'<div class="bk-confirm-text">{text_object(confirm.get("text", ""), names)}</div>'
        f'<span class="bk-confirm-yes">{text_object(confirm.get("confirm", "Yes"), names)}</span>'
        f'<span class="bk-confirm-no">{text_object(confirm.get("deny", "Cancel"), names)}</span>'
        f"</div>"
    )


def button(element: Json, block_id: str, names: Directory) -> str:
    style = element.get("style")
    css = "bk-button" + (f" bk-{style}" if style in ("primary", "danger") else "")
    data = attrs(
        action_id=element.get("action_id"),
        block_id=block_id,
        type="button",
        url=element.get("url") if str(element.get("url", "")).startswith("http") else None,
    )
    label = text_object(element.get("text", ""), names)
    return (
        f'<span class="bk-button-wrap"><button type="button" class="{css}" {data}>{label}</button>'
        f"{confirm_dialog(element.get('confirm'), names)}</span>"
    )


def picks(kind: str, people: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """What a picker offers: a users picker people only (user ids), a channel or
    conversation picker channels only."""
    users = PICKERS[kind] == "users"
    return (
        [(v, t) for v, t in people if v[:1] in ("U", "W")]
        if users
        else [(v, t) for v, t in people if v[:1] in ("C", "G")]
    )


def select(
    element: Json,
    block_id: str,
    names: Directory,
    people: Iterable[tuple[str, str]],
    html_id: str | None = None,
) -> str:
    kind = element.get("type", "")
    multi = kind.startswith("multi_")
    if kind in PICKERS:
        options: list[Json] = [
            {"value": v, "text": {"type": "plain_text", "text": t}} for v, t in picks(kind, people)
        ]
        initial = {
            element.get("initial_user"),
            element.get("initial_conversation"),
            element.get("initial_channel"),
            *(element.get("initial_users") or []),
            *(element.get("initial_conversations") or []),
            *(element.get("initial_channels") or []),
        }
    else:
        options = options_of(element)
        chosen = [element.get("initial_option"), *list(element.get("initial_options") or [])]
        initial = {o.get("value") for o in chosen if isinstance(o, dict)}
    placeholder = element.get("placeholder")
    rows = []
    if not multi:
        label = plain((placeholder or {}).get("text", "Select…")) if placeholder else "Select…"
        rows.append(
            f'<option value="" disabled{"" if initial - {None} else " selected"}>{label}</option>'
        )
    for option in options:
        value = str(option.get("value", ""))
        selected = " selected" if value in initial else ""
        label = (
            plain(option.get("text", {}).get("text", value))
            if isinstance(option.get("text"), dict)
            else plain(value)
        )
        rows.append(f'<option value="{esc(value)}"{selected}>{label}</option>')
    data = attrs(action_id=element.get("action_id"), block_id=block_id, type=kind)
    return (
        f'<select class="bk-select"{id_attr(html_id)} {data}{" multiple" if multi else ""}>'
        f"{''.join(rows)}</select>"
    )


def choice_list(element: Json, block_id: str, names: Directory, html_id: str | None = None) -> str:
    kind = element["type"]
    box = "checkbox" if kind == "checkboxes" else "radio"
    chosen = [element.get("initial_option"), *list(element.get("initial_options") or [])]
    initial = {o.get("value") for o in chosen if isinstance(o, dict)}
    data = attrs(action_id=element.get("action_id"), block_id=block_id, type=kind)
    group = esc(f"{block_id}/{element.get('action_id')}")
    rows = []
    for option in options_of(element):
        value = str(option.get("value", ""))
        checked = " checked" if value in initial else ""
        description = option.get("description")
        rows.append(
            f'<label class="bk-choice"><input type="{box}" name="{group}" value="{esc(value)}"'
            f"{checked}> <span>{option_label(option, names)}"
            + (f"<small>{text_object(description, names)}</small>" if description else "")
            + "</span></label>"
        )
    group_of = (
        f' role="group" aria-labelledby="{esc(html_id)}-label"{id_attr(html_id)}' if html_id else ""
    )
    return f'<div class="bk-choices"{group_of} {data}>{"".join(rows)}</div>'


def text_input(element: Json, block_id: str, html_id: str | None = None) -> str:
    kind = element["type"]
    data = (
        id_attr(html_id)
        + " "
        + attrs(action_id=element.get("action_id"), block_id=block_id, type=kind)
    )
    placeholder = element.get("placeholder")
    hint = f' placeholder="{esc((placeholder or {}).get("text", ""))}"' if placeholder else ""
    initial = element.get("initial_value")
    limits = "".join(
        f' {html_attr}="{int(element[key])}"'
        for key, html_attr in (("max_length", "maxlength"), ("min_length", "minlength"))
        if isinstance(element.get(key), int)
    )
    if kind == "plain_text_input" and element.get("multiline"):
        return (
            f'<textarea class="bk-input" rows="3" {data}{hint}{limits}>'
            f"{esc(str(initial or ''))}</textarea>"
        )
    value = f' value="{esc(str(initial))}"' if initial is not None else ""
    html_type = TEXT_INPUTS[kind]
    step = "" if element.get("is_decimal_allowed") or html_type != "number" else ' step="1"'
    return f'<input class="bk-input" type="{html_type}" {data}{hint}{value}{limits}{step}>'


def date_input(element: Json, block_id: str, html_id: str | None = None) -> str:
    kind = element["type"]
    data = (
        id_attr(html_id)
        + " "
        + attrs(action_id=element.get("action_id"), block_id=block_id, type=kind)
    )
    if kind == "datepicker":
        initial = element.get("initial_date")
        value = f' value="{esc(initial)}"' if isinstance(initial, str) else ""
        return f'<input class="bk-input bk-date" type="date" {data}{value}>'
    if kind == "timepicker":
        initial = element.get("initial_time")
        value = f' value="{esc(initial)}"' if isinstance(initial, str) else ""
        return f'<input class="bk-input bk-date" type="time" {data}{value}>'
    return f'<input class="bk-input bk-date" type="datetime-local" {data}>'


def element_html(
    element: object,
    block_id: str,
    names: Directory,
    people: Iterable[tuple[str, str]],
    html_id: str | None = None,
) -> str:
    if not isinstance(element, dict):
        return unknown("element", type(element).__name__)
    kind = element.get("type")
    if kind == "button":
        return button(element, block_id, names)
    if kind == "image":
        return image(element, "bk-accessory-image")
    if kind in SELECTS or kind in PICKERS:
        return select(element, block_id, names, people, html_id)
    if kind == "overflow":
        as_select = dict(element, type="static_select", placeholder={"text": "⋯"})
        return select(as_select, block_id, names, people).replace(
            'data-type="static_select"', 'data-type="overflow"'
        )
    if kind in ("radio_buttons", "checkboxes"):
        return choice_list(element, block_id, names, html_id)
    if kind in TEXT_INPUTS:
        return text_input(element, block_id, html_id)
    if kind in ("datepicker", "timepicker", "datetimepicker"):
        return date_input(element, block_id, html_id)
    return unknown("element", kind)
