"""The review inbox: `complaint-monitor serve`. A small Starlette app over the same database and the
same actions (`monitor.review`) the CLI uses; pages are server-rendered Jinja2, one small local script."""

from monitor.web.server import create_app

__all__ = ["create_app"]
