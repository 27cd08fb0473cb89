"""Stand-in for airflow.models.param.Param: a default plus a JSON schema, validated like Airflow does."""

from __future__ import annotations

import copy

NOTSET = object()


class ParamValidationError(ValueError):
    pass


class Param:
    """Param(default, description=None, **schema): Airflow validates a run's value against the JSON schema."""

    def __init__(self, default=NOTSET, description: str | None = None, **kwargs):
        self.value = default
        self.description = description
        self.schema = kwargs.pop("schema") if "schema" in kwargs else kwargs

    def resolve(self, value=NOTSET):
        """The value for a run (``value`` when given, else the default), validated against the schema."""
        final = self.value if value is NOTSET else value
        if final is NOTSET:
            raise ParamValidationError("no value given and the param has no default")
        try:
            import jsonschema
        except ImportError:  # the contract test then checks types only
            _check_type(final, self.schema.get("type"))
        else:
            try:
                jsonschema.validate(final, self.schema, format_checker=jsonschema.FormatChecker())
            except jsonschema.ValidationError as e:
                raise ParamValidationError(e.message) from None
        return copy.deepcopy(final)


_TYPES = {"string": (str,), "boolean": (bool,), "integer": (int,), "number": (int, float), "object": (dict,),
          "array": (list,)}


def _check_type(value, kind):
    kinds = kind if isinstance(kind, list) else [kind]
    if kind is None or ("null" in kinds and value is None):
        return
    wanted = tuple(t for k in kinds for t in _TYPES.get(k, ()))
    if not wanted:
        return
    if not isinstance(value, wanted) or (isinstance(value, bool) and bool not in wanted):
        raise ParamValidationError(f"{value!r} is not of type {kind!r}")
