"""maxSurge and maxUnavailable scale a percentage of the replicas as Kubernetes rounds it."""

import pytest

from controlplane.api.intstr import is_percent, scaled_value


@pytest.mark.parametrize(("value", "total", "round_up", "expected"), [
    ("25%", 10, True, 3),     # maxSurge rounds up
    ("25%", 10, False, 2),    # maxUnavailable rounds down
    ("10%", 6, True, 1),
    ("20%", 6, False, 1),
    ("10%", 6, False, 0),
    ("0%", 10, True, 0),
    ("0%", 10, False, 0),
    ("100%", 7, True, 7),
    ("100%", 7, False, 7),
    ("50%", 3, True, 2),
    ("50%", 3, False, 1),
    ("25%", 0, True, 0),
    ("150%", 4, False, 6),
    ("-10%", 6, True, 0),
    ("+10%", 20, False, 2),
    (3, 10, True, 3),
    (0, 10, False, 0),
])
def test_percentages_scale_by_the_total_and_round_as_asked(
        value: int | str, total: int, round_up: bool, expected: int) -> None:
    assert scaled_value(value, total, round_up) == expected


@pytest.mark.parametrize(("value", "message"), [
    ("3", "invalid value for IntOrString: invalid type: string is not a percentage"),
    ("abc", "invalid value for IntOrString: invalid type: string is not a percentage"),
    ("x%", 'invalid value for IntOrString: invalid value "x%": strconv.Atoi: parsing "x": invalid syntax'),
    ("%", 'invalid value for IntOrString: invalid value "%": strconv.Atoi: parsing "": invalid syntax'),
    ("1.5%",
     'invalid value for IntOrString: invalid value "1.5%": strconv.Atoi: parsing "1.5": invalid syntax'),
    (" 5%", 'invalid value for IntOrString: invalid value " 5%": strconv.Atoi: parsing " 5": invalid syntax'),
    (True, "invalid value for IntOrString: invalid type: neither int nor percentage"),
])
def test_values_that_are_neither_int_nor_percentage_are_refused(value: object, message: str) -> None:
    with pytest.raises(ValueError) as refused:
        scaled_value(value, 10, True)  # type: ignore[arg-type]
    assert str(refused.value) == message


@pytest.mark.parametrize(("value", "expected"), [
    ("25%", True),
    ("0%", True),
    ("25", False),
    ("%", False),
    ("-5%", False),
    ("2.5%", False),
    (25, False),
])
def test_is_percent_recognises_digits_followed_by_percent(value: int | str, expected: bool) -> None:
    assert is_percent(value) is expected
