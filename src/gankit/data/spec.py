"""Data specs: ``NAME`` or ``NAME:key=value,key=value``.

A spec is one token on the command line and one string in a run's ``config.toml``, so the
grammar stays flat: a name, then ``key=value`` pairs separated by ``,``. List values separate
their items with ``;`` (``gmm1d:means=-2;2``). Parsing keeps values as strings; each data set
says which keys it accepts and converts them with :func:`parse_value`, and
:func:`format_spec` writes a resolved spec back so that parsing it again gives the same values.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from gankit.errors import GankitError

FORMAT = "NAME or NAME:key=value,key=value"


def parse_spec(text: str) -> tuple[str, dict[str, str]]:
    """Split a data spec into its name and its raw ``key -> value`` strings.

    Whitespace around the name, keys and values is ignored; a value may itself hold ``=`` or
    ``:`` (only the first ``:`` and the first ``=`` of each pair separate).

    Args:
        text: ``"NAME"`` or ``"NAME:key=value,key=value"``.

    Returns:
        ``(name, params)`` with ``params`` in the order given.

    Raises:
        GankitError: empty name, an empty parameter (stray ``,``), a parameter without ``=``,
            an empty key or value, or a key given twice; the message quotes the spec.

    Example:
        >>> parse_spec("ring:modes=8,std=0.02")
        ('ring', {'modes': '8', 'std': '0.02'})
        >>> parse_spec("swissroll")
        ('swissroll', {})
    """
    if not isinstance(text, str):
        raise GankitError(f"data spec must be a string ({FORMAT}), got {text!r}")
    name, colon, rest = text.partition(":")
    name = name.strip()
    if not name:
        raise GankitError(f"data spec {text!r} has an empty name; expected {FORMAT}")
    params: dict[str, str] = {}
    if not colon:
        return name, params
    for item in rest.split(","):
        key, equals, value = (part.strip() for part in item.partition("="))
        if not item.strip():
            raise GankitError(
                f"data spec {text!r} has an empty parameter (a stray ',' or ':'); expected {FORMAT}"
            )
        if not equals:
            raise GankitError(
                f"data spec {text!r}: parameter {item.strip()!r} has no '='; expected key=value"
            )
        if not key:
            raise GankitError(f"data spec {text!r}: parameter {item.strip()!r} has an empty key")
        if not value:
            raise GankitError(f"data spec {text!r}: key {key!r} has an empty value")
        if key in params:
            raise GankitError(f"data spec {text!r} gives key {key!r} twice")
        params[key] = value
    return name, params


def _floats(value: str) -> tuple[float, ...]:
    return tuple(float(item) for item in value.split(";"))


# kind -> (converter, what the message says was expected)
_KINDS: dict[str, tuple[Callable[[str], int | float | tuple[float, ...]], str]] = {
    "int": (int, "an integer"),
    "float": (float, "a number"),
    "floats": (_floats, "numbers separated by ';'"),
}


def parse_value(kind: str, key: str, value: str) -> int | float | tuple[float, ...]:
    """Convert one raw spec value: ``kind`` is ``"int"``, ``"float"`` or ``"floats"`` (``;``-list).

    Only the type is checked here; the data set checks the range (``std > 0``, ...).

    Raises:
        GankitError: the value does not parse; the message names the key and the value.

    Example:
        >>> parse_value("floats", "means", "-2;2")
        (-2.0, 2.0)
    """
    convert, expected = _KINDS[kind]
    try:
        return convert(value)
    except ValueError:
        raise GankitError(f"{key} must be {expected}, got {value!r}") from None


def format_value(value: int | float | tuple[float, ...]) -> str:
    """The spec text of one resolved value; floats use ``repr`` so they parse back exactly."""
    if isinstance(value, tuple):
        return ";".join(repr(float(item)) for item in value)
    if isinstance(value, float):
        return repr(value)
    return str(value)


def format_spec(name: str, params: Mapping[str, int | float | tuple[float, ...]]) -> str:
    """Write ``name`` and resolved parameters as a spec that :func:`parse_spec` reads back.

    Example:
        >>> format_spec("gmm1d", {"means": (-2.0, 2.0), "std": (0.5, 0.5)})
        'gmm1d:means=-2.0;2.0,std=0.5;0.5'
    """
    if not params:
        return name
    return name + ":" + ",".join(f"{key}={format_value(value)}" for key, value in params.items())
