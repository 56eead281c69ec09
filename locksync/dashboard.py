"""What every dashboard view shares: the signed-in user's host, and 404 for anyone else's ids."""

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ObjectDoesNotExist
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from properties.selectors import host_for_user

T = TypeVar("T")


def host_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Run the view with `request.host` set; users without a host get the no-host page."""

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        host = host_for_user(user=request.user)
        if host is None:
            return render(request, "dashboard/home.html", {"host": None}, status=403)
        request.host = host
        return view(request, *args, **kwargs)

    return wrapper


def get_or_404(selector: Callable[..., T], **kwargs: Any) -> T:
    """Call a `*_get(host=…, pk=…)` selector; another host's id is simply not found."""
    try:
        return selector(**kwargs)
    except ObjectDoesNotExist as error:
        raise Http404("Not found") from error
