"""Request helpers shared by the route modules."""

from __future__ import annotations

from fastapi import Request

from loreforge.service import Service


def svc(request: Request) -> Service:
    service: Service = request.app.state.service
    return service
