"""The DRAMA workbench: a local web application on the active session (``drama serve``).

- :mod:`.workspace`: the folder served, and the rule that keeps every path inside it;
- :mod:`.runs`: one :class:`~drama.active.ActiveSession` per data file, used one call at a
  time, with its store in the workspace (shared with ``drama active``);
- :mod:`.annotations`: 0-5 ratings and skips, kept beside the store;
- :mod:`.views`: the candidate list, an object's detail and the exports, as JSON/bytes;
- :mod:`.app`: the FastAPI app (API and page); :mod:`.serve`: the command.

FastAPI, uvicorn and plotly come with the ``[workbench]`` extra; see docs/workbench.md.
"""
