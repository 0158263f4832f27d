"""A WSGI module that fails at import, as a project with a bad setting would."""

raise RuntimeError("broken_app refuses to load: settings are wrong")
