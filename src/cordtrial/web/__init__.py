"""The web layer: a FastAPI application over the trial store (``api/``: JSON, OpenAPI).

Routes parse input, check the caller's permission, call a use case of
:mod:`cordtrial.trial.services` and render the result; only this layer knows HTTP status codes
(see :mod:`cordtrial.web.errors`).
"""

from cordtrial.web.app import create_app
from cordtrial.web.settings import WebSettings, load_web_settings

__all__ = ["WebSettings", "create_app", "load_web_settings"]
