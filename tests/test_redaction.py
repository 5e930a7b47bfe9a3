import pytest

from resolver.redaction import MASK, redact, redact_code


@pytest.mark.parametrize(
    "text",
    [
        "my password is Hunter2!x",
        "pw: hello123",
        "password=Sup3rSecret",
        "my new passcode will be Tr0ub4dor&3",
        "token ghp_abcdefghijklmnopqrstu123",
        "key AKIAABCDEFGHIJKLMNOP",
        "card 4111 1111 1111 1111",
        "password is hunterhunter",
    ],
)
def test_secrets_are_masked(text: str) -> None:
    masked = redact(text)
    assert MASK in masked
    secret = text.split()[-1].split("=")[-1]
    assert secret not in masked


@pytest.mark.parametrize(
    "text",
    [
        "I forgot my password",
        "my password expired",
        "password reset please",
        "my password is wrong",
        "reset my pw",
    ],
)
def test_ordinary_sentences_are_untouched(text: str) -> None:
    assert redact(text) == text


def test_a_bare_code_is_masked_when_a_code_is_expected() -> None:
    assert redact_code(" 123456 ") == MASK
    assert redact_code("yes") == "yes"
