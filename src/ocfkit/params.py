"""OCF instance parameters, declared as fields of a :class:`Parameters` class.

    class DummyParameters(Parameters):
        state: str | None = parameter(default=None, shortdesc="State file")
        delay: int = parameter(default=0, type=Integer(min=0), shortdesc="Start delay")
        config: str = parameter(shortdesc="Configuration file")   # no default: required

One declaration gives the typed value an action reads (``self.params.state``),
the conversion from ``OCF_RESKEY_<name>``, and the meta-data ``<parameter>``.

Why not ``@attrs.frozen`` directly: ``import attrs`` pulls in ``typing`` and
``inspect`` and costs more than a whole ocf.py agent run, and Pacemaker runs
the monitor every few seconds on every node.  So a ``Parameters`` class is an
attrs class whose attrs machinery is built on first use: ``attrs.fields()``,
``attrs.has()``, ``attrs.asdict()`` and ``attrs.evolve()`` work on it (each
field carrying its OCF description in ``metadata["ocfkit"]``), while the
monitor path, which only constructs and reads an instance, never imports attrs.
For the type checker the class behaves like a frozen, keyword-only dataclass.
"""

from __future__ import annotations

from ocfkit.errors import AgentDefinitionError, ConfigurationError
from ocfkit.paramtypes import STRING, Boolean, ParameterValueError, ParamType, infer_type

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from typing import Any, ClassVar, dataclass_transform

else:

    def dataclass_transform(**_: object) -> object:
        return lambda cls: cls


METADATA_KEY = "ocfkit"
RESKEY_PREFIX = "OCF_RESKEY_"


class _Missing:
    """The default of a parameter that has none (and so is required)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


class Deprecation:
    """How a deprecated parameter is described in meta-data."""

    __slots__ = ("desc", "replaced_with")

    def __init__(self, replaced_with: tuple[str, ...] = (), desc: str | None = None) -> None:
        self.replaced_with = replaced_with
        self.desc = desc

    def __repr__(self) -> str:
        return f"Deprecation(replaced_with={self.replaced_with!r}, desc={self.desc!r})"


class ParameterSpec:
    """One OCF parameter: what :func:`parameter` declared, resolved against its class."""

    __slots__ = (
        "attribute", "declared_type", "default", "deprecated", "locates", "longdesc", "name",
        "reloadable", "shortdesc", "type", "unique_group",
    )  # fmt: skip

    def __init__(
        self,
        *,
        shortdesc: str,
        longdesc: str | None,
        default: Any,
        type: ParamType | None,
        name: str | None,
        unique_group: str | None,
        reloadable: bool,
        deprecated: Deprecation | None,
        locates: bool = False,
    ) -> None:
        self.shortdesc = shortdesc
        self.longdesc = longdesc or shortdesc
        self.default = default
        self.declared_type = type
        self.type: ParamType = type or STRING  # final once bind() has seen the annotation
        self.name = name or ""  # likewise: the attribute name unless declared
        self.attribute = ""
        self.unique_group = unique_group
        self.reloadable = reloadable
        self.deprecated = deprecated
        self.locates = locates

    def bind(self, attribute: str, annotation: object) -> None:
        """Learn the field's Python name and, unless declared, its content type."""
        self.attribute = attribute
        self.name = self.name or attribute
        self.type = self.declared_type or infer_type(annotation, self.default)

    @property
    def required(self) -> bool:
        """No default means the cluster configuration must set it."""
        return self.default is MISSING

    @property
    def has_default(self) -> bool:
        """A default worth showing in meta-data (``None`` means "not set")."""
        return self.default is not MISSING and self.default is not None

    @property
    def env_name(self) -> str:
        return RESKEY_PREFIX + self.name

    def __repr__(self) -> str:
        return f"<ParameterSpec {self.name} {self.type.ocf_name} default={self.default!r}>"


def parameter(
    *,
    shortdesc: str,
    longdesc: str | None = None,
    default: Any = MISSING,
    type: ParamType | None = None,
    name: str | None = None,
    unique_group: str | None = None,
    reloadable: bool = False,
    deprecated: bool | str = False,
    replaced_with: Sequence[str] = (),
    locates: bool = False,
) -> Any:
    """Declare one OCF parameter (a field of a :class:`Parameters` class).

    Without ``default`` the parameter is required; ``default=None`` makes it
    optional with no value.  ``name`` is the OCF name when it is not a Python
    identifier (``config-file``).  ``deprecated`` may be the reason, as a
    string.

    ``locates=True`` says that the parameter tells where the resource is
    (its pid file, its state file, the program it runs): when its value is
    unusable, the resource cannot be running here, so stop answers 0 and a
    probe 7.  Any other unusable parameter makes stop and probes use its
    default and go on; see "Stop and probe with a broken configuration" in
    ``docs/writing-agents.md``.
    """
    deprecation = None
    if deprecated or replaced_with:
        deprecation = Deprecation(
            tuple(replaced_with), deprecated if isinstance(deprecated, str) else None
        )
    return ParameterSpec(
        shortdesc=shortdesc,
        longdesc=longdesc,
        default=default,
        type=type,
        name=name,
        unique_group=unique_group,
        reloadable=reloadable,
        deprecated=deprecation,
        locates=locates,
    )


class FrozenInstanceError(AttributeError):
    """Parameters are read-only once converted."""


class _AttrsView:
    """``__attrs_attrs__`` built on first access, importing attrs only then."""

    def __get__(self, instance: object, owner: type[Parameters]) -> Any:
        built: Any = owner.__dict__.get("_attrs_shadow")
        if built is None:
            import attrs

            fields = {
                spec.attribute: attrs.field(
                    default=attrs.NOTHING if spec.required else spec.default,
                    kw_only=True,
                    metadata={METADATA_KEY: spec},
                )
                for spec in owner.__ocf_parameters__
            }
            built = attrs.make_class(owner.__name__, fields, frozen=True)
            type.__setattr__(owner, "_attrs_shadow", built)
        return built.__attrs_attrs__


@dataclass_transform(kw_only_default=True, frozen_default=True, field_specifiers=(parameter,))
class Parameters:
    """Base class of an agent's parameters; subclasses declare fields with :func:`parameter`."""

    __ocf_parameters__: tuple[ParameterSpec, ...] = ()
    if TYPE_CHECKING:
        # What attrs' own annotations look for, so attrs.fields() and friends
        # type-check on a Parameters class as they run.
        __attrs_attrs__: ClassVar[Any]
    else:
        __attrs_attrs__ = _AttrsView()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        annotations = cls.__dict__.get("__annotations__", {})  # noqa: RUF063 (inspect is costly)
        own = []
        for attribute, value in list(cls.__dict__.items()):
            if isinstance(value, ParameterSpec):
                value.bind(attribute, annotations.get(attribute))
                own.append(value)
        for attribute in annotations:
            if attribute not in cls.__dict__ and not attribute.startswith("_"):
                raise AgentDefinitionError(
                    f"{cls.__qualname__}.{attribute} is annotated but not declared with parameter()"
                )
        inherited = [s for s in cls.__ocf_parameters__ if s.attribute not in cls.__dict__]
        cls.__ocf_parameters__ = (*inherited, *own)
        names = [s.name for s in cls.__ocf_parameters__]
        if len(set(names)) != len(names):
            raise AgentDefinitionError(f"{cls.__qualname__}: two parameters share an OCF name")

    def __init__(self, **values: Any) -> None:
        for spec in self.__ocf_parameters__:
            if spec.attribute in values:
                value = values.pop(spec.attribute)
            elif spec.required:
                raise TypeError(f"{type(self).__name__}() missing parameter {spec.attribute!r}")
            else:
                value = spec.default
            object.__setattr__(self, spec.attribute, value)
        if values:
            raise TypeError(f"{type(self).__name__}() got unknown parameters {sorted(values)}")

    def __setattr__(self, name: str, value: object) -> None:
        raise FrozenInstanceError(f"cannot assign to {name}: parameters are read-only")

    def __delattr__(self, name: str) -> None:
        raise FrozenInstanceError(f"cannot delete {name}: parameters are read-only")

    def _values(self) -> tuple[object, ...]:
        return tuple(getattr(self, s.attribute) for s in self.__ocf_parameters__)

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return self._values() == other._values()

    def __hash__(self) -> int:
        return hash((type(self), self._values()))

    def __repr__(self) -> str:
        shown = ", ".join(
            f"{s.attribute}={getattr(self, s.attribute)!r}" for s in self.__ocf_parameters__
        )
        return f"{type(self).__name__}({shown})"


def parameter_specs(cls: type) -> tuple[ParameterSpec, ...]:
    """The OCF parameters a :class:`Parameters` subclass declares, in order."""
    if not (isinstance(cls, type) and issubclass(cls, Parameters)):
        raise AgentDefinitionError(f"{cls!r} is not a subclass of ocfkit.Parameters")
    return cls.__ocf_parameters__


class LoadedParameters:
    """The converted parameters and what the operator should be told about them."""

    __slots__ = ("values", "warnings")

    def __init__(self, values: Any, warnings: tuple[str, ...] = ()) -> None:
        self.values = values
        self.warnings = warnings


def locating_names(cls: type[Parameters]) -> frozenset[str]:
    """The OCF names of the parameters declared with ``locates=True``."""
    return frozenset(s.name for s in parameter_specs(cls) if s.locates)


def load_parameters(
    cls: type[Parameters], environ: Mapping[str, str], *, fall_back: bool = False
) -> LoadedParameters:
    """Read ``OCF_RESKEY_*`` into an instance of ``cls``.

    An empty value counts as unset, as ``${OCF_RESKEY_x:=default}`` does in
    shell agents.  Every problem is collected so that the exit reason names
    all of them at once; a problem raises :class:`ConfigurationError`, whose
    ``parameters`` name the parameters at fault.

    With ``fall_back`` (stop and probes), a parameter that does not locate
    the resource and has a default takes its default when its value is
    unusable, with a warning, so that the action can still find and stop
    what runs; only the other problems raise.
    """
    values: dict[str, Any] = {}
    problems: list[str] = []
    at_fault: list[str] = []
    warnings: list[str] = []
    for spec in parameter_specs(cls):
        raw = environ.get(spec.env_name, "")
        problem = None
        if raw == "":
            if spec.required:
                problem = f"required parameter '{spec.name}' is not set"
        else:
            try:
                values[spec.attribute] = spec.type.convert(raw)
            except ParameterValueError as error:
                problem = f"parameter '{spec.name}': {error}"
        if problem is not None:
            if fall_back and not spec.locates and not spec.required:
                shown = "no value" if spec.default is None else repr(spec.default)
                warnings.append(f"{problem}; using the default ({shown}) to go on")
            else:
                problems.append(problem)
                at_fault.append(spec.name)
            continue
        if raw == "":
            continue
        if isinstance(spec.type, Boolean) and not spec.type.recognised(raw):
            warnings.append(
                f"parameter '{spec.name}': {raw!r} is not a boolean word, read as false"
            )
        if spec.deprecated is not None:
            hint = ""
            if spec.deprecated.replaced_with:
                hint = "; use " + " or ".join(f"'{n}'" for n in spec.deprecated.replaced_with)
            warnings.append(f"parameter '{spec.name}' is deprecated{hint}")
    if problems:
        raise ConfigurationError("; ".join(problems), parameters=at_fault)
    return LoadedParameters(cls(**values), tuple(warnings))
