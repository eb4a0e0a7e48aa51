"""Drop repeated <script> entries from every page.

With Jupyter Book 1.0 the sphinx-thebe set-up runs twice per build and declares
``const THEBE_JS_URL`` twice, which the browser reports as a SyntaxError on every page.
"""


def _dedupe(app, pagename, templatename, context, doctree):
    seen, unique = set(), []
    for script in context.get("script_files", []):
        # Inline scripts come with filename None or "": the same script either way.
        key = (script.filename or "", tuple(sorted(script.attributes.items())))
        if key not in seen:
            seen.add(key)
            unique.append(script)
    context["script_files"] = unique


def setup(app):
    # Last: other extensions add their scripts in their own html-page-context handlers.
    app.connect("html-page-context", _dedupe, priority=999)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
