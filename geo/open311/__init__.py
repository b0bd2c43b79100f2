"""The public channel (公众举报): Open311 GeoReport v2 apps, services and requests, over the case cycle."""

from geo.open311.apps import app_for_key, list_apps, register_app
from geo.open311.services import PUBLIC_SERVICES, service_list

__all__ = ["PUBLIC_SERVICES", "app_for_key", "list_apps", "register_app", "service_list"]
