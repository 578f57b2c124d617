"""Resource quantities read and print as in Kubernetes: exact, rounded up, canonical."""

from decimal import Decimal

import pytest

from controlplane.api.quantity import QuantityError, format_quantity, milli_value, parse_quantity, value

FORMAT_WRONG = "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
BAD_SUFFIX = "unable to parse quantity's suffix"


@pytest.mark.parametrize(("text", "amount"), [
    # cpu
    ("400m", "0.4"),
    ("0.5", "0.5"),
    ("1", "1"),
    ("2.5", "2.5"),
    ("100u", "0.0001"),
    ("5n", "0.000000005"),
    # memory
    ("64Mi", "67108864"),
    ("128974848", "128974848"),
    ("129e6", "129000000"),
    ("129M", "129000000"),
    ("123Mi", "128974848"),
    ("1Gi", "1073741824"),
    ("1.5Gi", "1610612736"),
    ("0.5Ki", "512"),
    (".5", "0.5"),
    ("1.", "1"),
    ("1k", "1000"),
    ("1E", "1000000000000000000"),
    ("12E6", "12000000"),
    ("1e3", "1000"),
    ("1e+3", "1000"),
    ("1e-3", "0.001"),
    ("2Ti", "2199023255552"),
    ("1Pi", "1125899906842624"),
    ("1Ei", "1152921504606846976"),
    ("4P", "4000000000000000"),
    ("2T", "2000000000000"),
    # signs and zeros
    ("0", "0"),
    ("000", "0"),
    ("-0", "0"),
    ("+5", "5"),
    ("-500m", "-0.5"),
    ("-1Gi", "-1073741824"),
])
def test_quantities_parse_to_their_exact_amount(text: str, amount: str) -> None:
    assert parse_quantity(text) == Decimal(amount)


@pytest.mark.parametrize(("text", "amount"), [
    ("0.1n", "0.000000001"),
    ("1.0000000001", "1.000000001"),
    ("-0.1n", "-0.000000001"),
    ("1e-20", "0.000000001"),
])
def test_amounts_finer_than_a_nano_unit_round_up_away_from_zero(text: str, amount: str) -> None:
    assert parse_quantity(text) == Decimal(amount)


def test_binary_quantities_are_capped_at_the_int64_maximum() -> None:
    assert parse_quantity("100Ei") == Decimal(2**63 - 1)
    assert parse_quantity("-100Ei") == Decimal(-(2**63 - 1))


@pytest.mark.parametrize(("raw", "amount"), [
    (3, "3"),
    (-2, "-2"),
    (0.5, "0.5"),
    (0.1, "0.1"),
    (1e-05, "0.00001"),
    (1e16, "10000000000000000"),
])
def test_numbers_from_yaml_parse_as_their_shortest_text(raw: int | float, amount: str) -> None:
    assert parse_quantity(raw) == Decimal(amount)


@pytest.mark.parametrize(("text", "message"), [
    ("1.2.3", FORMAT_WRONG),
    ("abc", FORMAT_WRONG),
    ("5MiB", FORMAT_WRONG),
    ("", FORMAT_WRONG),
    (" 1", FORMAT_WRONG),
    ("1 ", FORMAT_WRONG),
    ("1+1.0M", FORMAT_WRONG),
    ("1.1.M", FORMAT_WRONG),
    ("+", FORMAT_WRONG),
    ("Mi", FORMAT_WRONG),
    ("5K", BAD_SUFFIX),
    ("5mi", BAD_SUFFIX),
    ("1i", BAD_SUFFIX),
    ("1e", BAD_SUFFIX),
    ("1e+", BAD_SUFFIX),
    ("5Mm", BAD_SUFFIX),
])
def test_malformed_quantities_are_refused_with_kubernetes_message(text: str, message: str) -> None:
    with pytest.raises(QuantityError) as refused:
        parse_quantity(text)
    assert str(refused.value) == message


@pytest.mark.parametrize("raw", [float("nan"), float("inf"), True, None])
def test_values_that_are_not_quantities_are_refused(raw: object) -> None:
    with pytest.raises(QuantityError):
        parse_quantity(raw)  # type: ignore[arg-type]


@pytest.mark.parametrize(("text", "millis", "units"), [
    ("400m", 400, 1),
    ("0.5", 500, 1),
    ("1", 1000, 1),
    ("2", 2000, 2),
    ("100u", 1, 1),
    ("1n", 1, 1),
    ("0", 0, 0),
    ("64Mi", 67108864000, 67108864),
    ("1.0001", 1001, 2),
    ("-1.5", -1500, -2),
    ("-100u", -1, -1),
])
def test_milli_value_and_value_round_up(text: str, millis: int, units: int) -> None:
    amount = parse_quantity(text)
    assert milli_value(amount) == millis
    assert value(amount) == units


@pytest.mark.parametrize(("amount", "text"), [
    ("0.5", "500m"),
    ("0.4", "400m"),
    ("1", "1"),
    ("1.5", "1500m"),
    ("0", "0"),
    ("1000", "1k"),
    ("1500", "1500"),
    ("100000", "100k"),
    ("129000000", "129M"),
    ("128974848", "128974848"),
    ("67108864", "67108864"),
    ("0.0001", "100u"),
    ("0.000000001", "1n"),
    ("0.0000000001", "1n"),
    ("1e18", "1E"),
    ("1e21", "1e21"),
    ("-0.5", "-500m"),
    ("1E+3", "1k"),
])
def test_decimal_format_is_the_largest_suffix_that_keeps_the_number_whole(amount: str, text: str) -> None:
    assert format_quantity(Decimal(amount)) == text


@pytest.mark.parametrize(("amount", "text"), [
    ("1073741824", "1Gi"),
    ("67108864", "64Mi"),
    ("128974848", "123Mi"),
    ("1610612736", "1536Mi"),
    ("1024", "1Ki"),
    ("1023", "1023"),
    ("512", "512"),
    ("1000", "1k"),
    ("1500", "1500"),
    ("0.5", "500m"),
    ("1536.5", "1536500m"),
    ("1152921504606846976", "1Ei"),
    ("-1073741824", "-1Gi"),
])
def test_binary_format_uses_binary_suffixes_only_when_exact_and_at_least_1ki(amount: str, text: str) -> None:
    assert format_quantity(Decimal(amount), binary=True) == text


@pytest.mark.parametrize(("text", "binary"), [
    ("400m", False), ("64Mi", True), ("1Gi", True), ("129M", False), ("128974848", False), ("1536Mi", True),
])
def test_canonical_text_reads_back_unchanged(text: str, binary: bool) -> None:
    assert format_quantity(parse_quantity(text), binary=binary) == text
