"""The registry of endpoint types: the one place a profile's ``type`` is declared.

Each entry names the module under ``providers/`` that owns the type (its URLs, headers, auth
and quirks for every route) and what the settings need to know of it without importing that
code: the conventional variable of its key, and the keys a profile of the type must set (with
the example ``config init`` asks for and the hint of a config that lacks it). A new endpoint
type is its module in ``providers/`` plus one line here (docs/architecture.md shows the steps).
Only the stdlib is imported: ``chatcli --help`` and every config read load this module.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from chatcli.settings.loading import Profile


@dataclass(frozen=True)
class Needed:
    """A key a profile of one type must set: what it is (asked by ``config init``), an
    example value (in the hint of a config that lacks it), and ``config init``'s default."""

    key: str
    question: str
    example: str
    default: str | None = None

    @property
    def hint(self) -> str:
        return f'add {self.key} = "{self.example}"'


@dataclass(frozen=True)
class EndpointType:
    """One endpoint type: ``providers/<module>.py`` owns it."""

    module: str
    key_env: str = "OPENAI_API_KEY"  # where its key is conventionally found
    needs: tuple[Needed, ...] = ()


ENDPOINT_TYPES: dict[str, EndpointType] = {
    "openai": EndpointType("openai_compat"),
    "azure": EndpointType("azure", "AZURE_OPENAI_API_KEY", (
        Needed("endpoint", "Azure endpoint", "https://<resource>.openai.azure.com"),
        Needed("api_version", "API version", "2024-10-21", default="2024-10-21"),
    )),
    "relay": EndpointType("openai_compat", needs=(
        Needed("base_url", "Base URL", "https://relay.example.com/v1"),
    )),
}  # fmt: skip
"""Profile type -> its endpoint type. The first is the default of ``config init``."""


def endpoint_type(profile: Profile) -> EndpointType:
    """The registered endpoint type of ``profile`` (validated when the config was read)."""
    return ENDPOINT_TYPES[profile.type]


def listed(last: str = "or", *, quoted: bool = False) -> str:
    """The type names for messages: ``openai, azure or relay`` (``"openai", ...`` quoted)."""
    names = [f'"{n}"' if quoted else n for n in ENDPOINT_TYPES]
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} {last} {names[-1]}"
