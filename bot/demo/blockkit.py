"""Block Kit (messages, modals) to HTML for the demo page. Used by nothing else in the product.

The output carries ``data-*`` attributes that the page's script reads to send clicks and modal
input back (as the signed payloads Slack would send). A block or element type this renderer
does not know is shown as a visible placeholder naming the type, never dropped silently.
All text goes through ``mrkdwn`` or ``plain``, which escape every character.
"""

from __future__ import annotations

from collections.abc import Iterable

from bot.demo.controls import Json, attrs, control_id, element_html, image, unknown
from bot.demo.mrkdwn import Directory, esc, mrkdwn, plain, text_object


def rich_text_elements(elements: object, names: Directory) -> str:
    out = []
    for item in elements if isinstance(elements, list) else []:
        if not isinstance(item, dict):
            continue
        kind = item.get("type")
        if kind == "text":
            piece = plain(item.get("text", ""), emoji=False).replace("\n", "<br>")
            style = item.get("style") or {}
            for flag, tag in (("code", "code"), ("bold", "b"), ("italic", "i"), ("strike", "s")):
                if style.get(flag):
                    piece = f"<{tag}>{piece}</{tag}>"
            out.append(piece)
        elif kind == "link":
            out.append(mrkdwn(f"<{item.get('url', '')}|{item.get('text') or item.get('url', '')}>"))
        elif kind == "user":
            out.append(mrkdwn(f"<@{item.get('user_id', '')}>", names))
        elif kind == "channel":
            out.append(mrkdwn(f"<#{item.get('channel_id', '')}>", names))
        elif kind == "usergroup":
            out.append(mrkdwn(f"<!subteam^{item.get('usergroup_id', '')}>", names))
        elif kind == "broadcast":
            out.append(mrkdwn(f"<!{item.get('range', 'here')}>", names))
        elif kind == "emoji":
            out.append(plain(f":{item.get('name', '')}:"))
        else:
            out.append(unknown("rich text element", kind))
    return "".join(out)


def rich_text(block: Json, names: Directory) -> str:
    parts = []
    for section in block.get("elements") or []:
        if not isinstance(section, dict):
            continue
        kind = section.get("type")
        inner = rich_text_elements(section.get("elements"), names)
        if kind == "rich_text_section":
            parts.append(f"<div>{inner}</div>")
        elif kind == "rich_text_preformatted":
            parts.append(f"<pre>{inner}</pre>")
        elif kind == "rich_text_quote":
            parts.append(f'<div class="quote">{inner}</div>')
        elif kind == "rich_text_list":
            tag = "ol" if section.get("style") == "ordered" else "ul"
            items = "".join(
                f"<li>{rich_text_elements(s.get('elements'), names)}</li>"
                for s in section.get("elements") or []
                if isinstance(s, dict)
            )
            parts.append(f"<{tag}>{items}</{tag}>")
        else:
            parts.append(unknown("rich text part", kind))
    return f'<div class="bk-rich">{"".join(parts)}</div>'


def block_html(block: object, names: Directory, people: Iterable[tuple[str, str]] = ()) -> str:
    if not isinstance(block, dict):
        return unknown("block", type(block).__name__)
    people = list(people)
    kind = block.get("type")
    block_id = str(block.get("block_id", ""))
    bid = attrs(block_id=block_id)
    if kind == "section":
        body = ""
        if block.get("text"):
            body += f'<div class="bk-text">{text_object(block["text"], names)}</div>'
        if block.get("fields"):
            fields = "".join(
                f'<div class="bk-field">{text_object(f, names)}</div>' for f in block["fields"]
            )
            body += f'<div class="bk-fields">{fields}</div>'
        accessory = block.get("accessory")
        side = (
            f'<div class="bk-accessory">{element_html(accessory, block_id, names, people)}</div>'
            if accessory
            else ""
        )
        return f'<div class="bk-section" {bid}><div class="bk-main">{body}</div>{side}</div>'
    if kind == "header":
        return f'<div class="bk-header" {bid}>{text_object(block.get("text", ""), names)}</div>'
    if kind == "divider":
        return f'<hr class="bk-divider" {bid}>'
    if kind == "context":
        items = []
        for element in block.get("elements") or []:
            if isinstance(element, dict) and element.get("type") == "image":
                items.append(image(element, "bk-context-image"))
            else:
                items.append(f"<span>{text_object(element, names)}</span>")
        return f'<div class="bk-context" {bid}>{"".join(items)}</div>'
    if kind == "actions":
        buttons = "".join(
            element_html(e, block_id, names, people) for e in block.get("elements") or []
        )
        return f'<div class="bk-actions" {bid}>{buttons}</div>'
    if kind == "image":
        title = block.get("title")
        caption = f'<div class="bk-image-title">{text_object(title, names)}</div>' if title else ""
        return f'<div class="bk-image" {bid}>{caption}{image(block, "bk-image-img")}</div>'
    if kind == "input":
        optional = block.get("optional")
        label = text_object(block.get("label", ""), names)
        hint = block.get("hint")
        field = control_id(block_id)
        return (
            f'<div class="bk-input-block" {bid}>'
            f'<label class="bk-label" id="{esc(field)}-label" for="{esc(field)}">{label}'
            + ('<span class="bk-optional"> (optional)</span>' if optional else "")
            + "</label>"
            + element_html(block.get("element"), block_id, names, people, field)
            + (f'<div class="bk-hint">{text_object(hint, names)}</div>' if hint else "")
            + '<div class="bk-error" role="alert" hidden></div></div>'
        )
    if kind == "rich_text":
        return rich_text(block, names)
    if kind == "file":
        return (
            f'<div class="bk-file-ref" {bid}>{plain("File " + str(block.get("file_id", "")))}</div>'
        )
    return unknown("block", kind)


def blocks_html(blocks: object, names: Directory, people: Iterable[tuple[str, str]] = ()) -> str:
    if not isinstance(blocks, list):
        return unknown("blocks value", type(blocks).__name__)
    people = list(people)
    return "".join(block_html(b, names, people) for b in blocks)


def attachment_html(attachment: object, names: Directory) -> str:
    if not isinstance(attachment, dict):
        return unknown("attachment", type(attachment).__name__)
    color = str(attachment.get("color", ""))
    palette = {"good": "#2eb67d", "warning": "#ecb22e", "danger": "#e01e5a"}
    color = palette.get(color, color)
    safe_color = (
        color
        if color.startswith("#") and all(c in "0123456789abcdefABCDEF" for c in color[1:])
        else "#dddddd"
    )
    parts = []
    if attachment.get("pretext"):
        parts.append(f'<div class="att-pretext">{mrkdwn(attachment["pretext"], names)}</div>')
    if attachment.get("title"):
        parts.append(f'<div class="att-title">{plain(attachment["title"])}</div>')
    if attachment.get("text"):
        parts.append(f'<div class="att-text">{mrkdwn(attachment["text"], names)}</div>')
    for field in attachment.get("fields") or []:
        if isinstance(field, dict):
            parts.append(
                f'<div class="att-field"><b>{plain(field.get("title", ""))}</b><br>'
                f"{mrkdwn(field.get('value', ''), names)}</div>"
            )
    if attachment.get("blocks"):
        parts.append(blocks_html(attachment["blocks"], names))
    if attachment.get("footer"):
        parts.append(f'<div class="bk-context">{mrkdwn(attachment["footer"], names)}</div>')
    return f'<div class="attachment" style="border-left-color:{safe_color}">{"".join(parts)}</div>'


def size_label(size: object) -> str:
    if not isinstance(size, int):
        return ""
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KB"
    return f"{size / 1024 / 1024:.1f} MB"


def file_html(file: object) -> str:
    if not isinstance(file, dict):
        return unknown("file", type(file).__name__)
    file_id = str(file.get("id", ""))
    name = str(file.get("title") or file.get("name") or file_id)
    href = f"/files/{esc(file_id)}"
    if (
        str(file.get("mimetype", "")).startswith("image/")
        and file.get("mimetype") != "image/svg+xml"
    ):
        return (
            f'<div class="file file-image"><div class="file-name">{plain(name)}</div>'
            f'<a href="{href}" target="_blank" rel="noopener"><img src="{href}" alt="{esc(name)}">'
            f"</a></div>"
        )
    kind = str(file.get("filetype") or file.get("name", "").rpartition(".")[2] or "file").upper()
    return (
        f'<div class="file file-doc"><div class="file-icon">{esc(kind[:4])}</div>'
        f'<div><a class="file-name" href="{href}" target="_blank" rel="noopener">{plain(name)}</a>'
        f'<div class="file-meta">{esc(size_label(file.get("size")))} · '
        f'<a href="{href}?download=1">Download</a></div></div></div>'
    )


def message_body(message: Json, names: Directory, people: Iterable[tuple[str, str]] = ()) -> str:
    """What Slack shows for a message: its blocks (else its text), attachments and files."""
    parts = []
    blocks = message.get("blocks")
    if blocks:
        parts.append(blocks_html(blocks, names, people))
    elif message.get("text"):
        if message.get("mrkdwn") is False:
            parts.append(f'<div class="bk-text">{plain(message["text"])}</div>')
        else:
            parts.append(f'<div class="bk-text">{mrkdwn(message["text"], names)}</div>')
    for attachment in message.get("attachments") or []:
        parts.append(attachment_html(attachment, names))
    files = message.get("files") or []
    if files:
        parts.append('<div class="files">' + "".join(file_html(f) for f in files) + "</div>")
    return "".join(parts)


def view_html(view: Json, names: Directory, people: Iterable[tuple[str, str]] = ()) -> str:
    """A modal: title, blocks, close and submit buttons."""
    if view.get("type") != "modal":
        return unknown("view type", view.get("type"))
    title = text_object(view.get("title", ""), names)
    submit = view.get("submit")
    close = view.get("close") or {"type": "plain_text", "text": "Cancel"}
    footer = (
        f'<button type="button" class="bk-button modal-close">{text_object(close, names)}</button>'
    )
    if submit:
        footer += (
            f'<button type="button" class="bk-button bk-primary modal-submit">'
            f"{text_object(submit, names)}</button>"
        )
    return (
        f'<div class="modal" role="dialog" aria-modal="true" aria-labelledby="modal-title" '
        f"{attrs(view_id=view.get('id'), view_hash=view.get('hash'))}>"
        f'<div class="modal-head"><span class="modal-title" id="modal-title">{title}</span>'
        f'<button type="button" class="modal-x" aria-label="Close">×</button></div>'
        f'<div class="modal-body">{blocks_html(view.get("blocks") or [], names, people)}</div>'
        f'<div class="modal-foot">{footer}</div></div>'
    )


def home_html(view: Json, names: Directory, people: Iterable[tuple[str, str]] = ()) -> str:
    """A Home tab (``views.publish``): its blocks on the app's page, no title or buttons of
    its own; a click on one of its elements names the view, as Slack's payload does."""
    if view.get("type") != "home":
        return unknown("view type", view.get("type"))
    return (
        f'<div class="home-view" {attrs(view_id=view.get("id"), view_hash=view.get("hash"))}>'
        f"{blocks_html(view.get('blocks') or [], names, people)}</div>"
    )
