"""gunicorn's settings for the API, the one place they are written: `make run` (cli/stack.py)
and the API image both start ``gunicorn -c deploy/gunicorn.conf.py``."""

from docrender.settings import API_THREADS, Settings

_settings = Settings.from_env()

wsgi_app = "api:create_app_from_env()"
bind = _settings.bind
workers = _settings.api_processes
# Threads, so that long polls (?wait=) do not hold a whole process each.
worker_class = "gthread"
threads = API_THREADS
graceful_timeout = 20
accesslog = "-"
control_socket_disable = True
