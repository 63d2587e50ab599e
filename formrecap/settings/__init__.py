"""Settings, split by concern and driven by environment variables.

With no environment at all this is the embedded setup: SQLite, eager Celery,
local-memory cache, console email, DEBUG off (`make run` turns DEBUG on for the demo).
"""

from .api import *  # noqa: F401,F403
from .core import *  # noqa: F401,F403
from .product import *  # noqa: F401,F403
from .security import *  # noqa: F401,F403
from .tasks import *  # noqa: F401,F403
