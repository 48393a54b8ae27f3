"""Lists and asides in messages, punctuated per language.

Chinese text takes full-width punctuation and no spaces between items: a list
joined with ", " or an aside in half-width "( )" reads as a mistake there.
Build such fragments with these helpers instead of joining English separators.
"""

from odoo.tools.misc import get_lang

# kind: (separator elsewhere, separator in Chinese)
_SEPARATORS = {
    "enum": (", ", "、"),  # short items: names, kinds
    "clause": ("; ", "；"),  # items that are phrases: milestones, reasons
    "sentence": (", ", "，"),  # parts of one sentence
}


def _is_chinese(env, lang_code=None):
    return (lang_code or env.lang or get_lang(env).code).startswith("zh")


def join_list(env, items, kind="enum", lang_code=None):
    """``items`` joined with the separator of ``kind`` in the language of ``env``.

    ``kind``: "enum" (、 in Chinese), "clause" (；) or "sentence" (，).
    """
    western, chinese = _SEPARATORS[kind]
    return (chinese if _is_chinese(env, lang_code) else western).join(str(item) for item in items)


def parenthesized(env, text, lang_code=None):
    """``text`` as an aside to append after a word: " (text)", or "（text）" in Chinese."""
    return f"（{text}）" if _is_chinese(env, lang_code) else f" ({text})"
