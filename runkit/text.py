"""Names from users' data (folder names, file names, a CIFAR meta file) shown as data, never as markup or
control: one escape per place a name is written."""

MATHTEXT = str.maketrans({"$": r"\$"})  # matplotlib reads $...$ as mathtext; an escaped dollar is a dollar
# Markdown's active characters mid-line (tags, entities, links, emphasis, code, tables, GitHub's $math$): each
# backslash-escaped, which CommonMark allows for any ASCII punctuation
MARKDOWN = str.maketrans({c: "\\" + c for c in "\\`*_[]<>&|~$"})


def printable(text) -> str:
    """`text` for one terminal line: newlines, escape sequences, other control characters and bytes that are
    not UTF-8 (a file name's surrogates) written as Python escapes."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in str(text))


def markdown(text) -> str:
    """`text` for a Markdown table cell or line: one line, shown as written (no tags, links, emphasis or
    column borders)."""
    return printable(text).translate(MARKDOWN)


def plot_label(text) -> str:
    """`text` for a matplotlib label: one line, dollars as dollars (no mathtext)."""
    return printable(text).translate(MATHTEXT)
