"""Entry point for `flask --app app` and WSGI servers."""
import sys

from donoharm import create_app
from donoharm.config import ConfigError

try:
    app = create_app()
except ConfigError as error:  # one line naming the setting, not a traceback: the service stops here
    sys.exit(f"Do No Harm cannot start: {error}")
