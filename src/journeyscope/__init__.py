"""journeyscope: B2B customer journey maps as code, measured against what accounts did.

The library API:

>>> import journeyscope
>>> m = journeyscope.load_map(journeyscope.template_path("b2b"))
>>> journeyscope.validate(m).ok
True
"""

from journeyscope.model import JourneyMap, MapError, load_map, save_map
from journeyscope.model.templates import new_map, template_names, template_path

__version__ = "0.1.0"

__all__ = [
    "JourneyMap", "MapError", "__version__", "load_map", "new_map", "save_map",
    "template_names", "template_path",
]
