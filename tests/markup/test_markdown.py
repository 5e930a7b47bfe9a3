"""The engine's markdown as plain text (CLI, SMS, plain e-mail), and lists closed for the
renderers that show it (Ask IT)."""

import pytest

from markup.markdown import close_lists, plain_text


@pytest.mark.parametrize(
    ("markdown", "plain"),
    [
        (
            "**Fix a printer**\n1. Open **Settings** > **Printers**",
            "Fix a printer\n1. Open Settings > Printers",
        ),
        ("press __Ctrl__ and *then* _Enter_", "press Ctrl and then Enter"),
        ("run `ipconfig /all`", "run ipconfig /all"),
        ("see [the guide](https://it.example/vpn)", "see the guide (https://it.example/vpn)"),
        ("<https://it.example>", "<https://it.example>"),
        ("## Steps\n- one\n- two", "Steps\n- one\n- two"),
        (r"2 \* 3 and a\_b", "2 * 3 and a_b"),
        ("snake_case_id, 2 * 3 = 6, a*b*c", "snake_case_id, 2 * 3 = 6, a*b*c"),
        (
            "Your temporary password is below.\n\naB3!#%+=?@xY9zQ7",
            "Your temporary password is below.\n\naB3!#%+=?@xY9zQ7",
        ),
        ("#hashtag and ** not bold **", "#hashtag and ** not bold **"),
    ],
)
def test_plain_text_drops_the_marks_and_keeps_the_words(markdown: str, plain: str) -> None:
    assert plain_text(markdown) == plain


def test_a_sentence_after_a_list_is_kept_out_of_its_last_item() -> None:
    menu = "Which one?\n1. unlock your account\n2. reset your password\nReply with a number."
    assert close_lists(menu) == (
        "Which one?\n1. unlock your account\n2. reset your password\n\nReply with a number."
    )
    bullets = "Your tickets:\n- INC1 (new): VPN\n- INC2 (closed): printer\nAsk me any time."
    assert close_lists(bullets).endswith("printer\n\nAsk me any time.")


@pytest.mark.parametrize(
    "markdown",
    [
        "1. one\n2. two\n\nAfter.",  # already closed
        "1. one\n   still the first item\n2. two",  # an indented continuation stays
        "No list here.\nJust lines.",
        "",
    ],
)
def test_closing_lists_leaves_the_rest_alone(markdown: str) -> None:
    assert close_lists(markdown) == markdown
