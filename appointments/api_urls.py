from django.urls import path

from appointments import api

app_name = "appointments-api"

urlpatterns = [
    path("appointments/", api.MyAppointmentsApi.as_view(), name="my-appointments"),
    path("appointments/steps/<int:item_id>/free-times/", api.StepFreeTimesApi.as_view(), name="step-free-times"),
    path("appointments/steps/<int:item_id>/", api.StepBookApi.as_view(), name="step-book"),
    path("appointments/<int:appointment_id>/reschedule/", api.RescheduleApi.as_view(), name="reschedule"),
    path("appointments/<int:appointment_id>/cancel/", api.CancelApi.as_view(), name="cancel"),
]
