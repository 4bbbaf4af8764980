from django.urls import path

from workflows.transparency import views

urlpatterns = [
    path("transparency/", views.index, name="transparency"),
    path("transparency/checkpoint", views.checkpoint, name="transparency-checkpoint"),
    path("transparency/checkpoints/", views.history, name="transparency-history"),
    path("transparency/proof/inclusion", views.inclusion, name="transparency-inclusion"),
    path("transparency/proof/consistency", views.consistency, name="transparency-consistency"),
]
