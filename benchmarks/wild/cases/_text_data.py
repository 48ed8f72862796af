"""A bundled character corpus instead of Tiny Shakespeare's input.txt (1.1M characters, 65
symbols): the English help texts shipped with Python (pydoc_data.topics), first 1.1M characters
restricted to printable ASCII."""
import string


def shakespeare_like(n_chars: int = 1_115_394) -> str:
    from pydoc_data.topics import topics
    text = "\n".join(topics[k] for k in sorted(topics))
    keep = set(string.ascii_letters + string.digits + " \n.,;:!?'-&$3")
    text = "".join(ch for ch in text if ch in keep)
    while len(text) < n_chars:
        text = text + text
    return text[:n_chars]
