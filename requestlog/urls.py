from django.urls import path

from requestlog import views

urlpatterns = [path("requests", views.RequestsView.as_view(), name="requests")]
