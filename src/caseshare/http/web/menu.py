"""The main menu: what everyone sees, and the admin entries only admins see.

The admin entries are placeholders the admin screens (issue 10) fill: each is (label, address).
"""

from __future__ import annotations

MENU = (("View cases", "/cases"), ("My account", "/account"))
ADMIN_MENU = (
    ("People", "/admin/people"),
    ("Structure", "/admin/structure"),
    ("Sharing settings", "/admin/sharing"),
    ("Partner agencies", "/admin/agreements"),
    ("Reports", "/admin/reports"),
)
