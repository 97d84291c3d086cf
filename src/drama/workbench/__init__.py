"""The DRAMA workbench: a local web application on the active session (``drama serve``).

- :mod:`.workspace`: the folder served, and the rule that keeps every path inside it;
- :mod:`.runs`: one :class:`~drama.active.ActiveSession` per data file, used one call at a
  time, with its store in the workspace (shared with ``drama active``);
- :mod:`.inputs`: what a run reads (data files, image folders, light-curve tables) and the
  column roles shown before; :mod:`.uploads`: files sent from the page into ``uploads/``;
- :mod:`.saved_runs`: fitted searches kept beside the stores, so a run reopens unfitted;
- :mod:`.annotations`: 0-5 ratings and skips, kept beside the store;
- :mod:`.views`: the candidate list, an object's detail and the exports, as JSON/bytes;
- :mod:`.app`: the FastAPI app (API and page); :mod:`.serve`: the command.

FastAPI, uvicorn and plotly come with the ``[workbench]`` extra; see docs/workbench.md.
"""
