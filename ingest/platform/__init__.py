"""Provincial monitoring platform: API client, resource keys and the raw loader."""
from .client import (
                     PlatformAuthError,
                     PlatformClient,
                     PlatformError,
                     PlatformForbidden,
                     PlatformProtocolError,
                     PlatformRequestError,
                     PlatformUnavailable,
)
from .load import PlatformLoadError, PlatformShortPull, ensure_platform_tables, load_all, load_resource
from .resources import RESOURCES, Resource, get_resource

__all__ = [
    "PlatformAuthError", "PlatformClient", "PlatformError", "PlatformForbidden",
    "PlatformLoadError", "PlatformProtocolError", "PlatformShortPull", "PlatformRequestError", "PlatformUnavailable",
    "RESOURCES", "Resource", "ensure_platform_tables", "get_resource", "load_all",
    "load_resource",
]
