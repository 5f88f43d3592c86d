"""Profiles and templates: typed models and their loaders."""

from courtfeed.config.files import ConfigError, check_all, load_profiles, resolve_template
from courtfeed.config.profile import Profile
from courtfeed.config.template import FieldSpec, FormatSpec, Template

__all__ = [
    "ConfigError",
    "FieldSpec",
    "FormatSpec",
    "Profile",
    "Template",
    "check_all",
    "load_profiles",
    "resolve_template",
]
