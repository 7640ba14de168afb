"""Who may do what: each capability named once, with its roles, its check and its 403.

Services ask `manages_campaigns(actor)`; routes declare an `Annotated` alias such as
`LayerManager`. The roles table of docs/ (section 3 of the architecture) is this module.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends

from corps.auth.actor import Actor, CurrentActor, Role
from corps.errors import Forbidden


@dataclass(frozen=True, slots=True)
class Capability:
    """A thing some roles may do; call it with an actor (or a role) to ask."""

    doing: str  # "Managing campaigns", for the 403 that names who may
    roles: tuple[Role, ...]

    def __call__(self, who: Actor | Role) -> bool:
        """Whether the actor's role (or the role) has this capability."""
        return (who.role if isinstance(who, Actor) else who) in self.roles

    def require(self, actor: Actor) -> None:
        """Raise 403, naming the roles that may, unless the actor may."""
        if not self(actor):
            names = [r.value for r in self.roles]
            who = names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"
            raise Forbidden(f"{self.doing} needs the {who} role.")


reads_corps_wide = Capability("Reading every organization's cases", (Role.coordinator, Role.admin))
reads_own_organization = Capability(
    "Reading one's own organization's cases", (Role.paralegal, Role.org_admin)
)
records_cases = Capability("Recording cases", (Role.paralegal, Role.org_admin, Role.admin))
flags_cases = Capability(
    "Flagging cases", (Role.paralegal, Role.org_admin, Role.coordinator, Role.admin)
)
manages_campaigns = Capability("Managing campaigns", (Role.coordinator, Role.admin))
reads_every_campaign = Capability(
    "Reading every campaign", (Role.coordinator, Role.admin, Role.campaigner)
)
resolves_respondents = Capability("Resolving respondents", (Role.coordinator, Role.admin))
can_manage_layers = Capability("Managing reference layers", (Role.admin, Role.coordinator))
manages_taxonomy = Capability("Managing the issue types", (Role.admin, Role.coordinator))
manages_organizations = Capability("Managing organizations", (Role.admin, Role.coordinator))
manages_users = Capability("Managing users", (Role.admin, Role.org_admin))
# The roles an org_admin may give: never a corps-wide one.
ORG_ADMIN_GRANTS = frozenset({Role.paralegal, Role.org_admin})


def requires(capability: Capability) -> object:
    """A route dependency that admits only actors with the capability (403 otherwise)."""

    async def dependency(actor: CurrentActor) -> Actor:
        capability.require(actor)
        return actor

    return Depends(dependency)


LayerManager = Annotated[Actor, requires(can_manage_layers)]
TaxonomyManager = Annotated[Actor, requires(manages_taxonomy)]
OrgManager = Annotated[Actor, requires(manages_organizations)]
UserManager = Annotated[Actor, requires(manages_users)]
