"""Preview of a retrained model's labels before it replaces the current one."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from watcher.desk.security import login_required, post_form
from watcher.desk.web import back, flash, render


@login_required
async def model_page(request: Request) -> Response:
    return render(request, "model.html", preview=None, available=False)


@post_form
async def model_preview(request: Request) -> Response:
    flash(request, "L’aperçu du modèle réentraîné n’est pas encore disponible.", "error")
    return back("/modele")


@post_form
async def model_adopt(request: Request) -> Response:
    flash(request, "Aucun modèle candidat à adopter.", "error")
    return back("/modele")
