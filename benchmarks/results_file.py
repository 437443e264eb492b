"""Sections of a shared markdown file (RESULTS.md) that different scripts own.

Several benchmark scripts report into RESULTS.md. Each one that adds a section wraps it
in a pair of HTML comments (invisible when the markdown is rendered), so it can rewrite
its own section without touching the rest, and so a script that rewrites the whole file
(``run.py``) can carry the other scripts' sections over.
"""

import re


def markers(name):
    """The opening and closing comment of section ``name``."""
    return f"<!-- begin {name} -->", f"<!-- end {name} -->"


def _pattern(name=None):
    name_re = re.escape(name) if name else r"[\w.-]+"
    return re.compile(
        rf"<!-- begin (?P<name>{name_re}) -->\n.*?<!-- end (?P=name) -->\n?", re.DOTALL)


def replace_section(text, name, lines):
    """``text`` with section ``name`` replaced by ``lines`` (appended if absent).

    Parameters
    ----------
    text : str
        The whole file.
    name : str
        The section's name, as in its markers.
    lines : list of str
        The section's new content, without markers.

    Returns
    -------
    str
        The new file content.
    """
    begin, end = markers(name)
    block = "\n".join([begin, *lines, end]) + "\n"
    found = _pattern(name).search(text)
    if found:
        return text[: found.start()] + block + text[found.end():]
    if text and not text.endswith("\n"):
        text += "\n"
    return text + ("\n" if text else "") + block


def keep_sections(old_text, new_text):
    """``new_text`` followed by every marked section of ``old_text`` it lacks.

    For scripts that regenerate the whole file: what other scripts wrote between their
    markers survives.
    """
    for found in _pattern().finditer(old_text):
        if markers(found.group("name"))[0] not in new_text:
            new_text = new_text.rstrip("\n") + "\n\n" + found.group(0)
    return new_text


def write_section(path, name, lines):
    """Replace section ``name`` of the file at ``path`` (created if missing)."""
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except FileNotFoundError:
        text = ""
    with open(path, "w", encoding="utf-8") as f:
        f.write(replace_section(text, name, lines))
