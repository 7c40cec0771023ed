"""Incident briefs: a title in the reporters' words, the facts they state, a timeline, quotes.

Computed on read from an incident's members (nothing is stored): `read.briefs_for` for stored
incidents, `build.build_brief` for any list of reports, `markdown.render` for the Markdown brief.
This package's own import stays light (config.py loads `settings` at start-up).
"""
