"""Checks shared by every area: labels, selectors, ports, IPs, quantities, and how values print.

Each check takes the value and its field path and returns a list of `FieldError`s (empty when the
value is fine), so an area's validator reads as a sequence of `errors += check(value, path)`.
Messages are Kubernetes' own (apimachinery's `util/validation` and `meta/v1/validation`).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal

from controlplane.api import names
from controlplane.api.errors import FieldError, go_repr
from controlplane.api.labels import SelectorError, selector_from_label_selector
from controlplane.api.quantity import QuantityError, format_quantity, parse_quantity
from controlplane.api.v1 import meta_pb2

NameCheck = Callable[[str], list[str]]

IS_NEGATIVE = "must be greater than or equal to 0"
FIELD_IMMUTABLE = "field is immutable"
PROTOCOLS = ("SCTP", "TCP", "UDP")

_WILDCARD_DNS1123_FMT = r"\*\.[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*"
_WILDCARD_DNS1123_RE = re.compile(_WILDCARD_DNS1123_FMT)
_WILDCARD_DNS1123_MSG = ("a wildcard DNS-1123 subdomain must start with '*.', followed by a valid DNS subdomain, "
                         "which must consist of lower case alphanumeric characters, '-' or '.' and end with an "
                         "alphanumeric character")
_PERCENT_FMT = "[0-9]+%"
_PERCENT_RE = re.compile(_PERCENT_FMT)
_PERCENT_MSG = "a valid percent string must be a numeric string followed by an ending '%'"
_HTTP_HEADER_FMT = "[-A-Za-z0-9]+"
_HTTP_HEADER_RE = re.compile(_HTTP_HEADER_FMT)
_HTTP_HEADER_MSG = "a valid HTTP header must consist of alphanumeric characters or '-'"
_HTTP_PATH_FMT = r"[A-Za-z0-9/\-._~%!$&'()*+,;=:]+"
_HTTP_PATH_RE = re.compile(_HTTP_PATH_FMT)
_IP_MSG = "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)"
_CIDR_MSG = "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)"


class GoLiteral:
    """A value shown verbatim in an error, as Go's %#v shows a struct (`v1.LabelSelector{...}`)."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __str__(self) -> str:
        return self.text


# ---------------------------------------------------------------------------------------- paths


def child(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def index(path: str, i: int) -> str:
    return f"{path}[{i}]"


def key(path: str, k: str) -> str:
    return f"{path}[{k}]"


# ---------------------------------------------------------------------------------------- generic


def invalid_each(path: str, value: object, problems: Iterable[str]) -> list[FieldError]:
    """One Invalid error per problem a name check found."""
    return [FieldError.invalid(path, value, problem) for problem in problems]


def check_name(check: NameCheck, value: str, path: str) -> list[FieldError]:
    return invalid_each(path, value, check(value))


def required_name(check: NameCheck, value: str, path: str) -> list[FieldError]:
    """A name that must be present and well formed."""
    if not value:
        return [FieldError.required(path)]
    return check_name(check, value, path)


def nonnegative(value: int, path: str) -> list[FieldError]:
    return [FieldError.invalid(path, value, IS_NEGATIVE)] if value < 0 else []


def one_of(value: str, supported: Iterable[str], path: str, *, required: bool = True) -> list[FieldError]:
    """Required when empty (if `required`), Unsupported when not among `supported`."""
    allowed = tuple(supported)
    if not value:
        return [FieldError.required(path)] if required else []
    if value not in allowed:
        return [FieldError.unsupported(path, value, allowed)]
    return []


def immutable(new: object, old: object, path: str, shown: object | None = None) -> list[FieldError]:
    if new == old:
        return []
    return [FieldError.immutable(path, new if shown is None else shown)]


# ---------------------------------------------------------------------------------------- labels


def validate_labels(labels: Mapping[str, str], path: str) -> list[FieldError]:
    """Kubernetes' ValidateLabels: every key a qualified name, every value a label value."""
    errors: list[FieldError] = []
    for label_key, value in sorted(labels.items()):
        errors += check_name(names.qualified_name, label_key, path)
        errors += check_name(names.label_value, value, path)
    return errors


ANNOTATIONS_SIZE_LIMIT = 256 * (1 << 10)


def validate_annotations(annotations: Mapping[str, str], path: str) -> list[FieldError]:
    errors: list[FieldError] = []
    for annotation_key in sorted(annotations):
        errors += invalid_each(path, annotation_key, names.qualified_name(annotation_key.lower()))
    size = sum(len(k.encode()) + len(v.encode()) for k, v in annotations.items())
    if size > ANNOTATIONS_SIZE_LIMIT:
        errors.append(FieldError.too_long(path, ANNOTATIONS_SIZE_LIMIT))
    return errors


_SELECTOR_OPERATORS = ("In", "NotIn", "Exists", "DoesNotExist")


def validate_label_selector(selector: meta_pb2.LabelSelector, path: str) -> list[FieldError]:
    """Kubernetes' ValidateLabelSelector (label values in expressions checked strictly)."""
    errors = validate_labels(selector.match_labels, child(path, "matchLabels"))
    for i, expression in enumerate(selector.match_expressions):
        at = index(child(path, "matchExpressions"), i)
        values_path = child(at, "values")
        if expression.operator in ("In", "NotIn"):
            if not expression.values:
                errors.append(FieldError.required(values_path, "must be specified when `operator` is 'In' or 'NotIn'"))
        elif expression.operator in ("Exists", "DoesNotExist"):
            if expression.values:
                errors.append(FieldError.forbidden(
                    values_path, "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"))
        else:
            errors.append(FieldError.invalid(child(at, "operator"), expression.operator,
                                             "not a valid selector operator"))
        errors += check_name(names.qualified_name, expression.key, child(at, "key"))
        for j, value in enumerate(expression.values):
            errors += check_name(names.label_value, value, index(values_path, j))
    return errors


def selector_matches(selector: meta_pb2.LabelSelector, labels: Mapping[str, str]) -> bool | None:
    """Whether a (present) LabelSelector selects `labels`; None when the selector is not valid."""
    try:
        parsed = selector_from_label_selector(
            dict(selector.match_labels),
            [(e.key, e.operator, tuple(e.values)) for e in selector.match_expressions])
    except SelectorError:
        return None
    return parsed.matches(labels)


def selector_is_empty(selector: meta_pb2.LabelSelector) -> bool:
    return not selector.match_labels and not selector.match_expressions


def label_map(labels: Mapping[str, str]) -> dict[str, str]:
    """Labels in Go's printing order (sorted keys), for go_repr."""
    return dict(sorted(labels.items()))


def label_selector_literal(selector: meta_pb2.LabelSelector | None) -> GoLiteral:
    """A LabelSelector as Kubernetes prints it in an error (`v1.LabelSelector{MatchLabels:...}`)."""
    if selector is None:
        return GoLiteral('"null"')
    match_labels = (go_repr(label_map(selector.match_labels)) if selector.match_labels
                    else "map[string]string(nil)")
    if selector.match_expressions:
        items = ", ".join(
            f'v1.LabelSelectorRequirement{{Key:{go_repr(e.key)}, Operator:{go_repr(e.operator)}, '
            f'Values:{go_repr(list(e.values)) if e.values else "[]string(nil)"}}}'
            for e in selector.match_expressions)
        expressions = "[]v1.LabelSelectorRequirement{" + items + "}"
    else:
        expressions = "[]v1.LabelSelectorRequirement(nil)"
    return GoLiteral(f"v1.LabelSelector{{MatchLabels:{match_labels}, MatchExpressions:{expressions}}}")


# ---------------------------------------------------------------------------------------- ports


def port_number(port: int, path: str) -> list[FieldError]:
    return invalid_each(path, port, names.port_number(port))


def int_or_string_value(value: meta_pb2.IntOrString) -> int | str:
    """The int or the string an IntOrString holds (0 when it holds neither)."""
    return value.str_val if value.WhichOneof("value") == "str_val" else value.int_val


def port_num_or_name(value: meta_pb2.IntOrString, path: str) -> list[FieldError]:
    """Kubernetes' ValidatePortNumOrName: a port number 1-65535 or an IANA_SVC_NAME."""
    port = int_or_string_value(value)
    if isinstance(port, str):
        return invalid_each(path, port, names.port_name(port))
    return port_number(port, path)


def protocol(value: str, path: str) -> list[FieldError]:
    return one_of(value, PROTOCOLS, path)


# ---------------------------------------------------------------------------------------- percent


def percent_problems(value: str) -> list[str]:
    if _PERCENT_RE.fullmatch(value):
        return []
    return [names.regex_error(_PERCENT_MSG, _PERCENT_FMT, "1%", "93%")]


def percent_value(value: meta_pb2.IntOrString) -> int | None:
    """The number of a valid percentage ("25%" -> 25); None when the value is not a percentage."""
    raw = int_or_string_value(value)
    if isinstance(raw, str) and not percent_problems(raw):
        return int(raw[:-1])
    return None


def int_or_percent_value(value: meta_pb2.IntOrString) -> int:
    """Kubernetes' getIntOrPercentValue: the percentage's number, else the int (0 for a bad string)."""
    percent = percent_value(value)
    if percent is not None:
        return percent
    raw = int_or_string_value(value)
    return raw if isinstance(raw, int) else 0


def shown_int_or_string(value: meta_pb2.IntOrString) -> int | str:
    return int_or_string_value(value)


def positive_int_or_percent(value: meta_pb2.IntOrString, path: str) -> list[FieldError]:
    """Kubernetes' ValidatePositiveIntOrPercent: a non-negative int or a valid percentage."""
    raw = int_or_string_value(value)
    if isinstance(raw, str):
        return invalid_each(path, raw, percent_problems(raw))
    return nonnegative(raw, path)


def not_more_than_100_percent(value: meta_pb2.IntOrString, path: str) -> list[FieldError]:
    percent = percent_value(value)
    if percent is None or percent <= 100:
        return []
    return [FieldError.invalid(path, int_or_string_value(value), "must not be greater than 100%")]


# ---------------------------------------------------------------------------------------- DNS


def wildcard_dns1123_subdomain(value: str) -> list[str]:
    problems = []
    if len(value.encode()) > names.DNS1123_SUBDOMAIN_MAX_LENGTH:
        problems.append(names.max_len_error(names.DNS1123_SUBDOMAIN_MAX_LENGTH))
    if not _WILDCARD_DNS1123_RE.fullmatch(value):
        problems.append(names.regex_error(_WILDCARD_DNS1123_MSG, _WILDCARD_DNS1123_FMT, "*.example.com"))
    return problems


def http_header_name(value: str) -> list[str]:
    if _HTTP_HEADER_RE.fullmatch(value):
        return []
    return [names.regex_error(_HTTP_HEADER_MSG, _HTTP_HEADER_FMT, "X-Header-Name")]


def domain_prefixed_path(value: str, path: str) -> list[FieldError]:
    """Kubernetes' IsDomainPrefixedPath (an IngressClass controller such as `k8s.io/ingress-nginx`)."""
    if not value:
        return [FieldError.required(path)]
    host, slash, rest = value.partition("/")
    if not slash or not host or not rest:
        return [FieldError.invalid(path, value, 'must be a domain-prefixed path (such as "acme.io/foo")')]
    errors = invalid_each(path, host, names.dns1123_subdomain(host))
    if not _HTTP_PATH_RE.fullmatch(rest):
        errors.append(FieldError.invalid(path, rest, names.regex_error("Invalid path", _HTTP_PATH_FMT)))
    return errors


def fully_qualified_domain_name(value: str, path: str) -> list[FieldError]:
    """Kubernetes' IsFullyQualifiedDomainName (an FQDN EndpointSlice address)."""
    if not value:
        return [FieldError.required(path)]
    name = value.removesuffix(".")
    problems = names.dns1123_subdomain(name)
    if problems:
        return [FieldError.invalid(path, name, ",".join(problems))]
    labels = name.split(".")
    if len(labels) < 2:
        return [FieldError.invalid(path, name, "should be a domain with at least two segments separated by dots")]
    for label in labels:
        label_problems = names.dns1123_label(label)
        if label_problems:
            return [FieldError.invalid(path, label, ",".join(label_problems))]
    return []


# ---------------------------------------------------------------------------------------- IPs


def parse_ip(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(value)
    except ValueError:
        return None


def valid_ip(value: str, path: str) -> list[FieldError]:
    return [] if parse_ip(value) is not None else [FieldError.invalid(path, value, _IP_MSG)]


def valid_ipv4(value: str, path: str) -> list[FieldError]:
    ip = parse_ip(value)
    return [] if isinstance(ip, ipaddress.IPv4Address) else [
        FieldError.invalid(path, value, "must be a valid IPv4 address")]


def valid_ipv6(value: str, path: str) -> list[FieldError]:
    ip = parse_ip(value)
    return [] if isinstance(ip, ipaddress.IPv6Address) else [
        FieldError.invalid(path, value, "must be a valid IPv6 address")]


def valid_cidr(value: str, path: str) -> list[FieldError]:
    try:
        ipaddress.ip_network(value, strict=False)
    except ValueError:
        return [FieldError.invalid(path, value, _CIDR_MSG)]
    return [] if "/" in value else [FieldError.invalid(path, value, _CIDR_MSG)]


def non_special_ip(value: str, path: str) -> list[FieldError]:
    """Kubernetes' ValidateNonSpecialIP, except that loopback addresses are accepted: kubelab's
    tests run daemons (and host-network pods) on 127.0.0.0/8."""
    ip = parse_ip(value)
    if ip is None:
        return [FieldError.invalid(path, value, "must be a valid IP address")]
    errors = []
    if ip.is_unspecified:
        errors.append(FieldError.invalid(path, value, f"may not be unspecified ({value})"))
    if ip.is_link_local:
        errors.append(FieldError.invalid(path, value, "may not be in the link-local range (169.254.0.0/16, fe80::/10)"))
    if ip.is_multicast and (ip in ipaddress.ip_network("224.0.0.0/24") or ip in ipaddress.ip_network("ff02::/16")):
        errors.append(FieldError.invalid(
            path, value, "may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)"))
    return errors


# ---------------------------------------------------------------------------------------- quantities


def quantity(text: str, path: str) -> Decimal | list[FieldError]:
    """The amount of a quantity, or the error saying why it is not one."""
    try:
        return parse_quantity(text)
    except QuantityError as error:
        return [FieldError.invalid(path, text, str(error))]


def quantity_text(text: str) -> str:
    """A quantity printed as Kubernetes prints it (canonical: "0.5" -> "500m", "1024Mi" -> "1Gi")."""
    try:
        return format_quantity(parse_quantity(text), binary="i" in text)
    except QuantityError:
        return text


def nonnegative_quantity(text: str, path: str) -> list[FieldError]:
    amount = quantity(text, path)
    if isinstance(amount, list):
        return amount
    return [FieldError.invalid(path, quantity_text(text), IS_NEGATIVE)] if amount < 0 else []


def positive_quantity(text: str, path: str) -> list[FieldError]:
    amount = quantity(text, path)
    if isinstance(amount, list):
        return amount
    return [FieldError.invalid(path, quantity_text(text), "must be greater than zero")] if amount <= 0 else []
