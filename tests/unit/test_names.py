"""Names and values are checked as Kubernetes checks them, with Kubernetes' words."""

import pytest

from controlplane.api import names

SUBDOMAIN_ERROR = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', "
    "and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation "
    r"is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
)
LABEL_ERROR = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start "
    "and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is "
    "'[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
)
DNS1035_ERROR = (
    "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic "
    "character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for "
    "validation is '[a-z]([-a-z0-9]*[a-z0-9])?')"
)
NAME_PART_ERROR = (
    "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
    "alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is "
    "'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
)
LABEL_VALUE_ERROR = (
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and "
    "must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', "
    "regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
)
ENV_VAR_ERROR = (
    "a valid environment variable name must consist of alphabetic characters, digits, '_', '-', or '.', "
    "and must not start with a digit (e.g. 'my.env-name',  or 'MY_ENV.NAME',  or 'MyEnvName1', regex used "
    "for validation is '[-._a-zA-Z][-._a-zA-Z0-9]*')"
)
C_IDENTIFIER_ERROR = (
    "a valid C identifier must start with alphabetic character or '_', followed by a string of "
    "alphanumeric characters or '_' (e.g. 'my_name',  or 'MY_NAME',  or 'MyName', regex used for "
    "validation is '[A-Za-z_][A-Za-z0-9_]*')"
)
CONFIG_KEY_ERROR = (
    "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or "
    "'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')"
)


@pytest.mark.parametrize(("value", "expected"), [
    ("web", []),
    ("web-1.default.svc", []),
    ("0abc", []),
    ("a" * 253, []),
    ("a" * 254, ["must be no more than 253 characters"]),
    ("Web", [SUBDOMAIN_ERROR]),
    ("web_1", [SUBDOMAIN_ERROR]),
    ("-web", [SUBDOMAIN_ERROR]),
    ("web.", [SUBDOMAIN_ERROR]),
    ("web..x", [SUBDOMAIN_ERROR]),
    ("", [SUBDOMAIN_ERROR]),
    ("web\n", [SUBDOMAIN_ERROR]),
])
def test_dns1123_subdomain_accepts_object_names_and_explains_refusals(
        value: str, expected: list[str]) -> None:
    assert names.dns1123_subdomain(value) == expected


@pytest.mark.parametrize(("value", "expected"), [
    ("default", []),
    ("team-a", []),
    ("1st", []),
    ("a" * 63, []),
    ("a" * 64, ["must be no more than 63 characters"]),
    ("team.a", ["must not contain dots"]),
    ("Team", [LABEL_ERROR]),
    ("team-", [LABEL_ERROR]),
    ("", [LABEL_ERROR]),
])
def test_dns1123_label_refuses_dots_with_a_specific_message(value: str, expected: list[str]) -> None:
    assert names.dns1123_label(value) == expected


@pytest.mark.parametrize(("value", "expected"), [
    ("web", []),
    ("web-svc2", []),
    ("1web", [DNS1035_ERROR]),
    ("web.svc", [DNS1035_ERROR]),
    ("a" * 64, ["must be no more than 63 characters"]),
])
def test_dns1035_label_requires_a_leading_letter_for_service_names(value: str, expected: list[str]) -> None:
    assert names.dns1035_label(value) == expected


@pytest.mark.parametrize(("value", "expected"), [
    ("app", []),
    ("App.Name_1", []),
    ("app.kubernetes.io/name", []),
    ("a" * 63, []),
    ("a" * 64, ["name part must be no more than 63 characters"]),
    ("bad key", [NAME_PART_ERROR]),
    ("-app", [NAME_PART_ERROR]),
    ("/app", ["prefix part must be non-empty"]),
    ("example.com/", ["name part must be non-empty", NAME_PART_ERROR]),
    ("Example.com/app", ["prefix part " + SUBDOMAIN_ERROR]),
    ("a/b/c", [
        "a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must start and end "
        "with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for "
        "validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix "
        "and '/' (e.g. 'example.com/MyName')"]),
])
def test_qualified_name_checks_prefix_and_name_parts_of_label_keys(value: str, expected: list[str]) -> None:
    assert names.qualified_name(value) == expected


@pytest.mark.parametrize(("value", "expected"), [
    ("", []),
    ("web", []),
    ("v1.2_3-rc", []),
    ("a" * 63, []),
    ("a" * 64, ["must be no more than 63 characters"]),
    ("-web", [LABEL_VALUE_ERROR]),
    ("web app", [LABEL_VALUE_ERROR]),
    ("a/b", [LABEL_VALUE_ERROR]),
])
def test_label_value_may_be_empty_but_not_malformed(value: str, expected: list[str]) -> None:
    assert names.label_value(value) == expected


@pytest.mark.parametrize(("port", "expected"), [
    (1, []),
    (80, []),
    (65535, []),
    (0, ["must be between 1 and 65535, inclusive"]),
    (65536, ["must be between 1 and 65535, inclusive"]),
    (-1, ["must be between 1 and 65535, inclusive"]),
])
def test_port_number_is_between_1_and_65535(port: int, expected: list[str]) -> None:
    assert names.port_number(port) == expected


@pytest.mark.parametrize(("name", "expected"), [
    ("http", []),
    ("http-alt", []),
    ("h2c", []),
    ("a" * 15, []),
    ("a" * 16, ["must be no more than 15 characters"]),
    ("HTTP", ["must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)",
              "must contain at least one letter (a-z)"]),
    ("8080", ["must contain at least one letter (a-z)"]),
    ("http--alt", ["must not contain consecutive hyphens"]),
    ("-http", ["must not begin or end with a hyphen"]),
    ("http-", ["must not begin or end with a hyphen"]),
    ("web_ui", ["must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)"]),
])
def test_port_name_follows_iana_service_name_rules(name: str, expected: list[str]) -> None:
    assert names.port_name(name) == expected


@pytest.mark.parametrize(("name", "expected"), [
    ("PATH", []),
    ("my.env-name", []),
    ("_private", []),
    ("1ST", [ENV_VAR_ERROR]),
    ("A=B", [ENV_VAR_ERROR]),
    ("", [ENV_VAR_ERROR]),
    (".", ["must not be '.'"]),
    ("..", ["must not be '..'"]),
    ("..hidden", ["must not start with '..'"]),
])
def test_env_var_name_allows_dots_and_dashes_but_no_leading_digit(name: str, expected: list[str]) -> None:
    assert names.env_var_name(name) == expected


@pytest.mark.parametrize(("name", "expected"), [
    ("my_name", []),
    ("MyName1", []),
    ("1name", [C_IDENTIFIER_ERROR]),
    ("my-name", [C_IDENTIFIER_ERROR]),
])
def test_c_identifier_is_letters_digits_and_underscores(name: str, expected: list[str]) -> None:
    assert names.c_identifier(name) == expected


@pytest.mark.parametrize(("key", "expected"), [
    ("config.yaml", []),
    ("KEY_NAME", []),
    ("a" * 253, []),
    ("a" * 254, ["must be no more than 253 characters"]),
    ("conf/app.yaml", [CONFIG_KEY_ERROR]),
    ("", [CONFIG_KEY_ERROR]),
    ("..data", ["must not start with '..'"]),
])
def test_config_map_key_is_a_safe_file_name(key: str, expected: list[str]) -> None:
    assert names.config_map_key(key) == expected
