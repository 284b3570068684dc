"""Build-time settings for ``collectstatic`` inside the image (never used at runtime).

The image collects static files with ``BANKFLOW_ENV=local`` so that no secret is needed at
build time, but the local mode picks Django's plain storage, while production serves
through WhiteNoise's manifest storage, which needs ``staticfiles.json`` in STATIC_ROOT. So
this module takes the service's local settings (``BANKFLOW_SERVICE``) and swaps in the
production storage: the manifest is then written at build time.
"""

import importlib
import os

_service = importlib.import_module(f"{os.environ['BANKFLOW_SERVICE']}.settings")
globals().update({name: value for name, value in vars(_service).items() if name.isupper()})

STORAGES = {
    **_service.STORAGES,
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
