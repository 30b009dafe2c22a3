"""A case as a Django model: what the listing sorts on and what grants attach to."""

from __future__ import annotations

from typing import ClassVar

from django.db import models


class Case(models.Model):
    case_id = models.CharField(max_length=64, unique=True)
    case_type = models.CharField(max_length=32)
    owner = models.CharField(max_length=64)
    server_modified_on = models.CharField(max_length=32)

    class Meta:
        app_label = "guardian_app"
        indexes: ClassVar = [models.Index(fields=["server_modified_on", "id"])]
        permissions: ClassVar = [("share_case", "Manage the case's shares")]
