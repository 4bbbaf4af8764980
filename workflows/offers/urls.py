from django.urls import path

from workflows.offers import views

urlpatterns = [
    path("offers/<int:offer_id>/", views.offer, name="offer"),
    path("offers/<int:offer_id>/accept/", views.accept, name="offer-accept"),
    path("offers/<int:offer_id>/decline/", views.decline, name="offer-decline"),
    path("offers/<int:offer_id>/opt-out/", views.opt_out, name="offer-opt-out"),
]
