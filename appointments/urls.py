from django.urls import path

from appointments import views

app_name = "appointments"

urlpatterns = [
    path("appointments/steps/<int:item_id>/book/", views.step_book, name="step-book"),
    path("appointments/services/<slug:code>/book/", views.service_book, name="service-book"),
    path("appointments/manage/<str:token>/", views.manage, name="manage"),
    path("appointments/manage/<str:token>/reschedule/", views.reschedule, name="reschedule"),
    path("appointments/manage/<str:token>/cancel/", views.cancel, name="cancel"),
    path("appointments/manage/<str:token>/appointment.ics", views.calendar_file, name="calendar"),
    path("appointments/counter/", views.counter, name="counter"),
    path("appointments/counter/<int:appointment_id>/<slug:action>/", views.counter_mark, name="counter-mark"),
]
