"""Entry point for `flask --app app` and WSGI servers."""
from donoharm import create_app

app = create_app()
