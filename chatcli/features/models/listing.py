"""The model ids ``chatcli models`` shows.

Many relays and local servers have no ``/models`` route (404). That is not a wrong URL, so the
command says the endpoint keeps no list and shows the models the configuration names instead.
"""

from __future__ import annotations

from collections.abc import Callable

from chatcli.errors import APIError
from chatcli.providers.base import Provider
from chatcli.settings.resolve import Env


def model_ids(env: Env, provider: Provider, note: Callable[[str], None]) -> list[str]:
    """The endpoint's list, or on a 404 the configured models (with a note saying so)."""
    try:
        return provider.list_models()
    except APIError as exc:
        if exc.status != 404:
            raise
    setting = provider.url_setting
    configured = {env.model, env.profile.model, *env.profile.deployments, *env.config.models}
    names = sorted(n for n in configured if n)
    note(
        f"the endpoint of profile {env.profile.name!r} has no model list (404 for its models "
        f"route; its {setting} may still be right); showing the configured models"
    )
    return names
