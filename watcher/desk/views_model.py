"""The model page: train a candidate, see how its labels would differ, adopt it."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from watcher.desk.security import login_required, post_form
from watcher.desk.web import back, flash, render


def _runner(request: Request):  # noqa: ANN202
    return request.app.state.model_preview


@login_required
async def model_page(request: Request) -> Response:
    preview = _runner(request).current
    return render(
        request,
        "model.html",
        preview=preview,
        weeks=request.app.state.settings.desk.preview_weeks,
    )


@post_form
async def model_preview(request: Request) -> Response:
    state = request.app.state
    started = _runner(request).start(
        state.store, state.settings, state.settings.desk.preview_weeks, sources=state.sources
    )
    if started:
        flash(request, "Entraînement du modèle candidat lancé : rechargez la page dans un moment.")
    else:
        flash(request, "Un entraînement est déjà en cours.", "error")
    return back("/modele")


@post_form
async def model_adopt(request: Request) -> Response:
    state = request.app.state
    try:
        count = await run_in_threadpool(
            _runner(request).adopt, state.store, state.settings, state.sources
        )
    except ValueError:
        flash(request, "Aucun modèle candidat à adopter : lancez d’abord la comparaison.", "error")
        return back("/modele")
    except Exception as exc:  # noqa: BLE001
        flash(request, f"Le modèle n’a pas pu être adopté : {exc}", "error")
        return back("/modele")
    flash(request, f"Nouveau modèle adopté ; {count} élément(s) réétiqueté(s).")
    return back("/modele")


ROUTES = [
    Route("/modele", model_page),
    Route("/modele/apercu", model_preview, methods=["POST"]),
    Route("/modele/adopter", model_adopt, methods=["POST"]),
]
