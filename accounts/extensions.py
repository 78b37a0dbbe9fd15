"""Extension points: how the apps above accounts add to its answers without accounts importing
them (the layering check in `make lint` forbids that).

- `org_validators`: called by `accounts.services.org_update` with the organisation and the changed
  fields before they are saved; raise a Django `ValidationError` to refuse. Chat registers the
  check that `title_model` names an enabled model.
- `member_annotators`: called by `accounts.selectors.member_list` on the members queryset; each
  returns it annotated. Billing registers `spent_usd`, a member's spend this month.

Apps register in their `AppConfig.ready()`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from django.db.models import QuerySet

    from accounts.models import Membership, Organization

OrgValidator = Callable[["Organization", dict[str, Any]], None]
MemberAnnotator = Callable[["Organization", "QuerySet[Membership]"], "QuerySet[Membership]"]

org_validators: list[OrgValidator] = []
member_annotators: list[MemberAnnotator] = []
