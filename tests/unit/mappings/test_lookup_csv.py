"""A lookup table's CSV import: the columns are checked before anything is shown, and what
the preview says is what Apply does."""

import pytest
from django import forms

from mappings.lookup_csv import apply, changes, read_csv
from mappings.models import LookupEntry, LookupTable


def refusal(text: str) -> str:
    with pytest.raises(forms.ValidationError) as refused:
        read_csv(text)
    return " ".join(refused.value.messages)


def test_a_one_column_file_is_refused_with_the_reason():
    message = refusal("WIDGET-1\nWIDGET-2\nWIDGET-3\n")

    assert message.startswith("Nothing imported: the file has one column")
    assert "a lookup row needs two, the key and its value" in message


def test_a_line_with_one_column_among_two_column_lines_is_named():
    assert refusal("WIDGET-1,ITM-1\nWIDGET-2\nWIDGET-3,ITM-3,extra\n") == (
        "Nothing imported: line 2 has one column, not two (key, value); line 3 has 3 columns, "
        "not two (key, value)."
    )


def test_semicolons_and_a_header_naming_the_columns_are_understood():
    read = read_csv("Description;value;key\nBlue widget;ITM-1;W-1\nRed one;;W-2\n")

    assert read.rows == [("W-1", "ITM-1"), ("W-2", "")]
    assert read.ignored_columns == ["Description"]
    assert read.empty_values == ["W-2"]


def test_a_trailing_comma_is_an_empty_value_not_a_missing_column():
    assert read_csv("key,value\nA,1,,\nB,\n").rows == [("A", "1"), ("B", "")]


def test_empty_keys_and_repeated_keys_are_named():
    assert refusal("key,value\n,07\nA,1\na,2\n") == (
        "Nothing imported: line 2 has no key; line 4 repeats the key “a”."
    )


@pytest.mark.django_db
def test_the_preview_counts_are_what_apply_does():
    table = LookupTable.objects.create(name="Terms")
    LookupEntry.objects.bulk_create(
        LookupEntry(table=table, key=key, value=value)
        for key, value in (("Net 30", "01"), ("Net 60", "02"), ("COD", "00"))
    )
    rows = read_csv("key,value\nnet 30,01\nNet 60,03\nNet 90,04\n").rows

    preview = changes(table, rows, replace=True)
    done = apply(table, rows, replace=True)

    assert preview == done
    assert preview.added == [("Net 90", "04")]
    assert preview.changed == [("net 30", "01", "01"), ("Net 60", "02", "03")]
    assert preview.removed == [("COD", "00")]
    assert dict(table.entries.values_list("key", "value")) == {
        "net 30": "01", "Net 60": "03", "Net 90": "04",
    }  # fmt: skip
