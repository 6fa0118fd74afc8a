"""Text that none of the secret patterns could match is passed over without RE2 (`MARKS`):
the shortcut must never pass over text that one of them matches."""

from hypothesis import example, given, settings
from hypothesis import strategies as st

from flows.redaction import ANY_PATTERN, MARKS, REDACTED, redact_text

# Pieces of the patterns, so that generated text often comes close to one.
PIECES = st.sampled_from([
    "token", "password", "Bearer ", "bearer\t", "eyJ", "00D", "://", "@", "<", ">", "</",
    "sessionId", "=", ":", "!", '"', "'", "\\", " ", ".", "-", "_", "abcdefgh12345678",
    "A1b2C3d4E5f6G7h8", "https", "pwd", "sig",
])  # fmt: skip
TEXT = st.lists(st.one_of(PIECES, st.text(max_size=4)), max_size=12).map("".join)


@settings(max_examples=400, deadline=None)
@given(TEXT)
@example("Bearer abcdefghijklmnop")
@example("eyJhbGciOiJI.eyJzdWIiOiIx.sig")
@example("00D5g000004ABCD!AQ4AQFakeSessionIdValue1234567890")
def test_text_a_pattern_matches_always_holds_a_mark(text):
    if ANY_PATTERN.search(text):
        assert any(mark in text for mark in MARKS)


def test_plain_values_come_back_as_they_are_and_secrets_still_go():
    for plain in ("ACME Corp", "WIDGET-140", "1200.50", "Box 7 · SO 0000123", ""):
        assert redact_text(plain) == plain
    assert redact_text("sent Bearer abcdefghijklmnop1234") == f"sent Bearer {REDACTED}"
    masked = redact_text("eyJhbGciOiJIUzI1.eyJzdWIiOiIxMjM0.abc")
    assert "eyJzdWIiOiIxMjM0" not in masked
