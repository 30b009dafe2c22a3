"""django-guardian on SQLite: Django users and groups, a Case model, object permissions.

As a Django service runs it: every grant is a row of guardian's object-permission tables
(``view_case``, ``change_case``, ``share_case``), written when the case is created or shared;
a check is one ``ObjectPermissionChecker`` per request (guardian's own per-request cache), the
user objects held warm as a server's session would; the list is ``get_objects_for_user``.
Django's SQLite connection runs in the mode caseshare runs its own (WAL, ``synchronous=NORMAL``).
"""

from __future__ import annotations

from typing import Any

from bench.peers.engine import PAGE
from bench.peers.world import World

FEATURES = frozenset({"default", "owner", "inactive", "permission", "manual", "assigned", "team"})
LEAVES_OUT = [
    (
        "owner_rules",
        'object permissions are rows per object: a rule ("team A reads team B\'s cases") would be'
        " rows written for every matching case and rewritten on every membership or rule change,"
        " the recalculation job the SPEC rules out",
    ),
    ("criteria_rules", "the same: a rule on case properties is not an object permission"),
    ("hierarchy", "Django has no role tree: managers would need rows on every case below them"),
    ("implicit", "permissions on one object never follow another object's"),
]
LEVEL_PERMS = {
    1: ["view_case"],
    2: ["view_case", "change_case"],
    3: ["view_case", "change_case", "share_case"],
}


def _setup(path: str) -> None:
    import django
    from django.conf import settings

    settings.configure(
        DATABASES={
            "default": {
                "ENGINE": "django.db.backends.sqlite3",
                "NAME": path,
                "OPTIONS": {
                    "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
                    "transaction_mode": "IMMEDIATE",
                },
            }
        },
        INSTALLED_APPS=[
            "django.contrib.contenttypes",
            "django.contrib.auth",
            "guardian",
            "bench.peers.guardian_app",
        ],
        AUTHENTICATION_BACKENDS=[
            "django.contrib.auth.backends.ModelBackend",
            "guardian.backends.ObjectPermissionBackend",
        ],
        ANONYMOUS_USER_NAME=None,
        LOGGING_CONFIG=None,  # leave logging alone (pycasbin runs in the same process)
        DEFAULT_AUTO_FIELD="django.db.models.AutoField",
        USE_TZ=True,
    )
    django.setup()
    from django.core.management import call_command

    call_command("migrate", run_syncdb=True, verbosity=0)


class Guardian:
    name = "django-guardian"
    features = FEATURES
    leaves_out = LEAVES_OUT

    def __init__(self, world: World, path: str) -> None:
        assert world.features == FEATURES
        self.world = world
        _setup(path)
        from django.contrib.auth.models import User

        self._load()
        self.users = {u.id: u for u in User.objects.all()}
        for user in self.users.values():  # warm: a long-lived user object caches its perms
            user.has_perm("guardian_app.view_case")

    def _load(self) -> None:
        from django.contrib.auth.models import Group, Permission, User
        from django.contrib.contenttypes.models import ContentType
        from django.db import transaction
        from guardian.models import GroupObjectPermission, UserObjectPermission

        from bench.peers.guardian_app.models import Case

        world = self.world
        ct = ContentType.objects.get_for_model(Case)
        perms = {p.codename: p.id for p in Permission.objects.filter(content_type=ct)}
        with transaction.atomic():
            User.objects.bulk_create(
                [
                    User(id=u.id, username=u.username, is_active=u.active, password="!")
                    for u in world.users.values()
                ]
            )
            names = [f"group:{gid}" for gid in world.groups]
            names += [f"location:{lid}" for lid in world.location_shares]
            names.append("everyone")
            Group.objects.bulk_create([Group(name=n) for n in names])
            group_id = dict(Group.objects.values_list("name", "id"))
            members = []
            view_all = []
            for user in world.users.values():
                if not user.active:
                    continue  # is_active=False: guardian and Django refuse them anyway
                # Django groups do not nest: a user is in every group above theirs
                for name in {*_closure(world, f"user:{user.id}"), "everyone"} | {
                    f"location:{loc}" for loc in user.locations
                }:
                    members.append(User.groups.through(user_id=user.id, group_id=group_id[name]))
                if "view_all" in user.permissions:
                    view_all.append(
                        User.user_permissions.through(
                            user_id=user.id, permission_id=perms["view_case"]
                        )
                    )
            User.groups.through.objects.bulk_create(members)
            User.user_permissions.through.objects.bulk_create(view_all)
            Case.objects.bulk_create(
                [
                    Case(
                        id=c.pk,
                        case_id=c.case_id,
                        case_type=c.case_type,
                        owner=c.owner,
                        server_modified_on=c.server_modified_on,
                    )
                    for c in world.cases
                ]
            )
            user_rows: set[tuple[int, int, str]] = set()
            group_rows: set[tuple[int, int, str]] = set()

            def grant(principal: str, level: int, pk: int) -> None:
                for codename in LEVEL_PERMS[level]:
                    if principal.startswith("user:"):
                        user_rows.add((int(principal[5:]), perms[codename], str(pk)))
                    else:
                        group_rows.add((group_id[principal], perms[codename], str(pk)))

            readable = {t for t, v in world.default_access.items() if v != "private"}
            for c in world.cases:
                grant(c.owner, 3, c.pk)  # the owner: full, written when the case is created
                if c.case_type in readable:
                    grant("everyone", 1, c.pk)
            for g in world.grants:
                grant(g.grantee, int(g.level), g.case_pk)
            UserObjectPermission.objects.bulk_create(
                [
                    UserObjectPermission(
                        user_id=u, permission_id=p, content_type_id=ct.id, object_pk=o
                    )
                    for u, p, o in user_rows
                ],
                batch_size=5000,
            )
            GroupObjectPermission.objects.bulk_create(
                [
                    GroupObjectPermission(
                        group_id=gr, permission_id=p, content_type_id=ct.id, object_pk=o
                    )
                    for gr, p, o in group_rows
                ],
                batch_size=5000,
            )
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")

    def _case(self, case_id: str) -> Any:
        from bench.peers.guardian_app.models import Case

        return Case.objects.get(case_id=case_id)

    def _may(self, user: Any, codename: str, case: Any) -> bool:
        from guardian.core import ObjectPermissionChecker

        return bool(
            user.has_perm(f"guardian_app.{codename}")
            or ObjectPermissionChecker(user).has_perm(codename, case)
        )

    def check(self, user: int, case_id: str) -> bool:
        return self._may(self.users[self.world.user_order[user]], "view_case", self._case(case_id))

    def first_page(self, user: int) -> list[str]:
        from guardian.shortcuts import get_objects_for_user

        from bench.peers.guardian_app.models import Case

        found = get_objects_for_user(
            self.users[self.world.user_order[user]],
            "guardian_app.view_case",
            klass=Case.objects.order_by("server_modified_on", "id"),
            accept_global_perms=True,
        )
        return list(found.values_list("case_id", flat=True)[:PAGE])

    def share(self, actor: int, case_id: str, grantee: int) -> None:
        from django.db import transaction
        from guardian.shortcuts import assign_perm

        case = self._case(case_id)
        assert self._may(self.users[self.world.user_order[actor]], "share_case", case)
        who = self.users[self.world.user_order[grantee]]
        with transaction.atomic():
            for codename in LEVEL_PERMS[2]:
                assign_perm(codename, who, case)

    def revoke(self, actor: int, case_id: str, grantee: int) -> None:
        from django.db import transaction
        from guardian.shortcuts import remove_perm

        case = self._case(case_id)
        assert self._may(self.users[self.world.user_order[actor]], "share_case", case)
        who = self.users[self.world.user_order[grantee]]
        with transaction.atomic():
            for codename in LEVEL_PERMS[2]:
                remove_perm(codename, who, case)


def _closure(world: World, member: str) -> set[str]:
    """Every group the member is in, directly or through nested groups."""
    found: set[str] = set()
    todo = [member]
    while todo:
        for gid in world.groups_of(todo.pop()):
            name = f"group:{gid}"
            if name not in found:
                found.add(name)
                todo.append(name)
    return found
