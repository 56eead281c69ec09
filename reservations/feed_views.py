"""The host's confirmation of a feed that dropped most upcoming stays at once (SPEC F3)."""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from locksync.dashboard import get_or_404, host_required
from reservations.ical import ical_feed_drop_confirm, ical_feed_missing_stays
from reservations.selectors import ical_feed_get


@host_required
def ical_feed_confirm_drop(request: HttpRequest, pk: int) -> HttpResponse:
    """GET lists the stays the feed no longer shows; POST cancels them."""
    feed = get_or_404(ical_feed_get, host=request.host, pk=pk)
    if request.method == "POST":
        cancelled = ical_feed_drop_confirm(feed=feed)
        messages.success(request, f"{cancelled} stay(s) cancelled; their codes will be removed.")
        return redirect("property_detail", pk=feed.property_id)
    stays = ical_feed_missing_stays(feed=feed)
    return render(
        request, "reservations/ical_feed_confirm_drop.html", {"feed": feed, "stays": stays}
    )
