"""The ``reviewer`` group: may look at everything in the console and decide reviews.

It holds ``review.decide_review`` and the view permissions of the consumer's own apps,
nothing else: no add, change or delete anywhere, nothing of auth (users, groups) and no
settings. Webhook redelivery (``review.redeliver_webhooks``) stays with operators.
"""

from typing import Any

from django.db import migrations

GROUP = "reviewer"
APPS = ("intake", "ledger", "webhooks", "review")


def create_group(apps: Any, schema_editor: Any) -> None:
    from django.contrib.auth.management import create_permissions

    # Permissions are normally created after all migrations ran; this one needs them now.
    for label in APPS:
        app_config = apps.get_app_config(label)
        app_config.models_module = True  # what create_permissions asks of a real app
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name=GROUP)
    wanted = Permission.objects.filter(
        content_type__app_label__in=APPS, codename__startswith="view_"
    )
    group.permissions.set(
        [
            *wanted,
            Permission.objects.get(content_type__app_label="review", codename="decide_review"),
        ]
    )


def remove_group(apps: Any, schema_editor: Any) -> None:
    apps.get_model("auth", "Group").objects.filter(name=GROUP).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("review", "0001_initial"),
        ("intake", "0001_initial"),
        ("ledger", "0001_initial"),
        ("webhooks", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_group, remove_group)]
