"""The web console: static HTML, CSS and JavaScript modules, served as committed (no build step).

`routes.py` serves it from the local gateway at `GET /console`, with the local-only routes it uses
(webhook deliveries, dead-letter queues), which need the stack's per-run token. `serve.py` serves the
same files on their own, pointed at a deployed API (`make console API=https://...`).
"""
