"""The admin web: server-rendered pages under /admin/ for analysts, administrators and agencies."""
